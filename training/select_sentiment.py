"""Choose between trained sentiment folders on one dev sample: the same rows for every folder.

    python -m training.select_sentiment build/sentiment-prev build/sentiment-fi [--per-language 1000]

``train_sentiment`` picks its epoch on a dev subset drawn after its training subset, so two recipes
with other caps see other dev rows and their logged dev scores are not comparable. This scores each
folder on one seeded sample of the dev split (at most ``--per-language`` rows per language, drawn
independently of any training recipe), per language and as the mean of languages, and gives the
paired bootstrap of each folder against the first. Test rows are never read.
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

import numpy as np
import torch

from service.encoder import read_e5_file
from service.sentiment.model import LABELS, SentimentModel
from training.sentiment_data import load_examples
from training.sentiment_metrics import evaluate, paired_bootstrap
from training.train_sentiment import capped_groups


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model_dirs", nargs="+", type=Path, help="trained folders; the first is the reference")
    ap.add_argument("--per-language", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json", type=Path, help="also write the figures here")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    dev = capped_groups(load_examples()["dev"], lambda e: e.lang, lambda _: args.per_language, random.Random(args.seed))
    backbone = read_e5_file()
    preds: dict[str, list[str]] = {}
    for folder in args.model_dirs:
        model = SentimentModel.load(folder, backbone)
        preds[str(folder)] = [LABELS[i] for i in model.logits([e.text for e in dev]).argmax(1)]
    ref = str(args.model_dirs[0])
    out: dict = {"dev_rows": len(dev), "per_language": args.per_language, "seed": args.seed, "folders": {}}
    for name, pred in preds.items():
        by_lang = {lang: m["macro_f1"] for lang, m in evaluate(dev, pred)["by_language"].items()}
        row = {"by_language_macro_f1": by_lang, "mean_language_macro_f1": round(float(np.mean(list(by_lang.values()))), 4)}
        if name != ref:
            row["minus_first"] = paired_bootstrap(dev, pred, preds[ref])
        out["folders"][name] = row
        cells = " ".join(f"{lang} {f:.3f}" for lang, f in by_lang.items())
        diff = " | vs first: " + " ".join(
            f"{lang} {d['difference']:+.3f} [{d['ci95_low']:+.3f}, {d['ci95_high']:+.3f}]"
            for lang, d in row["minus_first"].items()) if "minus_first" in row else ""
        print(f"{name}: mean {row['mean_language_macro_f1']:.4f} | {cells}{diff}", flush=True)
    if args.json:
        args.json.write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
