"""Theme assignments of the lexicon model that e5 themes replaced, kept as a file for the card.

The lexicon + seeded k-means model (commit 40edf02) is no longer in the tree; its assignments on
every evaluation set are stored in ``training/data/`` and re-made by

    git worktree add /tmp/legacy-themes 40edf02
    python -m training.themes_references --checkout /tmp/legacy-themes

which runs that commit's own code and lexicon (in a subprocess, from the checkout) on the same rows,
with the automatic number of themes and with k = the number of gold labels.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

from training.data import REPO_ROOT
from training.themes_data import sets

LEGACY_COMMIT = "40edf02"
LEGACY_THEMES = REPO_ROOT / "training" / "data" / f"themes_predictions_{LEGACY_COMMIT}.tsv"

_PREDICT = """
import json, sys
from service.config import Settings
from service.themes import ThemeModel, load_taxonomy, params_from_settings
settings = Settings()
tax = load_taxonomy(settings.themes_path)
out = {}
for name, (texts, langs, k) in json.load(sys.stdin).items():
    out[name] = {}
    for mode, n in (("auto", None), ("k", k)):
        if n is None and mode == "k":
            continue
        model = ThemeModel(tax, params_from_settings(settings)).fit(texts, langs, n_themes=min(n, 30) if n else None)
        out[name][mode] = [a[0].theme if a else -1 for a in model.assignments_]
json.dump(out, sys.stdout)
"""


def text_key(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8", "surrogatepass")).hexdigest()[:12]


def load_references(path: Path = LEGACY_THEMES) -> dict[str, dict[str, list[int]]]:
    """set -> mode ('auto' | 'k') -> label per row (-1 = unassigned); rows checked against the texts."""
    data = sets()
    out: dict[str, dict[str, list[int]]] = {}
    with path.open(encoding="utf-8", newline="") as fh:
        for r in csv.DictReader(fh, delimiter="\t", quoting=csv.QUOTE_NONE):
            texts = data[r["set"]][0]
            i = int(r["row"])
            if text_key(texts[i]) != r["text_sha1"]:
                raise ValueError(f"{path}: row {i} of {r['set']} is not the text it was made for")
            for mode in ("auto", "k"):
                if r[mode] != "":
                    out.setdefault(r["set"], {}).setdefault(mode, []).append(int(r[mode]))
    return out


def write_references(checkout: Path, out: Path) -> int:
    data = sets()
    payload = {name: (t, lang, len(set(g)) if any(g) else None) for name, (t, lang, g, _) in data.items()}
    done = subprocess.run([sys.executable, "-c", _PREDICT], cwd=checkout, input=json.dumps(payload),
                          capture_output=True, text=True, check=True, env={**os.environ, "PYTHONPATH": str(checkout)})
    labels = json.loads(done.stdout)
    n = 0
    with out.open("w", encoding="utf-8", newline="") as fh:
        fh.write("set\trow\ttext_sha1\tauto\tk\n")
        for name, (texts, *_rest) in data.items():
            for i, text in enumerate(texts):
                k = labels[name].get("k")
                fh.write(f"{name}\t{i}\t{text_key(text)}\t{labels[name]['auto'][i]}\t{'' if k is None else k[i]}\n")
                n += 1
    return n


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--checkout", type=Path, required=True, help=f"a checkout of commit {LEGACY_COMMIT}")
    ap.add_argument("--out", type=Path, default=LEGACY_THEMES)
    args = ap.parse_args(argv)
    print(f"{write_references(args.checkout, args.out)} assignments -> {args.out}")


if __name__ == "__main__":
    main()
