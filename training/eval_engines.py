"""Quality and speed of each encoder engine, sentiment and theme vectors, in one run.

    python -m training.eval_engines [--engines torch torch-bf16 onnx onnx-int8] [--json models/sentiment/engines.json]

Every engine runs the serving path (``SharedPass``) with the shipped weights. Sentiment, on the test
split: macro-F1 per language, its difference to the torch reference (which is what the model card's
numbers are), the share of rows whose label changes, texts/s, and how much a comment's scores move
when it is batched with other comments (the first 2,000 rows again, shuffled). Issue #11's rule: an
engine may be the default only if every language's macro-F1 is within 0.01 of torch.

Themes come from the same pass (its pretrained top), and the taxonomy's threshold was calibrated on
torch vectors, so each engine also embeds the taxonomy itself and assigns touchpoints in real time
(``ThemeComponents.taxonomy_model``) to the parallel sets (gold touchpoints: dev and held-out) and to a
sample of the sentiment test split: cosine of the comment vectors to torch's, the share of comments
whose touchpoints change, and main-touchpoint accuracy against the gold, which (the same rule) may not
fall more than 0.01 below torch's on either parallel set.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from service.config import Settings
from service.encoder import read_e5_file
from service.sentiment.model import LABELS, SentimentModel
from service.sentiment.engines import ENGINES, use_engine
from service.sentiment.shared_pass import SharedPass, native_bf16
from training.data import REPO_ROOT
from training.sentiment_data import load_examples
from training.sentiment_metrics import evaluate

MAX_DROP = 0.01
THEME_SAMPLE = 500  # test-split comments per language for the theme agreement
BATCH_CHECK = 2000  # test-split comments scored again in another order


def batch_dependence(shared: SharedPass, texts: list[str], proba: np.ndarray, n: int = BATCH_CHECK) -> dict:
    """The first ``n`` texts again in a shuffled order (other batch mates, other padding): how far their
    probabilities move. fp32 engines compute each row on its own; dynamic int8 quantises a whole batch's
    activations with one scale, so a comment's scores depend on the comments batched with it."""
    order = np.random.default_rng(0).permutation(min(n, len(texts)))
    again = shared.predict_proba([texts[i] for i in order])
    diff = np.abs(again - proba[order])
    return {"n": int(len(order)), "max_abs_proba_diff": round(float(diff.max()), 5),
            "mean_abs_proba_diff": round(float(diff.max(axis=1).mean()), 5),
            "label_changed_share": round(float(np.mean(again.argmax(axis=1) != proba[order].argmax(axis=1))), 4)}


def theme_sets(rows: list) -> dict[str, tuple[list[str], list[str], list[str] | None]]:
    """(texts, languages, gold touchpoint or None) per set; the sample is every n-th row per language."""
    from training.calibrate_themes import GOLD_ALIASES  # noqa: PLC0415
    from training.themes_data import HOLDOUT, PARALLEL, load_parallel  # noqa: PLC0415

    out: dict[str, tuple[list[str], list[str], list[str] | None]] = {}
    for name, path in (("parallel_dev", PARALLEL), ("parallel_holdout", HOLDOUT)):
        texts, langs, gold, _ = load_parallel(path)
        out[name] = (texts, langs, [GOLD_ALIASES.get(g, g) for g in gold])
    sample = []
    for lang in sorted({e.lang for e in rows}):
        of = [e for e in rows if e.lang == lang]
        sample += of[:: max(1, len(of) // THEME_SAMPLE)][:THEME_SAMPLE]
    out["sentiment_test_sample"] = ([e.text for e in sample], [e.lang for e in sample], None)
    return out


def theme_outputs(settings: Settings, file: object, shared: SharedPass,
                  sets: dict[str, tuple[list[str], list[str], list[str] | None]]) -> dict[str, tuple[np.ndarray, list]]:
    """Per set: language-centred comment vectors and each comment's touchpoints (main first)."""
    from service.themes import ThemeComponents  # noqa: PLC0415

    comp = ThemeComponents.load(settings, file, shared)  # embeds the taxonomy with this engine
    model = comp.taxonomy_model()
    out = {}
    for name, (texts, langs, _) in sets.items():
        rows = model.predict(texts, langs)
        out[name] = (comp.embedder.transform(texts, langs),
                     [[model.themes_[c.theme].touchpoint for c in r] for r in rows])
    return out


def main_accuracy(touchpoints: list[list[str]], gold: list[str]) -> float:
    """Share of comments whose main touchpoint is the gold one ('' = none, for gold that no touchpoint names)."""
    return round(float(np.mean([(t[0] if t else "") == g for t, g in zip(touchpoints, gold)])), 4)


def theme_entry(got: dict, ref: dict | None, sets: dict) -> dict:
    entry: dict = {}
    for name, (X, tps) in got.items():
        gold = sets[name][2]
        e: dict = {"n": len(tps)}
        if gold is not None:
            e["main_touchpoint_accuracy"] = main_accuracy(tps, gold)
            if ref is not None:
                e["accuracy_minus_torch"] = round(e["main_touchpoint_accuracy"] - main_accuracy(ref[name][1], gold), 4)
        if ref is not None:
            RX, rtps = ref[name]
            e["cosine_to_torch_mean"] = round(float(np.mean(np.sum(X * RX, axis=1))), 4)
            e["cosine_to_torch_min"] = round(float(np.min(np.sum(X * RX, axis=1))), 4)
            e["touchpoints_changed_share"] = round(float(np.mean([a != b for a, b in zip(tps, rtps)])), 4)
            e["main_changed_share"] = round(float(np.mean([(a[:1]) != (b[:1]) for a, b in zip(tps, rtps)])), 4)
        entry[name] = e
    if ref is not None:  # the sentiment rule's counterpart: no gold set's accuracy more than MAX_DROP below torch
        entry["within_0.01"] = all(e["accuracy_minus_torch"] >= -MAX_DROP for e in entry.values() if "accuracy_minus_torch" in e)
    return entry


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--engines", nargs="+", choices=ENGINES, default=list(ENGINES))
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
    out: dict = {"rows": len(rows), "threads": args.threads, "batch_size": args.batch_size,
                 "native_bf16": native_bf16(), "engines": {}}
    reference = None
    sets = theme_sets(rows)
    out["themes"] = {}
    theme_reference = None
    for name in args.engines:
        if name != "torch":  # every other engine takes over or frees the torch modules: a fresh copy each
            model = SentimentModel.load(settings.sentiment_path, file)
        shared = SharedPass(model, file, args.batch_size)
        use_engine(shared, name, version, args.threads)
        t0 = time.perf_counter()
        proba = shared.predict_proba(texts)
        dt = time.perf_counter() - t0
        pred = [LABELS[i] for i in proba.argmax(axis=1)]
        result = evaluate(rows, pred)
        entry = {"texts_per_s": round(len(rows) / dt, 1), "overall": result["overall"],
                 "by_language": {k: v for k, v in result["by_language"].items()},
                 "batch_dependence": batch_dependence(shared, texts, proba)}
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
        got = theme_outputs(settings, file, shared, sets)
        out["themes"][name] = theme_entry(got, theme_reference, sets)
        theme_reference = theme_reference or got
        print(name, "themes", json.dumps(out["themes"][name]), flush=True)
    args.json.write_text(json.dumps(out, indent=2) + "\n")
    print("\n| engine | texts/s | " + " | ".join(f"{lang} macro-F1" for lang in out["engines"]["torch"]["by_language"])
          + " | labels changed | reordered: max probability change, labels changed |")
    print("|---|---|" + "---|" * (len(out["engines"]["torch"]["by_language"]) + 2))
    for name, e in out["engines"].items():
        cells = [f"{v['macro_f1']:.3f}" + (f" ({e['macro_f1_minus_torch'][lang]:+.3f})" if "macro_f1_minus_torch" in e else "")
                 for lang, v in e["by_language"].items()]
        b = e["batch_dependence"]
        print(f"| {name} | {e['texts_per_s']} | " + " | ".join(cells) + f" | {e.get('label_changed_share', 0):.1%} | "
              f"{b['max_abs_proba_diff']:.4f}, {b['label_changed_share']:.2%} |")
    print("\n| engine | set | main touchpoint accuracy | cosine to torch (mean / min) | touchpoints changed | main changed |")
    print("|---|---|---|---|---|---|")
    for name, by_set in out["themes"].items():
        for set_name, e in ((k, v) for k, v in by_set.items() if isinstance(v, dict)):
            cos = f"{e['cosine_to_torch_mean']:.4f} / {e['cosine_to_torch_min']:.4f}" if "cosine_to_torch_mean" in e else "–"
            acc = f"{e['main_touchpoint_accuracy']:.3f}" if "main_touchpoint_accuracy" in e else "–"
            print(f"| {name} | {set_name} (n={e['n']}) | {acc} | {cos} | {e.get('touchpoints_changed_share', 0):.1%} | "
                  f"{e.get('main_changed_share', 0):.1%} |")
    return out


if __name__ == "__main__":
    main()
