"""``touchpoints score`` on the local runner vs Ray local mode, same dump, same run (issue #11).

    python benchmarks/bench_ray.py [--rows 2000] [--configs local ray:2x1 ray:1x2] [--comments mixed|survey]

Each configuration runs ``touchpoints score`` in a fresh process (``ray:WxT`` = ``--engine ray
--workers W --worker-threads T``, Ray started on this machine) on the same generated sv/da/fi/en
dump (``bench_batch.py``), with the themes report; it prints scoring rows/s, end-to-end seconds, the
phases, and the peak resident memory of the whole process tree, of its largest process and of its
largest child process (with Ray, a worker: it holds one loaded pipeline and one block, whatever the
dump's size); ``--json`` also keeps the driver's and the largest child's memory every 30 s.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from benchmarks.bench_batch import SOURCES, PeakRss, generate  # noqa: E402


def run(config: str, src: Path, work: Path) -> dict:
    out = work / f"{config.replace(':', '_')}.parquet"
    cmd = [sys.executable, "-m", "service", "score", str(src), "-o", str(out), "--meta", "score=nps", "--restart",
           "--no-progress"]
    if config.startswith("ray:"):
        w, t = config[4:].split("x")
        cmd += ["--engine", "ray", "--workers", w, "--worker-threads", t]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=REPO_ROOT, stderr=subprocess.PIPE, text=True)
    with PeakRss(proc.pid, tree=True, interval=0.5, trace_every=30.0) as rss:
        err = proc.communicate()[1]
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"{config}: exit {proc.returncode}\n{err[-3000:]}")
    rate = re.search(r"([\d.]+) rows/s scoring", err)
    phases = dict((k, float(v)) for k, v in re.findall(r"(\w+) ([\d.]+)s", err.split("time: ")[-1]))
    return {"config": config, "rows_per_s_scoring": float(rate.group(1)) if rate else None,
            "end_to_end_s": round(wall, 1), "phases_s": phases,
            "peak_rss_tree_mib": round(rss.peak / 2**20), "peak_rss_largest_process_mib": round(rss.largest / 2**20),
            "peak_rss_largest_child_mib": round(rss.largest_child / 2**20),
            "rss_trace_s_driver_largest_child_mib": rss.trace}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=2000)
    ap.add_argument("--configs", nargs="+", default=["local", "ray:2x1", "ray:1x2"])
    ap.add_argument("--data-dir", type=Path, default=REPO_ROOT.parent / "shared" / "data")
    ap.add_argument("--comments", default="mixed", choices=list(SOURCES), help="the dump's texts (bench_batch.py)")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        src = work / "dump.csv"
        generate(src, args.rows, args.data_dir, args.comments)
        results = [run(c, src, work) for c in args.configs]
    print(f"\n{args.rows} rows, {psutil.cpu_count()} cores\n")
    print("| config | scoring rows/s | end to end s | phases s | peak RSS, all processes | largest process | "
          "largest child (Ray: a worker) |")
    print("|---|---|---|---|---|---|---|")
    base = results[0]["rows_per_s_scoring"]
    for r in results:
        ratio = f" ({r['rows_per_s_scoring'] / base:.2f}×)" if base and r["rows_per_s_scoring"] else ""
        child = f"{r['peak_rss_largest_child_mib']} MiB" if r["peak_rss_largest_child_mib"] else "-"
        print(f"| {r['config']} | {r['rows_per_s_scoring']}{ratio} | {r['end_to_end_s']} | "
              f"{', '.join(f'{k} {v:.0f}' for k, v in r['phases_s'].items())} | {r['peak_rss_tree_mib']} MiB | "
              f"{r['peak_rss_largest_process_mib']} MiB | {child} |")
    if args.json:
        args.json.write_text(json.dumps({"rows": args.rows, "results": results}, indent=2) + "\n")


if __name__ == "__main__":
    main()
