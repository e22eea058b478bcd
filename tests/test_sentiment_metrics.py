"""Evaluation helpers behind the sentiment model card."""

from __future__ import annotations

import random

from training.sentiment_data import LABELS, Example
from training.sentiment_metrics import paired_bootstrap


def _examples(n: int, lang: str = "sv") -> list[Example]:
    return [Example(f"t{i}", lang, LABELS[i % 3], "src", f"src:{i}", "test") for i in range(n)]


def test_paired_bootstrap_interval_excludes_zero_for_a_clearly_better_system():
    rng = random.Random(0)
    ex = _examples(900)
    good = [e.label if rng.random() < 0.9 else "neutral" for e in ex]
    poor = [e.label if rng.random() < 0.5 else "neutral" for e in ex]
    d = paired_bootstrap(ex, good, poor, resamples=300)["sv"]
    assert d["difference"] > 0 and d["ci95_low"] > 0 and d["share_of_resamples_a_better"] == 1.0
    reverse = paired_bootstrap(ex, poor, good, resamples=300)["sv"]
    assert reverse["ci95_high"] < 0 and reverse["difference"] == -d["difference"]


def test_paired_bootstrap_of_identical_predictions_is_zero_and_seeded():
    ex = _examples(60) + _examples(30, "da")
    pred = [LABELS[(i * 7) % 3] for i in range(90)]
    out = paired_bootstrap(ex, pred, pred, resamples=50)
    assert set(out) == {"sv", "da"}
    assert all(v["difference"] == v["ci95_low"] == v["ci95_high"] == 0 for v in out.values())
    other = [LABELS[(i * 5) % 3] for i in range(90)]
    assert paired_bootstrap(ex, pred, other, resamples=50) == paired_bootstrap(ex, pred, other, resamples=50)
