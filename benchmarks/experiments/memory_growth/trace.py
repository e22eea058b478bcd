"""Where does the local runner's resident memory grow? Score distinct survey comments through each
part of the pipeline alone, in chunks as ``score_rows`` does, and print RSS after every chunk.

    python benchmarks/experiments/memory_growth/trace.py STAGE [--rows N] [--chunk 500] [--data-dir ../shared/data]

STAGE: ``pipeline`` (analyze_with_inputs, as batch jobs), ``encoder`` (language ID, clause split and
the shared encoder pass: sentiment + unit vectors), ``langid`` (language ID only), ``split`` (sentence
splitting only). Each chunk is followed by ``release_freed_heap()`` as in score_rows.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
sys.path[:0] = [str(REPO), str(REPO / "benchmarks")]

import bench_batch  # noqa: E402

from service.config import Settings  # noqa: E402
from service.malloc_arenas import release_freed_heap  # noqa: E402
from service.pipeline import AnalysisPipeline  # noqa: E402
from service.schemas import CommentIn  # noqa: E402


def rss_mib() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * 4096 / 2**20


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("stage", choices=["pipeline", "encoder", "langid", "split"])
    ap.add_argument("--rows", type=int, default=20000)
    ap.add_argument("--chunk", type=int, default=500)
    ap.add_argument("--data-dir", type=Path, default=REPO.parent / "shared" / "data")
    args = ap.parse_args()
    per_lang = args.rows // len(bench_batch.SOURCES["survey"]) + 1
    texts = [t for files in bench_batch.SOURCES["survey"].values()
             for t in bench_batch._texts(args.data_dir, files, "survey", per_lang)]
    texts = [texts[i] for i in sorted(range(len(texts)), key=lambda i: (i % per_lang, i))][: args.rows]  # interleave
    pipe = AnalysisPipeline.from_settings(Settings())
    sentiment = pipe.sentiment
    segmenter = pipe.themes.components.segmenter
    start, t0 = rss_mib(), time.perf_counter()
    print(f"{args.stage}: {len(texts)} distinct texts, RSS {start:.0f} MiB after loading", flush=True)
    for i in range(0, len(texts), args.chunk):
        part = texts[i : i + args.chunk]
        if args.stage == "pipeline":
            pipe.analyze_with_inputs([CommentIn(id=str(i + k), text=t) for k, t in enumerate(part)])
        elif args.stage == "encoder":
            codes = [r.code for r in pipe.language.transform(part, [None] * len(part))]
            sentences = segmenter.sentences(part)
            sentiment.transform_with_units(part, codes, segmenter.transform(part, sentences), sentences=sentences)
        elif args.stage == "langid":
            pipe.language.transform(part, [None] * len(part))
        else:
            segmenter.sentences(part)
        release_freed_heap()
        done = i + len(part)
        if done % (args.chunk * 4) == 0 or done == len(texts):
            print(f"{done:>7} rows  RSS {rss_mib():7.0f} MiB  (+{rss_mib() - start:5.0f})  "
                  f"{done / (time.perf_counter() - t0):5.0f} rows/s", flush=True)


if __name__ == "__main__":
    main()
