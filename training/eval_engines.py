"""Quality and speed of each encoder engine on the sentiment test split, in one run.

    python -m training.eval_engines [--engines torch onnx onnx-int8] [--json models/sentiment/engines.json]

Every engine scores the same test rows through ``SharedPass`` (the serving path) with the shipped
weights; macro-F1 per language, its difference to the torch reference (which is what the model card's
numbers are), the share of rows whose label changes, and texts/s. Issue #11's rule: an engine may be
the default only if every language's macro-F1 is within 0.01 of torch.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from service.config import Settings
from service.encoder import read_e5_file
from service.sentiment.model import LABELS, SentimentModel
from service.sentiment.shared_pass import SharedPass
from training.data import REPO_ROOT
from training.sentiment_data import load_examples
from training.sentiment_metrics import evaluate

MAX_DROP = 0.01


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--engines", nargs="+", default=["torch", "onnx", "onnx-int8"])
    ap.add_argument("--json", type=Path, default=REPO_ROOT / "models" / "sentiment" / "engines.json")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch-size", type=int, default=64)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    settings = Settings()
    rows = load_examples()["test"]
    texts = [e.text for e in rows]
    file = read_e5_file()
    model = SentimentModel.load(settings.sentiment_path, file)
    from service.sentiment.scorer import model_version  # noqa: PLC0415

    version = model_version(settings.sentiment_path)
    out: dict = {"rows": len(rows), "threads": args.threads, "batch_size": args.batch_size, "engines": {}}
    reference = None
    for name in args.engines:
        shared = SharedPass(model, file, args.batch_size)
        if name != "torch":
            from service.sentiment.onnx_engine import OnnxEngine  # noqa: PLC0415

            shared.engine = OnnxEngine(model, shared.top, version, int8=name == "onnx-int8", threads=args.threads)
        t0 = time.perf_counter()
        proba = shared.predict_proba(texts)
        dt = time.perf_counter() - t0
        pred = [LABELS[i] for i in proba.argmax(axis=1)]
        result = evaluate(rows, pred)
        entry = {"texts_per_s": round(len(rows) / dt, 1), "overall": result["overall"],
                 "by_language": {k: v for k, v in result["by_language"].items()}}
        if reference is None:
            reference = (pred, result)
        else:
            ref_pred, ref = reference
            entry["label_changed_share"] = round(sum(a != b for a, b in zip(pred, ref_pred)) / len(pred), 4)
            entry["macro_f1_minus_torch"] = {lang: round(v["macro_f1"] - ref["by_language"][lang]["macro_f1"], 4)
                                             for lang, v in result["by_language"].items()}
            entry["within_0.01"] = all(d >= -MAX_DROP for d in entry["macro_f1_minus_torch"].values())
        out["engines"][name] = entry
        print(name, json.dumps(entry), flush=True)
    args.json.write_text(json.dumps(out, indent=2) + "\n")
    print("\n| engine | texts/s | " + " | ".join(f"{lang} macro-F1" for lang in out["engines"]["torch"]["by_language"])
          + " | labels changed |")
    print("|---|---|" + "---|" * (len(out["engines"]["torch"]["by_language"]) + 1))
    for name, e in out["engines"].items():
        cells = [f"{v['macro_f1']:.3f}" + (f" ({e['macro_f1_minus_torch'][lang]:+.3f})" if "macro_f1_minus_torch" in e else "")
                 for lang, v in e["by_language"].items()]
        print(f"| {name} | {e['texts_per_s']} | " + " | ".join(cells) + f" | {e.get('label_changed_share', 0):.1%} |")
    return out


if __name__ == "__main__":
    main()
