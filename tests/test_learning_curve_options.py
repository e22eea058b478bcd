"""Learning-curve options of ``training.train_sentiment`` that need no training data (the end-to-end runs are in
``test_sentiment_training.py``, skipped without ../shared)."""

from __future__ import annotations

import pytest
import torch


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


def _rows(cells):
    """Examples from {(lang, length, label): count}; texts of exactly ``length`` characters."""
    from training.sentiment_data import Example

    return [Example(key=f"{lang}{n}{label}{i}", text="x" * n, label=label, lang=lang, source="s", split="train")
            for (lang, n, label), count in cells.items() for i in range(count)]


def test_length_balance_gives_every_length_bucket_its_languages_class_mix():
    from collections import defaultdict

    from training.sentiment_metrics import length_bucket
    from training.train_sentiment import length_balance_weights

    # Swedish: short rows mostly positive, long rows mostly negative; overall 50/50. English has one length only.
    rows = _rows({("sv", 20, "positive"): 80, ("sv", 20, "negative"): 20,
                  ("sv", 300, "positive"): 20, ("sv", 300, "negative"): 80,
                  ("en", 20, "positive"): 30, ("en", 20, "neutral"): 10})
    w = length_balance_weights(rows, clip=10.0).tolist()
    mass = defaultdict(float)
    for e, x in zip(rows, w):
        mass[e.lang, length_bucket(e.text), e.label] += x
    for bucket in ("<40", ">=250"):
        assert mass["sv", bucket, "positive"] == pytest.approx(mass["sv", bucket, "negative"])
    short_negative = w[80]  # a row of the rare short-negative cell weighs 0.5 / 0.2
    assert short_negative == pytest.approx(2.5) and w[0] == pytest.approx(0.5 / 0.8)
    assert all(x == pytest.approx(1.0) for e, x in zip(rows, w) if e.lang == "en")  # no length cue, nothing moves
    clipped = length_balance_weights(rows, clip=2.0).tolist()
    assert max(clipped) == pytest.approx(2.0) and min(clipped) >= 0.5
    with pytest.raises(ValueError, match="at least 1"):
        length_balance_weights(rows, clip=0.5)


def test_the_cli_refuses_a_length_balance_clip_below_1(capsys):
    from training.train_sentiment import parse_args

    with pytest.raises(SystemExit):
        parse_args(["--length-balance", "0.5"])
    assert "--length-balance must be 0 (off) or a clip of at least 1" in capsys.readouterr().err
    assert parse_args([]).length_balance == 0.0 and parse_args(["--length-balance", "4"]).length_balance == 4.0


def test_survey_rows_get_their_weight_and_leave_the_length_balance_of_review_rows_alone():
    from training.train_sentiment import length_balance_weights, row_weights

    review = _rows({("sv", 20, "positive"): 80, ("sv", 20, "negative"): 20,
                    ("sv", 300, "positive"): 20, ("sv", 300, "negative"): 80})
    survey = _rows({("sv", 20, "negative"): 30})  # short complaints: counted with the reviews they would shift the cells
    w = row_weights(review, survey, 4.0, 10.0)
    assert len(w) == len(review) + len(survey)
    assert torch.equal(w[: len(review)], length_balance_weights(review, 4.0))
    assert not torch.equal(w[: len(review)], length_balance_weights(review + survey, 4.0)[: len(review)])
    assert w[len(review):].tolist() == [10.0] * len(survey)
    assert row_weights(review, [], 0.0, 0.0).tolist() == [1.0] * len(review)
