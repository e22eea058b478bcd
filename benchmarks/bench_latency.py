"""Latency of a single-comment ``POST /v1/comments/analyze`` under concurrency 1 and 8 (issue #11).

    python benchmarks/bench_latency.py [--requests 200] [--concurrency 1 8] [--engine onnx]

Starts the real service (uvicorn, one process, the shipped models, a throw-away SQLite file) on a free
localhost port, warms it up, then sends one-comment requests (the hand-written survey answers, or with
``--comments test`` test-split texts from ../shared/data) from N client threads and prints p50/p95/p99
and requests/s per concurrency level. Client and server share the machine's cores.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import numpy as np

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--requests", type=int, default=200, help="requests per concurrency level")
    ap.add_argument("--concurrency", type=int, nargs="+", default=[1, 8])
    ap.add_argument("--engine", default=None, help="TOUCHPOINTS_INFERENCE_ENGINE for the server (default: its default)")
    ap.add_argument("--comments", choices=["survey", "test"], default="survey",
                    help="the hand-written survey answers (~60 chars) or test-split texts (reviews up to 5,000 chars)")
    args = ap.parse_args()
    from benchmarks.bench_sentiment import comments  # noqa: PLC0415
    from benchmarks.bench_throughput import survey_comments  # noqa: PLC0415

    texts = survey_comments(256) if args.comments == "survey" else comments(256)[0]
    port = free_port()
    tmp = tempfile.mkdtemp()
    env = {**os.environ, "TOUCHPOINTS_DATABASE_URL": f"sqlite:///{tmp}/bench.db"}
    if args.engine:
        env["TOUCHPOINTS_INFERENCE_ENGINE"] = args.engine
    server = subprocess.Popen([sys.executable, "-m", "uvicorn", "service.api.app:create_app", "--factory",
                               "--port", str(port), "--log-level", "warning"], cwd=REPO_ROOT, env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 180
        while time.time() < deadline:
            try:
                if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        else:
            raise SystemExit("the service did not become ready in 180 s")
        components = httpx.get(f"{url}/readyz").json()["components"]
        with httpx.Client(timeout=60) as c:
            for i in range(10):  # warm-up
                c.post(f"{url}/v1/comments/analyze", json={"comments": [{"id": "w", "text": texts[i]}]})
        print(f"models: {components}; {args.comments} comments, mean {np.mean([len(t) for t in texts]):.0f} chars")
        print("| concurrency | requests | p50 ms | p95 ms | p99 ms | requests/s | errors |\n|---|---|---|---|---|---|---|")
        for conc in args.concurrency:
            lat: list[float] = []
            errors = 0
            lock = threading.Lock()
            counter = iter(range(args.requests))

            def worker() -> None:
                nonlocal errors
                with httpx.Client(timeout=60) as c:
                    for i in counter:
                        body = {"comments": [{"id": str(i), "text": texts[i % len(texts)]}]}
                        t0 = time.perf_counter()
                        r = c.post(f"{url}/v1/comments/analyze", json=body)
                        dt = (time.perf_counter() - t0) * 1000
                        with lock:
                            lat.append(dt)
                            errors += r.status_code != 200

            t0 = time.perf_counter()
            threads = [threading.Thread(target=worker) for _ in range(conc)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            wall = time.perf_counter() - t0
            p = np.percentile(lat, [50, 95, 99])
            print(f"| {conc} | {len(lat)} | {p[0]:.0f} | {p[1]:.0f} | {p[2]:.0f} | {len(lat) / wall:.1f} | {errors} |",
                  flush=True)
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
