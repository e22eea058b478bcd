"""Are the hand-written sets' neutral misses a threshold problem? A logit offset for 'neutral', chosen on dev.

    PYTHONPATH=. python benchmarks/experiments/neutral_offset/probe.py   # ~10 min on 2 cores (12,027 dev rows)

Scores the shipped model once on the whole dev split and on the hand-written sets, then for each offset
added to the neutral logit prints the dev mean-of-languages macro-F1 (on each half of dev by SHA-1 of the row
key, and on all of it) and how many hand-written answers are right. Test rows are never read. An experiment:
the shipped model has no offset (README → Sentiment says why).
"""

from __future__ import annotations

import hashlib

import numpy as np
import torch

from service.config import Settings
from service.encoder import read_e5_file
from service.sentiment.model import LABELS, SentimentModel
from training.eval_sentiment import handwritten_sets
from training.sentiment_data import Example, load_examples
from training.sentiment_metrics import evaluate

OFFSETS = (-0.5, -0.25, 0.0, 0.25, 0.5, 0.75, 1.0, 1.5)


def predicted(logits: np.ndarray, offset: float) -> list[str]:
    return [LABELS[i] for i in (logits + np.array([0.0, offset, 0.0])).argmax(1)]


def mean_f1(rows: list[Example], logits: np.ndarray, offset: float) -> float:
    by = evaluate(rows, predicted(logits, offset))["by_language"]
    return float(np.mean([m["macro_f1"] for m in by.values()]))


def main() -> None:
    torch.set_num_threads(2)
    model = SentimentModel.load(Settings().sentiment_path, read_e5_file())
    dev = load_examples()["dev"]
    sets = handwritten_sets()
    dev_logits = model.logits([e.text for e in dev], 128)
    set_logits = {name: model.logits([e.text for e in rows], 64) for name, rows in sets.items()}
    half = np.array([int(hashlib.sha1(e.key.encode()).hexdigest(), 16) % 2 for e in dev])
    halves = [([e for e, h in zip(dev, half) if h == k], dev_logits[half == k]) for k in (0, 1)]
    print(f"dev {len(dev)} rows; " + ", ".join(f"{name} {len(rows)}" for name, rows in sets.items()))
    print("| neutral offset | dev half A | dev half B | dev all | " + " | ".join(sets) + " |\n|---|---|---|---|" + "---|" * len(sets))
    for b in OFFSETS:
        right = [sum(p == e.label for p, e in zip(predicted(set_logits[name], b), rows)) for name, rows in sets.items()]
        print(f"| {b:+.2f} | {mean_f1(*halves[0], b):.4f} | {mean_f1(*halves[1], b):.4f} | {mean_f1(dev, dev_logits, b):.4f} | "
              + " | ".join(f"{r}/{len(rows)}" for r, rows in zip(right, sets.values())) + " |", flush=True)


if __name__ == "__main__":
    main()
