"""What themes add to the real-time path: ``AnalysisPipeline.analyze`` with and without the theme stage.

    python benchmarks/bench_analyze.py [--n 512] [--batch-size 32]

Both configurations run in fresh subprocesses on the same comments (test-split texts from
../shared/data when available, else a built-in set), the same run: "sentiment only" (themes off,
as before issue #10) and "sentiment + themes" (the shared encoder pass: lower layers once, the
fine-tuned top for sentiment, the pretrained top for the theme vectors of the comment and its
clauses, then taxonomy assignment). Prints comments/s, peak RSS and start-up time.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))


def run_one(themes: bool, n: int, batch_size: int) -> dict:
    import torch  # noqa: PLC0415

    from benchmarks.bench_sentiment import comments  # noqa: PLC0415
    from service.config import Settings  # noqa: PLC0415
    from service.pipeline import AnalysisPipeline  # noqa: PLC0415
    from service.schemas import CommentIn  # noqa: PLC0415

    settings = Settings(inference_batch_size=batch_size,
                        **({} if themes else {"themes_dir": REPO_ROOT / "build" / "no-themes"}))
    torch.set_num_threads(settings.torch_threads or 2)
    t0 = time.perf_counter()
    pipeline = AnalysisPipeline.from_settings(settings)
    startup = time.perf_counter() - t0
    texts, _ = comments(n)
    batch = [CommentIn(id=str(i), text=t) for i, t in enumerate(texts)]
    pipeline.analyze(batch[:batch_size])  # warm-up
    t0 = time.perf_counter()
    n_themes = 0
    for i in range(0, len(batch), batch_size):
        n_themes += sum(len(r.themes) for r in pipeline.analyze(batch[i:i + batch_size]))
    dt = time.perf_counter() - t0
    return {"themes": themes, "comments": len(batch), "comments_per_s": round(len(batch) / dt, 1),
            "themes_per_comment": round(n_themes / len(batch), 2),
            "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
            "startup_s": round(startup, 1), "components": pipeline.components()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=512)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--one", choices=["on", "off"], default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one is not None:
        print(json.dumps(run_one(args.one == "on", args.n, args.batch_size)))
        return
    print("| configuration | comments | comments/s | themes per comment | peak RSS MiB | start-up s |\n|---|---|---|---|---|---|")
    for mode in ("off", "on"):
        res = subprocess.run([sys.executable, __file__, "--one", mode, "--n", str(args.n), "--batch-size",
                              str(args.batch_size)], capture_output=True, text=True, check=True, cwd=REPO_ROOT)
        r = json.loads(res.stdout.strip().splitlines()[-1])
        name = "sentiment + themes (shared pass)" if r["themes"] else "sentiment only"
        print(f"| {name} | {r['comments']} | {r['comments_per_s']} | {r['themes_per_comment']} | {r['peak_rss_mib']} | "
              f"{r['startup_s']} |", flush=True)


if __name__ == "__main__":
    main()
