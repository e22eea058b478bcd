"""Benchmark ``touchpoints score`` end to end on a generated comment dump.

Builds an N-row file (default 100,000) from the shared sv/da/fi/en datasets (about 0.5% of rows
are deliberately bad, to exercise per-row reporting), scores it through the same code path as
the CLI (ingest -> chunked resumable scoring -> themes report -> output file), and prints
rows/second and peak memory. Run smaller with ``--rows``. ``--comments mixed`` (default) mixes
reviews of up to 2,000 characters with short lines; ``--comments survey`` draws only texts of at most
120 characters (short reviews, social comments, subtitle lines, support requests), the length of
survey answers.

    python benchmarks/bench_batch.py --rows 100000 --format csv [--comments survey]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import resource
import tempfile
import threading
import time
from itertools import cycle, islice
from pathlib import Path

import psutil

from service.batch.cli import run_score
from service.cli import build_parser
from service.config import REPO_ROOT

# Per dump kind and language: (file under the data dir, language column filter or None), in order.
SOURCES: dict[str, dict[str, list[tuple[str, str | None]]]] = {
    "mixed": {
        "sv": [("trustpilot_sv_2025/trustpilot_sv_2025.tsv", None)],
        "da": [("trustpilot_da_sentida/trustpilot_da_sentida.tsv", None)],
        "fi": [("xed_emotion/xed_emotion.tsv", "fi")],
        "en": [("semeval_absa_en/semeval_absa_en_sentences.tsv", None)],
    },
    "survey": {
        "sv": [("trustpilot_sv_2025/trustpilot_sv_2025.tsv", None), ("swe_sentiment_emoji/swe_sentiment_emoji.tsv", None),
               ("trustpilot_sv_neutral_2023/trustpilot_sv_neutral_2023.tsv", None)],
        "da": [("trustpilot_da_sentida/trustpilot_da_sentida.tsv", None), ("sam_da_social/sam_da_social.tsv", None),
               ("lcc_sentiment_da/lcc_sentiment_da.tsv", None)],
        "fi": [("xed_emotion/xed_emotion.tsv", "fi")],
        "en": [("semeval_absa_en/semeval_absa_en_sentences.tsv", None),
               ("bitext_customer_support_en/bitext_customer_support_en.tsv", None)],
    },
}
MAX_CHARS = {"mixed": 2000, "survey": 120}  # mixed: longer texts are cut; survey: longer ones are skipped
# Texts drawn per language before they repeat. The mixed dump is kept as it was (first rows, repeats
# included) so that earlier figures stay reproducible; the survey dump takes distinct texts only.
PER_LANGUAGE = {"mixed": 20_000, "survey": 50_000}
BAD_EVERY = 200  # one bad row (empty, control character, or over-long) per this many


def _texts(data_dir: Path, files: list[tuple[str, str | None]], kind: str, limit: int) -> list[str]:
    """Up to ``limit`` texts of one language, file by file in order (distinct ones for ``survey``)."""
    out: list[str] = []
    seen: set[str] = set()
    for rel, lang_filter in files:
        with open(data_dir / rel, encoding="utf-8", newline="") as f:
            for row in csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE):
                if lang_filter and row.get("lang") != lang_filter:
                    continue
                text = (row.get("text") or "").strip()
                if not text or (kind == "survey" and len(text) > MAX_CHARS[kind]):
                    continue
                text = text[: MAX_CHARS[kind]]
                if kind == "survey":
                    if text in seen:
                        continue
                    seen.add(text)
                out.append(text)
                if len(out) >= limit:
                    return out
    if not out:
        raise SystemExit(f"no texts in {[rel for rel, _ in files]} under {data_dir}")
    return out


def generate(path: Path, rows: int, data_dir: Path, kind: str = "mixed") -> None:
    """Interleave the four languages; ids are unique, texts repeat when rows exceed the sources."""
    sources = SOURCES[kind]
    per_lang = max(1, rows // len(sources) + 1)
    streams = [cycle(_texts(data_dir, files, kind, min(per_lang, PER_LANGUAGE[kind]))) for files in sources.values()]
    langs = cycle(list(sources))
    bad = cycle(["", "broken \x07 control", "x" * 6000])
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, delimiter="\t" if path.suffix == ".tsv" else ",")
        w.writerow(["id", "text", "survey_lang", "nps"])
        for i, text in enumerate(islice((next(s) for s in cycle(streams)), rows)):
            w.writerow([f"c{i:07d}", next(bad) if i % BAD_EVERY == BAD_EVERY - 1 else text, next(langs), i % 11])


def convert(src: Path, fmt: str) -> Path:
    if fmt in ("csv", "tsv"):
        return src
    import pandas as pd

    df = pd.read_csv(src, dtype=str, keep_default_na=False)
    dst = src.with_suffix(f".{fmt}")
    if fmt == "jsonl":
        df.to_json(dst, orient="records", lines=True, force_ascii=False)
    elif fmt == "parquet":
        df.to_parquet(dst, index=False)
    else:
        df.to_excel(dst, index=False)
    return dst


class PeakRss:
    """Peak resident memory of a process (default: this one), sampled; with ``tree``, of it and all its
    descendants together (``peak``), of the largest of them (``largest``) and of the largest descendant
    alone (``largest_child``: e.g. a Ray worker, beside its driver)."""

    def __init__(self, pid: int | None = None, tree: bool = False, interval: float = 0.2,
                 trace_every: float | None = None) -> None:
        self.proc = psutil.Process(pid or os.getpid())
        self.tree = tree
        self.peak = self.largest = self.largest_child = 0
        # with ``trace_every``: (seconds, process MiB, largest descendant MiB) that often, to show memory stays flat
        self.trace: list[tuple[float, int, int]] = []
        self._trace_every, self._t0 = trace_every, time.perf_counter()
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)
        self.interval = interval
        self._sample()

    def _sample(self) -> None:
        try:
            procs = [self.proc, *(self.proc.children(recursive=True) if self.tree else [])]
            rss = [p.memory_info().rss if p.is_running() else 0 for p in procs]
        except psutil.Error:
            return
        self.peak, self.largest = max(self.peak, sum(rss)), max(self.largest, max(rss, default=0))
        self.largest_child = max(self.largest_child, max(rss[1:], default=0))
        now = time.perf_counter() - self._t0
        if self._trace_every and (not self.trace or now - self.trace[-1][0] >= self._trace_every):
            self.trace.append((round(now, 1), round(rss[0] / 2**20), round(max(rss[1:], default=0) / 2**20)))

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self._sample()

    def __enter__(self) -> "PeakRss":
        self._t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._t.join()
        self._sample()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--format", default="csv", choices=["csv", "tsv", "jsonl", "parquet", "xlsx"],
                    help="input and output format")
    ap.add_argument("--data-dir", type=Path, default=REPO_ROOT.parent / "shared" / "data")
    ap.add_argument("--workdir", type=Path, help="keep files here (default: a temporary directory)")
    ap.add_argument("--chunk-rows", type=int)
    ap.add_argument("--comments", default="mixed", choices=list(SOURCES), help="the dump's texts (see above)")
    ap.add_argument("--progress", action="store_true", help="show the progress bar")
    ap.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    ap.add_argument("--trace", type=float, metavar="SECONDS",
                    help="also record RSS this often (whether memory stays flat while rows are scored)")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        work = args.workdir or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        t0 = time.perf_counter()
        src = convert(_gen(work, args), args.format)
        gen_s = time.perf_counter() - t0
        out = work / f"scored.{args.format}"
        argv = ["score", str(src), "-o", str(out), "--meta", "score=nps", "--restart"]
        argv += [] if args.progress else ["--no-progress"]
        argv += ["--chunk-rows", str(args.chunk_rows)] if args.chunk_rows else []
        timings: dict[str, float] = {}
        rss0 = psutil.Process().memory_info().rss
        with PeakRss(trace_every=args.trace) as peak:
            t0 = time.perf_counter()
            rc = run_score(build_parser().parse_args(argv), timings=timings)
            total = time.perf_counter() - t0
        if rc != 0:
            raise SystemExit(f"score failed with exit status {rc}")
        scoring = timings.get("score") or float("nan")
        end_to_end_no_models = total - timings.get("load_models", 0.0)
        figures = {
            "rows": args.rows, "comments": args.comments, "format": args.format, "cpu_count": os.cpu_count(),
            "input_bytes": src.stat().st_size, "output_bytes": out.stat().st_size,
            "seconds": {k: round(v, 2) for k, v in {**timings, "total": total, "generate_input": gen_s}.items()},
            "rows_per_s_scoring": round(args.rows / scoring, 1),
            "rows_per_s_end_to_end": round(args.rows / total, 1),
            "rows_per_s_end_to_end_excl_model_load": round(args.rows / end_to_end_no_models, 1),
            "rss_before_mb": round(rss0 / 2**20, 1),
            "peak_rss_mb": round(peak.peak / 2**20, 1),
            "ru_maxrss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            **({"rss_trace_mib": [(t, mib) for t, mib, _ in peak.trace]} if args.trace else {}),
        }
    print(json.dumps(figures, indent=2))
    print(f"\n{args.rows} rows ({args.format}): {figures['rows_per_s_scoring']} rows/s scoring, "
          f"{figures['rows_per_s_end_to_end']} rows/s end to end (incl. model load), "
          f"peak RSS {figures['peak_rss_mb']} MB")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2), encoding="utf-8")


def _gen(work: Path, args: argparse.Namespace) -> Path:
    path = work / "comments.csv"
    generate(path, args.rows, args.data_dir, args.comments)
    return path


if __name__ == "__main__":
    main()
