"""Measure a trained sentiment model against the baselines on the held-out test split.

    python -m training.eval_sentiment [--model-dir models/sentiment]

Writes ``<model-dir>/metrics.json`` and regenerates ``<model-dir>/MODEL_CARD.md`` from it, so
every number in the card comes from this command (``train_sentiment`` calls it at the end).
The baselines are re-fitted on the same training rows each time (deterministic, ~1 min).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from service.sentiment.model import LABELS, SentimentModel, softmax
from training.data import REPO_ROOT
from training.sentiment_baseline import BagOfWordsBaseline, LengthOnlyBaseline
from training.sentiment_card import write_card
from training.sentiment_data import Example, describe, load_examples
from training.sentiment_metrics import evaluate, expected_calibration_error

METRICS_FILE = "metrics.json"


def _display(path: Path) -> str:
    """Repo-relative path where possible, so the card names a command that works in any checkout."""
    try:
        return str(path.resolve().relative_to(REPO_ROOT))
    except ValueError:
        return str(path)


def evaluate_model_dir(
    model_dir: Path, data: dict[str, list[Example]] | None = None, card: bool = True, batch_size: int = 128
) -> dict:
    """Score model + baselines on data['test']; write metrics.json (and the card)."""
    t0 = time.perf_counter()
    data = data or load_examples()
    train_rows, test_rows = data["train"], data["test"]
    model = SentimentModel.load(model_dir)
    logits = model.logits([e.text for e in test_rows], batch_size).astype(np.float64)
    gold_idx = np.array([LABELS.index(e.label) for e in test_rows])
    proba = softmax(logits, model.temperature)
    pred = [LABELS[i] for i in proba.argmax(1)]
    inference_seconds = time.perf_counter() - t0

    bow = BagOfWordsBaseline().fit(train_rows)
    length_only = LengthOnlyBaseline().fit(train_rows)
    calibration = json.loads((model_dir / "calibration.json").read_text())
    metrics = {
        "model_dir": _display(model_dir),
        "command": "python -m training.eval_sentiment --model-dir " + _display(model_dir),
        "test_rows_by_source": describe(test_rows),
        "model": evaluate(test_rows, pred),
        "bow_baseline": evaluate(test_rows, bow.predict([e.text for e in test_rows])),
        "length_only_baseline": evaluate(test_rows, length_only.predict(test_rows)),
        "calibration": {
            "temperature": round(model.temperature, 4),
            "test_ece_uncalibrated": expected_calibration_error(softmax(logits, 1.0), gold_idx),
            "test_ece_calibrated": expected_calibration_error(proba, gold_idx),
        },
        "training": calibration.get("training", {}),
        "model_size": {
            "parameters": sum(p.numel() for p in model.model.parameters()),
            "files_mib": {p.name: round(p.stat().st_size / 2**20, 2) for p in sorted(model_dir.iterdir()) if p.is_file()},
        },
        "test_inference_seconds": round(inference_seconds, 1),
        "torch_threads": torch.get_num_threads(),
    }
    (model_dir / METRICS_FILE).write_text(json.dumps(metrics, indent=2, ensure_ascii=False) + "\n")
    if card:
        write_card(model_dir, metrics)
    m, b = metrics["model"]["by_language"], metrics["bow_baseline"]["by_language"]
    for lang in m:
        print(f"{lang}: model acc {m[lang]['accuracy']:.3f} F1 {m[lang]['macro_f1']:.3f} | "
              f"bow acc {b[lang]['accuracy']:.3f} F1 {b[lang]['macro_f1']:.3f} (n={m[lang]['n']})", flush=True)
    return metrics


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model-dir", type=Path, default=REPO_ROOT / "models" / "sentiment")
    ap.add_argument("--max-rows-per-source", type=int, default=None)
    ap.add_argument("--no-card", action="store_true")
    args = ap.parse_args(argv)
    torch.set_num_threads(2)
    evaluate_model_dir(args.model_dir, load_examples(args.max_rows_per_source), card=not args.no_card)


if __name__ == "__main__":
    main()
