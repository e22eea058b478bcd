"""The sentiment training pipeline end-to-end on a tiny slice of ../shared/data (seconds, CPU)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from service.config import Settings
from service.sentiment import load_scorer
from training.data import DATA_DIR, split_of
from training.eval_sentiment import main as eval_main
from training.sentiment_data import iter_examples, normalise
from training.train_sentiment import fit_temperature, main

pytestmark = pytest.mark.skipif(not DATA_DIR.exists(), reason=f"training data not present at {DATA_DIR}")

TINY = ["--max-rows-per-source", "60", "--epochs", "1", "--hidden", "32", "--layers", "1", "--heads", "2",
        "--intermediate", "64", "--vocab-size", "1500", "--batch-size", "16", "--ngram-buckets", "4096"]


def test_train_tiny_end_to_end(tmp_path):
    out = tmp_path / "sentiment"
    main([*TINY, "--output-dir", str(out)])
    for name in ("config.json", "model.safetensors", "tokenizer.json", "calibration.json", "metrics.json", "MODEL_CARD.md"):
        assert (out / name).exists(), name
    metrics = json.loads((out / "metrics.json").read_text())
    assert {"model", "bow_baseline", "length_only_baseline", "calibration"} <= set(metrics)
    scorer = load_scorer(out, Settings())
    (res,) = scorer.transform(["Bra service. Dålig leverans."], ["sv"])
    assert abs(sum(res.probabilities.values()) - 1) < 1e-6 and len(res.sentences) == 2


def test_ablation_without_ngram_branch_is_scored_beside_the_model(tmp_path):
    hybrid, plain = tmp_path / "hybrid", tmp_path / "plain"
    main([*TINY, "--output-dir", str(hybrid), "--skip-eval"])
    main([*TINY, "--ngram-buckets", "0", "--output-dir", str(plain), "--skip-eval"])
    assert json.loads((plain / "config.json").read_text())["ngram_buckets"] == 0
    eval_main(["--model-dir", str(hybrid), "--max-rows-per-source", "60", "--reference", f"transformer only={plain}"])
    metrics = json.loads((hybrid / "metrics.json").read_text())
    ref = metrics["references"]["transformer only"]
    assert ref["architecture"]["ngram_buckets"] == 0 and set(ref["by_language"]) == set(metrics["model"]["by_language"])
    assert "--ngram-buckets 0" in ref["training_command"]
    card = (hybrid / "MODEL_CARD.md").read_text()
    assert "| transformer only |" in card and "n-gram branch" in card


def test_eval_rejects_a_reference_that_is_not_a_model(tmp_path):
    with pytest.raises(SystemExit):
        eval_main(["--model-dir", str(tmp_path), "--reference", f"x={tmp_path}"])


def test_training_is_deterministic(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    for out in (a, b):
        main([*TINY, "--output-dir", str(out), "--skip-eval"])
    assert (a / "model.safetensors").read_bytes() == (b / "model.safetensors").read_bytes()
    assert (a / "tokenizer.json").read_bytes() == (b / "tokenizer.json").read_bytes()


def test_splits_follow_the_key_hash_and_texts_are_unique():
    rows = list(iter_examples(max_rows_per_source=300))
    assert {r.split for r in rows} == {"train", "dev", "test"}
    assert all(r.split == split_of(r.key) for r in rows)
    assert len({normalise(r.text) for r in rows}) == len(rows)


def test_temperature_scaling_recovers_known_temperature():
    rng = np.random.default_rng(0)
    true = rng.normal(size=(4000, 3)) * 3
    p = np.exp(true) / np.exp(true).sum(1, keepdims=True)
    gold = np.array([rng.choice(3, p=row) for row in p])
    assert fit_temperature(true * 2.0, gold) == pytest.approx(2.0, rel=0.1)
