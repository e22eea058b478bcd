"""Average the trained weights of two sentiment folders (a "model soup", Wortsman et al. 2022).

    python -m training.soup_sentiment models/sentiment build/sentiment-lb4 --output-dir build/sentiment-soup

Two fine-tunings of the same pretrained layers with the same rows, seed and batch order (here: with
and without ``--length-balance``) stay close enough in weight space that their average is a model of
its own, at no inference cost. ``--weight`` is the second folder's share. The temperature is fitted
again, and the result scored, on the dev subset ``train_sentiment`` selects on (the same rows for both
ingredients, which must agree on caps, dev size and seed), so its ``dev_mean_language_macro_f1`` is
comparable with theirs. Test rows are never read.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch

from service.encoder import E5Tokenizer, read_e5_file
from service.sentiment.model import CALIBRATION_FILE, LABELS, SentimentModel
from service.sentiment.network import SentimentNet
from training.sentiment_data import load_examples
from training.train_sentiment import fit_temperature, mean_language_macro_f1, training_subsets

# What decides the dev subset: ingredients that differ here were selected on other rows.
_SUBSET_KEYS = ("train_caps", "dev_per_language", "seed")


def subset_settings(folders: list[Path]) -> dict:
    """The ingredients' common subset settings; ValueError if they were trained on other subsets."""
    settings = [{k: json.loads((f / CALIBRATION_FILE).read_text())["training"][k] for k in _SUBSET_KEYS} for f in folders]
    if any(s != settings[0] for s in settings[1:]):
        raise ValueError(f"ingredients drew other training/dev subsets: {settings}")
    return settings[0]


def average(a: SentimentNet, b: SentimentNet, weight: float) -> SentimentNet:
    """``a`` with every trained tensor replaced by (1 - weight) * a + weight * b."""
    if not 0.0 <= weight <= 1.0:
        raise ValueError(f"weight must be in [0, 1], got {weight}")
    if a.config != b.config:
        raise ValueError(f"ingredients differ in architecture: {a.config} vs {b.config}")
    theirs = dict(b.trainable_named_parameters())
    with torch.no_grad():
        for name, p in a.trainable_named_parameters():
            p.mul_(1.0 - weight).add_(theirs[name], alpha=weight)
    return a


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("first", type=Path)
    ap.add_argument("second", type=Path)
    ap.add_argument("--weight", type=float, default=0.5, help="the second folder's share")
    ap.add_argument("--output-dir", type=Path, required=True)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    settings = subset_settings([args.first, args.second])
    _, dev_rows = training_subsets(load_examples(), settings["train_caps"], settings["dev_per_language"], settings["seed"])

    backbone = read_e5_file()
    net = average(SentimentNet.load(args.first, backbone), SentimentNet.load(args.second, backbone), args.weight)
    model = SentimentModel(E5Tokenizer(backbone), net)
    logits = model.logits([e.text for e in dev_rows])
    gold = np.array([LABELS.index(e.label) for e in dev_rows])
    model.temperature = fit_temperature(logits, gold)
    f1 = mean_language_macro_f1(dev_rows, logits)
    ingredients = {str(f): json.loads((f / CALIBRATION_FILE).read_text())["dev_mean_language_macro_f1"]
                   for f in (args.first, args.second)}
    model.save(args.output_dir, fp16=True, extra={
        "fitted_on": f"dev subset ({len(dev_rows)} rows, at most {settings['dev_per_language']} per language)",
        "dev_mean_language_macro_f1": round(f1, 4),
        "soup": {"command": "python -m training.soup_sentiment " + " ".join(argv if argv is not None else sys.argv[1:]),
                 "weight": args.weight, "ingredients_dev_mean_language_macro_f1": ingredients},
    })
    print(f"soup ({1 - args.weight:g} x {args.first} + {args.weight:g} x {args.second}): dev mean-language macro-F1 "
          f"{f1:.4f} (ingredients {ingredients}), T {model.temperature:.3f} -> {args.output_dir}", flush=True)


if __name__ == "__main__":
    main()
