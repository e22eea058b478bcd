"""The sentiment training pipeline end-to-end on a tiny slice of ../shared/data (CPU, under a minute)."""

from __future__ import annotations

import hashlib
import json
import re

import numpy as np
import pytest
import torch

from service.config import Settings
from service.sentiment import load_scorer
from training.data import DATA_DIR, split_of
from training.sentiment_data import iter_examples, normalise
from training.train_sentiment import fit_temperature, main

pytestmark = pytest.mark.skipif(not DATA_DIR.exists(), reason=f"training data not present at {DATA_DIR}")

TINY = ["--max-rows-per-source", "25", "--epochs", "1", "--batch-size", "16", "--trainable-layers", "1",
        "--max-length", "32", "--dev-per-language", "15", "--threads", "2"]


def _args(tmp_path, out):
    return [*TINY, "--output-dir", str(out), "--cache-dir", str(tmp_path / "cache"), "--frozen-dir", str(tmp_path / "frozen")]


def test_train_tiny_end_to_end(tmp_path):
    out = tmp_path / "sentiment"
    main(_args(tmp_path, out))
    for name in ("config.json", "model.safetensors", "calibration.json", "metrics.json", "MODEL_CARD.md"):
        assert (out / name).exists(), name
    metrics = json.loads((out / "metrics.json").read_text())
    assert set(metrics["systems"]) == {"model", "legacy", "frozen_lr", "bow"}
    assert set(metrics["model_minus"]) == {"legacy", "frozen_lr", "bow"}
    assert metrics["handwritten"]["survey_answers_v2"]["results"]["model"]["overall"]["n"] == 216
    assert "frozen e5 + LR" in (out / "MODEL_CARD.md").read_text()
    scorer = load_scorer(out, Settings())
    (res,) = scorer.transform(["Bra service. Dålig leverans."], ["sv"])
    assert abs(sum(res.probabilities.values()) - 1) < 1e-6 and len(res.sentences) == 2


def test_training_is_deterministic_and_resumes_from_its_checkpoint(tmp_path, capsys):
    a, b = tmp_path / "a", tmp_path / "b"
    main([*_args(tmp_path, a), "--skip-eval", "--skip-frozen"])
    assert "cached lower states loaded" not in capsys.readouterr().out
    main([*_args(tmp_path, b), "--skip-eval", "--skip-frozen"])  # same cache dir: states and checkpoint reused
    log = capsys.readouterr().out
    assert "cached lower states loaded" in log and "resumed from" in log
    assert (a / "model.safetensors").read_bytes() == (b / "model.safetensors").read_bytes()
    fresh = tmp_path / "fresh"
    main([*TINY, "--output-dir", str(fresh), "--cache-dir", str(tmp_path / "cache2"), "--skip-eval", "--skip-frozen"])
    assert (a / "model.safetensors").read_bytes() == (fresh / "model.safetensors").read_bytes()


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


def _cached_tokens(log: str) -> int:
    """Token states the training split cached ("train: N tokens cached in S s")."""
    return int(re.search(r"^train: (\d+) tokens cached", log, re.M).group(1))


def test_learning_curve_fraction_caches_only_its_rows_and_draws_per_source(tmp_path, capsys):
    """A learning-curve point caches and fine-tunes only a per-source share, so its CPU-hours are its own."""
    full, half = tmp_path / "full", tmp_path / "half"
    main([*_args(tmp_path, full), "--skip-eval", "--skip-frozen"])
    full_log = capsys.readouterr().out
    main([*_args(tmp_path, half), "--skip-eval", "--skip-frozen", "--train-fraction", "0.5"])
    log = capsys.readouterr().out
    assert "train: cached lower states loaded" not in log and "resumed from" not in log  # its own cache and checkpoint
    assert 0 < _cached_tokens(log) < _cached_tokens(full_log)
    t_full = json.loads((full / "calibration.json").read_text())["training"]
    t_half = json.loads((half / "calibration.json").read_text())["training"]
    assert t_half["train_fraction"] == 0.5 and t_full["train_fraction"] == 1.0
    def sizes(training):
        return {source: sum(labels.values()) for source, labels in training["train_rows_by_source"].items()}

    assert sizes(t_half) == {source: max(1, round(n / 2)) for source, n in sizes(t_full).items()}
    assert t_half["train_rows"] == sum(sizes(t_half).values()) < t_full["train_rows"]
    assert (full / "model.safetensors").read_bytes() != (half / "model.safetensors").read_bytes()


def test_lora_run_trains_adapters_only_and_ships_a_plain_model(tmp_path, capsys):
    """``--lora-rank``: the adapters train (nothing else in the layer does) and are merged into the saved weights."""
    from safetensors.torch import load_file  # noqa: PLC0415

    from service.encoder import build_backbone, read_e5_file  # noqa: PLC0415

    out = tmp_path / "lora"
    main([*_args(tmp_path, out), "--skip-eval", "--skip-frozen", "--lora-rank", "4", "--lr", "1e-3"])
    assert "LoRA rank 4" in capsys.readouterr().out
    training = json.loads((out / "calibration.json").read_text())["training"]
    assert training["lora"] == {"rank": 4, "alpha": 16.0, "params": 4 * (4 * (384 + 384) + 2 * (384 + 1536))}
    pretrained = build_backbone(read_e5_file(), 0.0).state_dict()
    saved = {k.removeprefix("backbone."): v.float() for k, v in load_file(str(out / "model.safetensors")).items()}
    layer = "encoder.layer.11."  # TINY fine-tunes the top layer only
    assert (saved[layer + "attention.self.query.weight"] - pretrained[layer + "attention.self.query.weight"]).abs().max() > 1e-3
    for frozen in ("attention.self.query.bias", "output.LayerNorm.weight"):
        assert torch.allclose(saved[layer + frozen], pretrained[layer + frozen], atol=1e-3), frozen
    (res,) = load_scorer(out, Settings()).transform(["Bra service."], ["sv"])  # loads as any fine-tuned model
    assert abs(sum(res.probabilities.values()) - 1) < 1e-6


def test_length_balanced_run_is_its_own_recipe_and_says_so(tmp_path, capsys):
    """``--length-balance``: a different checkpoint (never resumed from the plain run's) and other weights."""
    plain, balanced = tmp_path / "plain", tmp_path / "balanced"
    main([*_args(tmp_path, plain), "--skip-eval", "--skip-frozen"])
    capsys.readouterr()
    main([*_args(tmp_path, balanced), "--skip-eval", "--skip-frozen", "--length-balance", "4"])
    assert "resumed from" not in capsys.readouterr().out  # same cache dir, but not the same recipe
    assert json.loads((balanced / "calibration.json").read_text())["training"]["length_balance"] == 4.0
    assert json.loads((plain / "calibration.json").read_text())["training"]["length_balance"] == 0.0
    assert (plain / "model.safetensors").read_bytes() != (balanced / "model.safetensors").read_bytes()


def test_survey_rows_join_the_fit_and_init_from_starts_at_the_given_weights(tmp_path, capsys):
    """``--survey-weight``: the survey answers' train part is fitted and its dev part reported per epoch;
    ``--init-from``: at learning rate 0 the run ends where the given folder started."""
    from training.survey_training import SOURCE, load_survey_training  # noqa: PLC0415

    start, cont = tmp_path / "start", tmp_path / "cont"
    main([*_args(tmp_path, start), "--skip-eval", "--skip-frozen", "--survey-weight", "5"])
    training = json.loads((start / "calibration.json").read_text())["training"]
    survey = load_survey_training()
    assert sum(training["train_rows_by_source"][SOURCE].values()) == len(survey["train"])
    assert training["survey_weight"] == 5.0 and "survey_dev_mean_language_macro_f1" in training["history"][0]
    assert f"{len(survey['dev'])} dev rows (reported, not selected on)" in capsys.readouterr().out
    main([*_args(tmp_path, cont), "--skip-eval", "--skip-frozen", "--init-from", str(start), "--lr", "0", "--head-lr", "0"])
    assert "resumed from" not in capsys.readouterr().out  # its own recipe, not the start run's checkpoint
    from safetensors.torch import load_file  # noqa: PLC0415

    before, after = load_file(str(start / "model.safetensors")), load_file(str(cont / "model.safetensors"))
    assert set(before) == set(after) and all(torch.equal(before[k], after[k]) for k in before)
    cont_training = json.loads((cont / "calibration.json").read_text())["training"]
    assert cont_training["init_from"] == str(start)
    assert cont_training["init_from_sha256"] == hashlib.sha256((start / "model.safetensors").read_bytes()).hexdigest()
    assert cont_training["init_training"] == training  # the start's own record, kept for the card's lineage
    # and with a learning rate it moves away from the start (the check above is not vacuous)
    main([*_args(tmp_path, tmp_path / "moved"), "--skip-eval", "--skip-frozen", "--init-from", str(start), "--lr", "1e-3"])
    moved = load_file(str(tmp_path / "moved" / "model.safetensors"))
    assert any(not torch.equal(before[k], moved[k]) for k in before)


def test_order_seed_replicates_on_the_same_rows_with_another_batch_order(tmp_path, capsys):
    """``--order-seed``: same subsets and cache as ``--seed``, its own checkpoint, other weights;
    given equal to ``--seed`` it trains exactly the default run."""
    plain, same, other = tmp_path / "plain", tmp_path / "same", tmp_path / "other"
    main([*_args(tmp_path, plain), "--skip-eval", "--skip-frozen"])
    capsys.readouterr()
    main([*_args(tmp_path, other), "--skip-eval", "--skip-frozen", "--order-seed", "1"])
    log = capsys.readouterr().out
    assert "cached lower states loaded" in log and "resumed from" not in log  # same rows, not the same recipe
    main([*_args(tmp_path, same), "--skip-eval", "--skip-frozen", "--order-seed", "0"])
    train = {name: json.loads((d / "calibration.json").read_text())["training"] for name, d in
             (("plain", plain), ("same", same), ("other", other))}
    assert train["plain"]["train_rows_by_source"] == train["other"]["train_rows_by_source"]
    assert (train["plain"]["order_seed"], train["other"]["order_seed"]) == (0, 1)
    assert (plain / "model.safetensors").read_bytes() == (same / "model.safetensors").read_bytes()
    assert (plain / "model.safetensors").read_bytes() != (other / "model.safetensors").read_bytes()


def test_frozen_only_fits_the_reference_on_the_review_rows_and_trains_nothing(tmp_path, capsys):
    from training.sentiment_frozen import FrozenLogReg  # noqa: PLC0415

    out = tmp_path / "never"
    main([*_args(tmp_path, out), "--frozen-only", "--survey-weight", "5"])
    assert (tmp_path / "frozen" / "frozen_lr.npz").is_file() and not out.exists()
    log = capsys.readouterr().out
    assert "frozen e5 + LR: dev mean-language macro-F1" in log
    reviews = int(re.search(r"rows: train (\d+) of", log).group(1))
    assert FrozenLogReg.load(tmp_path / "frozen")[1]["train_rows"] == reviews  # the survey answers are not in it


@pytest.mark.parametrize(("flags", "reason"), [
    (["--frozen-only", "--skip-frozen"], "--frozen-only fits the frozen reference, which --skip-frozen turns off"),
    (["--init-from", "models/sentiment"], "--init-from replaces the pretrained top layers that the frozen e5 + LR reference"),
])
def test_flags_that_would_fit_the_wrong_frozen_reference_are_refused(tmp_path, flags, reason, capsys):
    with pytest.raises(SystemExit):
        main([*_args(tmp_path, tmp_path / "out"), *flags])
    assert reason in capsys.readouterr().err  # this refusal, not another argparse error (whose usage says "frozen" too)
