"""Where the service's memory goes as it warms up (issue #13), request kind by request kind.

    python benchmarks/reliability/memory_warmup.py [--rounds 3] [--per-round 150] [--mixed-rounds 4] [--env K=V ...]

Starts ``probe_server.py`` (``touchpoints serve`` plus a memory probe), seeds the same finished job as
``load.py``, then sends rounds of one kind at a time (single comments, batches of 5-10, GETs; one
client) and then rounds of ``load.py``'s mix from ``--clients`` concurrent clients, with ``load.py``'s
comments (half with never-seen order references). After each round it prints the server's RSS,
anonymous RSS, what glibc's heap holds and how much of it is in use (the rest is freed memory glibc
keeps), its mmapped blocks and, with ``--env TP_PROBE_TRACEMALLOC=1``, the Python heap; at the end the
same after ``malloc_trim(0)``. A round that adds nothing more than the round before it is the plateau.
Experiments: ``--env TP_PROBE_ORT_PER_SESSION_ARENAS=1`` (ONNX Runtime's default arenas, as before issue
#13's fix), ``--env TP_PROBE_ORT_ARENA=0``, glibc's own ``MALLOC_*`` variables (see probe_server.py).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from benchmarks.reliability.harness import Server  # noqa: E402
from benchmarks.reliability.load import Mix, seeded_job  # noqa: E402

COLUMNS = ("VmRSS", "RssAnon", "rss_brk_heap", "rss_thread_arenas", "rss_other_anon", "heap", "heap_in_use",
           "heap_free", "mmapped", "python_traced", "Threads")


def probe(server: Server, out: Path, sig: signal.Signals = signal.SIGUSR1) -> dict:
    """Ask the server for a snapshot and wait for its line."""
    before = len(out.read_text().splitlines()) if out.exists() else 0
    assert server.proc is not None
    os.kill(server.proc.pid, sig)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        lines = out.read_text().splitlines() if out.exists() else []
        if len(lines) > before:
            return json.loads(lines[before])
        time.sleep(0.05)
    raise TimeoutError("no snapshot from the server")


def send(url: str, job_id: str, kind: str | None, count: int, clients: int, seed: int) -> int:
    """``count`` requests of ``kind`` (None: load.py's mix) from ``clients`` threads; the number of errors."""
    left = [count]
    errors = [0]
    lock = threading.Lock()

    def client(i: int) -> None:
        mix = Mix(job_id, seed=seed * 100 + i)
        with httpx.Client(base_url=url, timeout=120) as c:
            while True:
                with lock:
                    if left[0] <= 0:
                        return
                    left[0] -= 1
                _, method, path, body = mix.pick() if kind is None else mix.request(kind)
                if c.request(method, path, json=body).status_code != 200:
                    with lock:
                        errors[0] += 1

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return errors[0]


def row(label: str, requests: int, snap: dict, start: dict, last: dict) -> str:
    cells = [f"{snap[c] / 2**20:.1f}" if c in snap and c != "Threads" else str(snap.get(c, "")) for c in COLUMNS]
    return (f"| {label} | {requests} | " + " | ".join(cells) +
            f" | {(snap['VmRSS'] - last['VmRSS']) / 2**20:+.1f} | {(snap['VmRSS'] - start['VmRSS']) / 2**20:+.1f} |")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=3, help="rounds of each single kind")
    ap.add_argument("--per-round", type=int, default=150, help="requests per round")
    ap.add_argument("--mixed-rounds", type=int, default=4, help="rounds of the concurrent mix")
    ap.add_argument("--clients", type=int, default=8, help="clients of the mixed rounds")
    ap.add_argument("--kinds", nargs="*", default=["single", "batch", "get"])
    ap.add_argument("--env", nargs="*", default=[], help="K=V for the server (experiments)")
    args = ap.parse_args()
    env = dict(kv.split("=", 1) for kv in args.env)
    with tempfile.TemporaryDirectory(prefix="tp-mem-") as tmp:
        out = Path(tmp) / "probe.jsonl"
        server = Server(Path(tmp), env={**env, "TP_PROBE_OUT": str(out)}, entry="benchmarks.reliability.probe_server")
        errors = 0
        try:
            server.start()
            job_id = seeded_job(server)
            start = last = probe(server, out)
            print(f"server env: {env or 'as the service'}")
            print("| after | requests | " + " | ".join(COLUMNS) + " | round MiB | total MiB |")
            print("|---|---|" + "---|" * (len(COLUMNS) + 2))
            print(row("start (ready, seed job)", 0, start, start, last), flush=True)
            n = 0
            plan = [(k, 1, args.rounds) for k in args.kinds] + [(None, args.clients, args.mixed_rounds)]
            for kind, clients, rounds in plan:
                for r in range(rounds):
                    errors += send(server.url, job_id, kind, args.per_round, clients, seed=n + 1)
                    n += args.per_round
                    snap = probe(server, out)
                    print(row(f"{kind or f'mix x{clients}'} {r + 1}", n, snap, start, last), flush=True)
                    last = snap
            trimmed = probe(server, out, signal.SIGUSR2)
            print(row("malloc_trim(0)", n, trimmed, start, last))
        finally:
            server.stop()
    print(f"{errors} errors")
    return 0 if errors == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
