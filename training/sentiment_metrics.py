"""Metrics for the sentiment model card: accuracy and macro-F1 per language, source and length bucket.

Binary sources (no neutral gold) are scored on the same 3-way prediction: predicting
'neutral' for a 1- or 5-star review counts as an error, which is the honest reading.
Macro-F1 averages over the classes present in the gold labels of each slice.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.metrics import accuracy_score, f1_score

from training.sentiment_data import LABELS, LANGS, Example

# Character-length buckets: survey answers are mostly in the first two.
LENGTH_BUCKETS: tuple[tuple[str, int, int], ...] = (
    ("<40", 0, 40),
    ("40-99", 40, 100),
    ("100-249", 100, 250),
    (">=250", 250, 10**9),
)


def length_bucket(text: str) -> str:
    n = len(text)
    return next(name for name, lo, hi in LENGTH_BUCKETS if lo <= n < hi)


def _scores(gold: Sequence[str], pred: Sequence[str]) -> dict[str, float | int]:
    present = sorted(set(gold), key=LABELS.index)
    return {
        "n": len(gold),
        "accuracy": round(float(accuracy_score(gold, pred)), 4),
        "macro_f1": round(float(f1_score(gold, pred, labels=present, average="macro", zero_division=0)), 4),
    }


def expected_calibration_error(proba: np.ndarray, gold_idx: np.ndarray, bins: int = 10) -> float:
    """ECE of the top-class probability (equal-width bins), to show what temperature scaling did."""
    conf = proba.max(axis=1)
    correct = proba.argmax(axis=1) == gold_idx
    ece = 0.0
    for lo in np.linspace(0, 1, bins, endpoint=False):
        m = (conf > lo) & (conf <= lo + 1 / bins)
        if m.any():
            ece += m.mean() * abs(correct[m].mean() - conf[m].mean())
    return round(float(ece), 4)


def evaluate(examples: Sequence[Example], pred: Sequence[str]) -> dict:
    """{'overall', 'by_language', 'by_source', 'by_language_length'} of accuracy/macro-F1/n."""
    gold = [e.label for e in examples]
    out: dict = {"overall": _scores(gold, pred), "by_language": {}, "by_source": {}, "by_language_length": {}}
    for lang in LANGS:
        idx = [i for i, e in enumerate(examples) if e.lang == lang]
        if not idx:
            continue
        out["by_language"][lang] = _scores([gold[i] for i in idx], [pred[i] for i in idx])
        buckets: dict[str, dict] = {}
        for name, _, _ in LENGTH_BUCKETS:
            b = [i for i in idx if length_bucket(examples[i].text) == name]
            if b:
                buckets[name] = _scores([gold[i] for i in b], [pred[i] for i in b])
        out["by_language_length"][lang] = buckets
    for source in sorted({e.source for e in examples}):
        idx = [i for i, e in enumerate(examples) if e.source == source]
        out["by_source"][source] = _scores([gold[i] for i in idx], [pred[i] for i in idx])
    return out


def paired_bootstrap(
    examples: Sequence[Example], pred_a: Sequence[str], pred_b: Sequence[str], resamples: int = 1000, seed: int = 0
) -> dict[str, dict[str, float]]:
    """Per language: macro-F1(a) - macro-F1(b) with a 95% percentile interval over test resamples.

    Both systems are scored on the *same* resampled rows, so the interval is for the difference;
    an interval above 0 means a is better beyond test-set sampling noise.
    """
    rng = np.random.default_rng(seed)
    out: dict[str, dict[str, float]] = {}
    for lang in LANGS:
        idx = np.array([i for i, e in enumerate(examples) if e.lang == lang])
        if not len(idx):
            continue
        gold = np.array([examples[i].label for i in idx])
        a, b = np.array([pred_a[i] for i in idx]), np.array([pred_b[i] for i in idx])
        present = sorted(set(gold), key=LABELS.index)

        def f1(s: np.ndarray, pred: np.ndarray) -> float:
            return float(f1_score(gold[s], pred[s], labels=present, average="macro", zero_division=0))

        everything = np.arange(len(idx))
        diffs = np.empty(resamples)
        for r in range(resamples):
            s = rng.integers(0, len(idx), len(idx))
            diffs[r] = f1(s, a) - f1(s, b)
        lo, hi = np.percentile(diffs, [2.5, 97.5])
        out[lang] = {
            "difference": round(f1(everything, a) - f1(everything, b), 4),
            "ci95_low": round(float(lo), 4),
            "ci95_high": round(float(hi), 4),
            "share_of_resamples_a_better": round(float(np.mean(diffs > 0)), 3),
        }
    return out
