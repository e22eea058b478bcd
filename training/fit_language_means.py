"""Measure each language's mean e5 vector on one domain in every language (XED movie subtitles).

    python -m training.fit_language_means [--per-language 3000]

Writes ``models/themes/language_means.npz`` (4 x 384 floats + provenance). XED holds the same
subtitle lines annotated or projected in fi/en/sv/da, so what differs between the means is the
language, not the topic: subtracting them is what keeps clusters from splitting by language.
"""

from __future__ import annotations

import argparse
import hashlib
import json

import numpy as np

from service.config import LANGUAGES
from service.encoder import SentenceEncoder, read_e5_file
from service.themes.embedding import LANGUAGE_MEANS_FILE
from training.data import REPO_ROOT, read_tsv

OUT = REPO_ROOT / "models" / "themes" / LANGUAGE_MEANS_FILE


def sample(per_language: int) -> dict[str, list[str]]:
    """An even, deterministic sample of distinct lines per language (hash order, not file order)."""
    by: dict[str, set[str]] = {lang: set() for lang in LANGUAGES}
    for r in read_tsv("xed_emotion/xed_emotion.tsv"):
        if r["lang"] in by and r["text"].strip():
            by[r["lang"]].add(r["text"].strip())
    key = lambda t: hashlib.sha1(t.encode()).hexdigest()  # noqa: E731
    return {lang: sorted(texts, key=key)[:per_language] for lang, texts in by.items()}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--per-language", type=int, default=3000)
    args = ap.parse_args(argv)
    file = read_e5_file()
    encoder = SentenceEncoder(file)
    texts = sample(args.per_language)
    arrays = {f"mean_{lang}": encoder.encode(rows).mean(axis=0).astype(np.float32) for lang, rows in texts.items()}
    info = {"languages": list(texts), "n": {lang: len(rows) for lang, rows in texts.items()},
            "source": "xed_emotion (OpenSubtitles, CC BY 4.0)", "backbone_sha256": file.sha256}
    np.savez(OUT, info=np.array(json.dumps(info)), **arrays)
    print(f"wrote {OUT}: {info['n']}")


if __name__ == "__main__":
    main()
