"""RSS of one process while 8 threads analyse single comments (README: Memory under load, issue #13).

    python benchmarks/reliability/memory_probe.py            # default engine for batch scoring (auto)
    TOUCHPOINTS_INFERENCE_ENGINE=onnx python benchmarks/reliability/memory_probe.py
    ONEDNN_PRIMITIVE_CACHE_CAPACITY=32 LRU_CACHE_CAPACITY=32 python benchmarks/reliability/memory_probe.py

2,000 one-comment calls (1-4 joined survey answers each, seed 0) in 5 rounds of 400; prints RSS in MiB
when ready and after each round. ``THREADS`` (default 8) sets the callers.
"""

from __future__ import annotations

import os
import random
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from service.malloc_arenas import limit_arenas, release_freed_heap  # noqa: E402

limit_arenas()  # as the server does, before threads start

from benchmarks.bench_throughput import survey_comments  # noqa: E402
from service.config import Settings  # noqa: E402
from service.pipeline import AnalysisPipeline  # noqa: E402
from service.schemas import CommentIn  # noqa: E402


def rss_mib() -> int:
    return int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 2**20


def main() -> None:
    pipeline = AnalysisPipeline.from_settings(Settings())
    release_freed_heap()
    texts = survey_comments(3000)
    rng = random.Random(0)
    items = [CommentIn(id=str(i), text=" ".join(rng.sample(texts, rng.randint(1, 4)))) for i in range(2000)]
    print("engine", pipeline.sentiment.engine if pipeline.sentiment else "none", "ready", rss_mib(), flush=True)
    with ThreadPoolExecutor(int(os.environ.get("THREADS", "8"))) as pool:
        for k in range(5):
            list(pool.map(lambda c: pipeline.analyze([c]), items[k * 400:(k + 1) * 400]))
            print("round", k, rss_mib(), flush=True)


if __name__ == "__main__":
    main()
