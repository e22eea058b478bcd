"""Measure a trained sentiment model against the baselines on the held-out test split.

    python -m training.eval_sentiment [--model-dir models/sentiment] [--reference NAME=DIR ...]

``--reference`` scores other trained models (e.g. an ablation) on the same test rows and records
them beside the shipped model's numbers. Writes ``<model-dir>/metrics.json`` and regenerates ``<model-dir>/MODEL_CARD.md`` from it, so
every number in the card comes from this command (``train_sentiment`` calls it at the end).
The baselines are re-fitted on the same training rows each time (deterministic, ~1 min).
"""

from __future__ import annotations

import argparse
import csv
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
from training.sentiment_metrics import evaluate, expected_calibration_error, paired_bootstrap

METRICS_FILE = "metrics.json"
# 60 survey-style comments (15 per language) written by the developers: the shared data has no real
# survey answers, so this is a plausibility check in the target domain, not a benchmark.
HANDWRITTEN = REPO_ROOT / "training" / "data" / "survey_comments_handwritten.tsv"


def handwritten_examples(path: Path = HANDWRITTEN) -> list[Example]:
    with path.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t", quoting=csv.QUOTE_NONE))
    return [Example(r["text"], r["lang"], r["label"], "handwritten_survey", f"handwritten:{r['id']}", "test") for r in rows]


def _display(path: Path) -> str:
    """Repo-relative path where possible, so the card names a command that works in any checkout."""
    try:
        return str(path.resolve().relative_to(REPO_ROOT))
    except ValueError:
        return str(path)


def architecture(model: SentimentModel) -> dict:
    c = model.model.config
    return {
        "encoder": "BERT", "layers": c.num_hidden_layers, "hidden": c.hidden_size, "heads": c.num_attention_heads,
        "intermediate": c.intermediate_size, "vocab": c.vocab_size, "max_tokens": c.max_position_embeddings,
        "ngram_buckets": model.model.ngram_buckets, "ngram_dim": model.model.ngram_dim,
    }


def reference_summary(model_dir: Path, test_rows: list[Example], batch_size: int) -> dict:
    """Test numbers of another trained model folder, for an ablation table in the card."""
    model = SentimentModel.load(model_dir)
    pred = [LABELS[i] for i in model.logits([e.text for e in test_rows], batch_size).argmax(1)]
    result = evaluate(test_rows, pred)
    training = json.loads((model_dir / "calibration.json").read_text()).get("training", {})
    return {
        "model_dir": _display(model_dir),
        "training_command": training.get("command"),
        "architecture": architecture(model),
        "overall": result["overall"],
        "by_language": result["by_language"],
    }


def evaluate_model_dir(
    model_dir: Path,
    data: dict[str, list[Example]] | None = None,
    card: bool = True,
    batch_size: int = 128,
    references: dict[str, Path] | None = None,
) -> dict:
    """Score model + baselines (+ reference models) on data['test']; write metrics.json (and the card)."""
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
    bow_pred = bow.predict([e.text for e in test_rows])
    length_only = LengthOnlyBaseline().fit(train_rows)
    handwritten = handwritten_examples()
    hw_pred = [LABELS[i] for i in model.logits([e.text for e in handwritten], batch_size).argmax(1)]
    hw_bow = bow.predict([e.text for e in handwritten])
    calibration = json.loads((model_dir / "calibration.json").read_text())
    metrics = {
        "model_dir": _display(model_dir),
        "command": "python -m training.eval_sentiment --model-dir " + _display(model_dir)
        + "".join(f" --reference {name}={_display(path)}" for name, path in (references or {}).items()),
        "architecture": architecture(model),
        "test_rows_by_source": describe(test_rows),
        "model": evaluate(test_rows, pred),
        "bow_baseline": evaluate(test_rows, bow_pred),
        "model_minus_bow_macro_f1": paired_bootstrap(test_rows, pred, bow_pred),
        "length_only_baseline": evaluate(test_rows, length_only.predict(test_rows)),
        "handwritten_survey": {
            "file": _display(HANDWRITTEN),
            "model": {k: v for k, v in evaluate(handwritten, hw_pred).items() if k in ("overall", "by_language")},
            "bow_baseline": {k: v for k, v in evaluate(handwritten, hw_bow).items() if k in ("overall", "by_language")},
            "model_errors": [
                {"id": e.key, "text": e.text, "gold": e.label, "predicted": p}
                for e, p in zip(handwritten, hw_pred) if p != e.label
            ],
        },
        "calibration": {
            "temperature": round(model.temperature, 4),
            "test_ece_uncalibrated": expected_calibration_error(softmax(logits, 1.0), gold_idx),
            "test_ece_calibrated": expected_calibration_error(proba, gold_idx),
        },
        "training": calibration.get("training", {}),
        "model_size": {
            "parameters": sum(p.numel() for p in model.model.parameters()),
            "files_mib": {
                p.name: round(p.stat().st_size / 2**20, 2)
                for p in sorted(model_dir.iterdir())
                if p.is_file() and p.name not in (METRICS_FILE, "MODEL_CARD.md")  # written by this command
            },
        },
        "test_inference_seconds": round(inference_seconds, 1),
        "torch_threads": torch.get_num_threads(),
        "references": {
            name: reference_summary(path, test_rows, batch_size) for name, path in (references or {}).items()
        },
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
    ap.add_argument("--reference", action="append", default=[], metavar="NAME=DIR",
                    help="also score this trained model folder (e.g. an ablation) on the test split")
    args = ap.parse_args(argv)
    references = {}
    for item in args.reference:
        name, sep, path = item.partition("=")
        if not sep or not name or not Path(path, "config.json").is_file():
            ap.error(f"--reference wants NAME=DIR with a trained model in DIR, got {item!r}")
        references[name] = Path(path)
    torch.set_num_threads(2)
    evaluate_model_dir(
        args.model_dir, load_examples(args.max_rows_per_source), card=not args.no_card, references=references
    )


if __name__ == "__main__":
    main()
