"""Learning-curve options of ``training.train_sentiment`` that need no training data (the end-to-end runs are in
``test_sentiment_training.py``, skipped without ../shared)."""

from __future__ import annotations

import pytest


def test_learning_curve_subset_is_seeded_and_validated():
    import random

    from training.sentiment_data import Example
    from training.train_sentiment import learning_curve_subset

    rows = [Example(key=f"k{i}", text=f"t{i}", label="positive", lang="sv", source="a" if i < 30 else "b", split="train")
            for i in range(40)]
    picked = learning_curve_subset(rows, 0.5, random.Random(0))
    assert picked == learning_curve_subset(rows, 0.5, random.Random(0)) == sorted(picked)
    assert sum(i < 30 for i in picked) == 15 and sum(i >= 30 for i in picked) == 5
    assert learning_curve_subset(rows, 1.0, random.Random(0)) == list(range(40))
    with pytest.raises(ValueError):
        learning_curve_subset(rows, 0.0, random.Random(0))


def test_the_cli_refuses_a_training_fraction_outside_0_1(capsys):
    from training.train_sentiment import parse_args

    for bad in ("0", "1.5"):
        with pytest.raises(SystemExit):
            parse_args(["--train-fraction", bad])
        assert "--train-fraction: the training fraction must be in (0, 1]" in capsys.readouterr().err
    assert parse_args(["--train-fraction", "0.25"]).train_fraction == 0.25
