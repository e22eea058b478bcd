"""Does taking the length cue out of training help short complaints? Two sentiment models, side by side.

    PYTHONPATH=. python benchmarks/experiments/length_balance/compare.py build/sentiment-lb4   # ~10 min on 2 cores

The candidate is trained with ``--length-balance`` (training/train_sentiment.py): each (language, length
bucket) cell of the training rows weighted to its language's class mix, because in the review sets length
predicts the label (Swedish rows under 40 characters: 75% positive, 8% negative). Prints, for the candidate
against the shipped model (``--base``): the dev-subset macro-F1 each was selected on (the only figure a ship
decision may use), macro-F1 on all of dev and on test per language with a paired bootstrap interval, F1 and negative recall per length bucket,
the dev part of the survey answers written for training (training/survey_training.py), the hand-written sets per
language and kind, and the issue's quoted examples.
A candidate may also be a weight average of the two (``python -m training.soup_sentiment models/sentiment
build/sentiment-lb4 --output-dir build/sentiment-soup``).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch

from service.encoder import read_e5_file
from service.sentiment.model import LABELS, SentimentModel
from training.data import REPO_ROOT
from training.eval_sentiment import QUOTED, handwritten_sets
from training.sentiment_data import LANGS, load_examples
from training.sentiment_metrics import LENGTH_BUCKETS, evaluate, length_bucket, paired_bootstrap
from training.survey_training import load_survey_training


def labels(model: SentimentModel, texts: list[str]) -> list[str]:
    return [LABELS[i] for i in model.predict_proba(texts, 128).argmax(1)]


def compare_split(split: str, rows: list, pred: dict[str, list[str]]) -> None:
    """Macro-F1 per language with a paired bootstrap, then F1 and negative recall per length bucket."""
    scores = {name: evaluate(rows, p) for name, p in pred.items()}
    diff = paired_bootstrap(rows, pred["candidate"], pred["base"])
    print(f"\n{split} ({len(rows)} rows) macro-F1: language | base | candidate | candidate - base [95% CI]")
    for lang in LANGS:
        b, c, d = scores["base"]["by_language"][lang], scores["candidate"]["by_language"][lang], diff[lang]
        print(f"  {lang} | {b['macro_f1']:.3f} | {c['macro_f1']:.3f} | {d['difference']:+.3f} "
              f"[{d['ci95_low']:+.3f}, {d['ci95_high']:+.3f}]")
    means = [np.mean([scores[name]["by_language"][lang]["macro_f1"] for lang in LANGS]) for name in pred]
    print(f"  mean of languages | {means[0]:.4f} | {means[1]:.4f} | {means[1] - means[0]:+.4f}")
    print(f"\n{split} by length: language, bucket, n | base F1 / negative recall | candidate F1 / negative recall")
    for lang in LANGS:
        for bucket, _, _ in LENGTH_BUCKETS:
            idx = [i for i, e in enumerate(rows) if e.lang == lang and length_bucket(e.text) == bucket]
            if not idx:
                continue
            cell_rows = [rows[i] for i in idx]
            neg = [j for j, e in enumerate(cell_rows) if e.label == "negative"]
            cells = []
            for name in pred:
                p = [pred[name][i] for i in idx]
                f1 = evaluate(cell_rows, p)["overall"]["macro_f1"]
                recall = np.mean([p[j] == "negative" for j in neg]) if neg else float("nan")
                cells.append(f"{f1:.3f} / {recall:.2f}")
            print(f"  {lang} {bucket:>7} {len(idx):5d} | {cells[0]} | {cells[1]}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("candidate", type=Path)
    ap.add_argument("--base", type=Path, default=REPO_ROOT / "models" / "sentiment")
    args = ap.parse_args()
    torch.set_num_threads(2)
    backbone = read_e5_file()
    models = {"base": SentimentModel.load(args.base, backbone), "candidate": SentimentModel.load(args.candidate, backbone)}
    for name, path in (("base", args.base), ("candidate", args.candidate)):
        cal = json.loads((path / "calibration.json").read_text())
        print(f"{name} ({path}): dev-subset mean-language macro-F1 {cal['dev_mean_language_macro_f1']}, "
              f"T {cal['temperature']:.3f}, " + (f"soup {cal['soup']['command']}" if "soup" in cal  # training/soup_sentiment.py
                                                 else f"training {cal['training']['command']}"))

    data = load_examples()
    for split in ("dev", "test"):  # dev: all of it, not only the subset the epochs were chosen on
        rows = data[split]
        pred = {name: labels(m, [e.text for e in rows]) for name, m in models.items()}
        compare_split(split, rows, pred)
    survey_dev = load_survey_training()["dev"]  # training/survey_training.py: never fitted
    compare_split("survey answers, dev part", survey_dev, {n: labels(m, [e.text for e in survey_dev]) for n, m in models.items()})

    for set_name, rows in handwritten_sets().items():
        hand = {name: labels(m, [e.text for e in rows]) for name, m in models.items()}
        print(f"\n{set_name}: group | n | base right | candidate right")
        for key in ("lang", "source"):
            for group in sorted({getattr(e, key) for e in rows}):
                idx = [i for i, e in enumerate(rows) if getattr(e, key) == group]
                right = [sum(hand[name][i] == rows[i].label for i in idx) for name in models]
                print(f"  {group} | {len(idx)} | {right[0]} | {right[1]}")
        print(f"  all | {len(rows)} | " + " | ".join(str(sum(p == e.label for p, e in zip(hand[n], rows))) for n in models))
        changed = [(e, hand["base"][i], hand["candidate"][i]) for i, e in enumerate(rows) if hand["base"][i] != hand["candidate"][i]]
        for e, b, c in changed:
            print(f"    changed {e.key}: {e.text!r} gold {e.label}: {b} -> {c}")

    print("\nissue #9's examples: text | reader | base | candidate (P negative/neutral/positive)")
    for _, text, gold in QUOTED:
        cells = []
        for m in models.values():
            p = m.predict_proba([text])[0]
            cells.append(f"{LABELS[int(p.argmax())]} ({'/'.join(f'{x:.2f}' for x in p)})")
        print(f"  {text} | {gold} | {cells[0]} | {cells[1]}")


if __name__ == "__main__":
    main()
