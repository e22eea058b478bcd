"""Evaluation helpers behind the sentiment model card."""

from __future__ import annotations

import json
import random

import pytest

from training.data import DATA_DIR, REPO_ROOT
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


@pytest.mark.skipif(not DATA_DIR.exists(), reason=f"training data not present at {DATA_DIR}")
def test_add_ablation_scores_one_folder_into_the_existing_metrics_and_card(tmp_path):
    import shutil

    from training.eval_sentiment import main

    shipped = REPO_ROOT / "models" / "sentiment"
    model_dir, extra = tmp_path / "model", tmp_path / "extra"
    shutil.copytree(shipped, model_dir)
    shutil.copytree(shipped, extra)  # any trained folder will do: the shipped one scored again
    before = json.loads((model_dir / "metrics.json").read_text())
    args = ["--model-dir", str(model_dir), "--add-ablation", f"re-scored copy={extra}", "--max-rows-per-source", "15"]
    main(args)
    main(args)  # a re-run of the same addition
    after = json.loads((model_dir / "metrics.json").read_text())
    row = after["ablations"]["re-scored copy"]
    assert set(row["by_language"]) == {"sv", "da", "fi", "en"} and row["trainable_layers"] == 6
    calibration = json.loads((shipped / "calibration.json").read_text())
    assert row["dev_mean_language_macro_f1"] == calibration["dev_mean_language_macro_f1"]
    assert {k: v for k, v in after["ablations"].items() if k != "re-scored copy"} == before["ablations"]
    assert after["test"] == before["test"]  # the rest stays as measured
    assert after["command"].count("--add-ablation 're-scored copy=") == 1
    assert "re-scored copy" in (model_dir / "MODEL_CARD.md").read_text()


def test_add_ablation_says_which_precondition_failed(tmp_path, capsys):
    from training.eval_sentiment import main

    with pytest.raises(SystemExit):
        main(["--add-ablation", f"x={tmp_path}"])
    assert "wants NAME=DIR with a trained model in DIR" in capsys.readouterr().err
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(SystemExit):
        main(["--model-dir", str(tmp_path / "none"), "--add-ablation", f"x={tmp_path}"])
    assert "which does not exist: run the full evaluation first" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["--add-ablation", f"x={tmp_path}", "--ablation", f"y={tmp_path}"])
    assert "give it without --ablation" in capsys.readouterr().err


@pytest.mark.skipif(not DATA_DIR.exists(), reason=f"training data not present at {DATA_DIR}")
def test_keep_ablations_carries_the_rows_of_the_last_evaluation_over(tmp_path):
    import shutil

    from training.eval_sentiment import main

    model_dir = tmp_path / "model"
    shutil.copytree(REPO_ROOT / "models" / "sentiment", model_dir)
    before = json.loads((model_dir / "metrics.json").read_text())
    assert before["ablations"]  # the shipped card has budget rows whose folders this checkout lacks
    main(["--model-dir", str(model_dir), "--keep-ablations", "--max-rows-per-source", "15",
          "--frozen-dir", str(tmp_path / "no-frozen")])
    after = json.loads((model_dir / "metrics.json").read_text())
    assert after["ablations"] == before["ablations"]
    assert after["ablations_scored_by"] == (before.get("ablations_scored_by") or before["command"])
    assert after["command"].endswith("--keep-ablations") and after["test"] != before["test"]  # re-measured, on 15 rows a source
    assert "carried over to this evaluation" in (model_dir / "MODEL_CARD.md").read_text()
    main(["--model-dir", str(model_dir), "--max-rows-per-source", "15", "--frozen-dir", str(tmp_path / "no-frozen")])
    assert json.loads((model_dir / "metrics.json").read_text())["ablations"] == {}  # without the flag: only what it scores
