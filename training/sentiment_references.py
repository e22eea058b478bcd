"""Predictions of earlier shipped sentiment models, kept as files so the card can compare against them.

The from-scratch BERT + n-gram model that e5 replaced (commit 45ee8b0) is no longer in the tree;
its test-split and hand-written-set predictions are stored in ``training/data/`` and re-made by

    git worktree add /tmp/legacy 45ee8b0
    python -m training.sentiment_references --checkout /tmp/legacy

which runs that commit's own code and model (in a subprocess, from the checkout) on the same rows.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
from pathlib import Path

from training.data import REPO_ROOT

LEGACY_COMMIT = "45ee8b0"
LEGACY_PREDICTIONS = REPO_ROOT / "training" / "data" / f"sentiment_predictions_{LEGACY_COMMIT}.tsv"

_PREDICT = """
import json, sys
from pathlib import Path
import torch
torch.set_num_threads(1)
from service.sentiment.model import LABELS, SentimentModel
rows = json.load(sys.stdin)
model = SentimentModel.load(Path("models/sentiment"))
pred = model.logits([r["text"] for r in rows], 128).argmax(1)
json.dump([LABELS[i] for i in pred], sys.stdout)
"""


def load_predictions(path: Path) -> dict[str, str]:
    """key -> predicted label."""
    with path.open(encoding="utf-8", newline="") as fh:
        return {r["key"]: r["label"] for r in csv.DictReader(fh, delimiter="\t", quoting=csv.QUOTE_NONE)}


def write_predictions(checkout: Path, out: Path) -> int:
    from training.eval_sentiment import handwritten_sets  # noqa: PLC0415 - avoid an import cycle
    from training.sentiment_data import load_examples  # noqa: PLC0415

    rows = load_examples()["test"] + [e for examples in handwritten_sets().values() for e in examples]
    payload = json.dumps([{"key": e.key, "text": e.text} for e in rows])
    done = subprocess.run([sys.executable, "-c", _PREDICT], cwd=checkout, input=payload, capture_output=True,
                          text=True, check=True, env={**os.environ, "PYTHONPATH": str(checkout)})
    labels = json.loads(done.stdout)
    with out.open("w", encoding="utf-8", newline="") as fh:
        fh.write("key\tlabel\n")
        for e, label in zip(rows, labels, strict=True):
            fh.write(f"{e.key}\t{label}\n")
    return len(rows)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--checkout", type=Path, required=True, help=f"a checkout of commit {LEGACY_COMMIT}")
    ap.add_argument("--out", type=Path, default=LEGACY_PREDICTIONS)
    args = ap.parse_args(argv)
    print(f"{write_predictions(args.checkout, args.out)} predictions -> {args.out}")


if __name__ == "__main__":
    main()
