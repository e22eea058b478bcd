"""Load: N concurrent clients hold the service busy for minutes; zero errors expected and memory flat.

    python benchmarks/reliability/load.py [--clients 8] [--duration 180] [--warmup-requests 800]

Each client loops over a mix of requests: single survey comments (60%) and batches of 5-10 (20%) to
``POST /v1/comments/analyze``, and GETs (20%: /healthz, /readyz, the taxonomy, a finished job and its
errors, the stored theme models), with the hand-written sv/da/fi/en comments of tests/data. Half of
the comments end with an order reference never seen before ("(order Q7K2XW)"), as real answers carry
order numbers and names: a cache that keeps every new word shows as growth. After a warm-up with the
same mix (a number of requests, not seconds: memory_warmup.py finds the plateau after about that many
on any machine; other order references than the measured part's), it prints requests/s, p50/p95/p99
latency per kind, the error count and the server's RSS when ready, after the warm-up, at half the
measured time and at the end (sampled every 5 s), so what the warm-up takes and whether memory has
stopped growing are printed figures. Client and server share the machine's cores.
"""

from __future__ import annotations

import argparse
import math
import random
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from benchmarks.reliability.harness import (  # noqa: E402
    Server, mib, percentiles, result_line, survey_comments, upload_job, wait_job, write_comments_csv,
)


class Mix:
    """The request mix; ``pick`` returns (kind, method, path, json body or None)."""

    def __init__(self, job_id: str, seed: int) -> None:
        self.texts = [t for _, t in survey_comments()]
        self.gets = ["/healthz", "/readyz", "/v1/themes/taxonomy", f"/v1/jobs/{job_id}",
                     f"/v1/jobs/{job_id}/errors", "/v2/themes/models"]
        self.rng = random.Random(seed)
        self.n = 0

    def text(self, text: str) -> str:
        """Half the time with a new order reference: unseen words, as in real answers."""
        if self.rng.random() < 0.5:
            return text
        return f"{text} (order {''.join(self.rng.choices('ABCDEFGHJKLMNPQRSTUVWXYZ23456789', k=6))})"

    def pick(self) -> tuple[str, str, str, dict | None]:
        x = self.rng.random()
        return self.request("single" if x < 0.6 else "batch" if x < 0.8 else "get")

    def request(self, kind: str) -> tuple[str, str, str, dict | None]:
        """One request of ``kind`` (single, batch or get)."""
        self.n += 1
        if kind == "single":
            return "single", "POST", "/v1/comments/analyze", {"comments": [
                {"id": f"c{self.n}", "text": self.text(self.rng.choice(self.texts)), "metadata": {"score": self.n % 11}}]}
        if kind == "batch":
            k = self.rng.randint(5, 10)
            return "batch", "POST", "/v1/comments/analyze", {"comments": [
                {"id": f"c{self.n}-{i}", "text": self.text(t)} for i, t in enumerate(self.rng.sample(self.texts, k))]}
        return "get", "GET", self.rng.choice(self.gets), None


def seeded_job(server: Server) -> str:
    """A finished 20-comment job, for the mix's GETs of a job and its errors; its id."""
    src = server.workdir / "seed.csv"
    write_comments_csv(src, 20)
    with server.client() as c:
        job = upload_job(c, src)
        wait_job(c, job["id"])
    return str(job["id"])


def drive(url: str, job_id: str, clients: int, seconds: float, requests: int | None = None,
          seed: int = 0) -> tuple[dict[str, list[float]], list[str], float]:
    """Run the clients for ``seconds`` (or until ``requests`` were sent); latencies (ms) by kind, error
    descriptions, wall time. Another ``seed`` gives other comments and order references."""
    stop_at = time.monotonic() + seconds
    lat: dict[str, list[float]] = {"single": [], "batch": [], "get": []}
    errors: list[str] = []
    lock = threading.Lock()
    left = [math.inf if requests is None else requests]

    def client(i: int) -> None:
        mix = Mix(job_id, seed=seed * clients + i)
        with httpx.Client(base_url=url, timeout=120) as c:
            while time.monotonic() < stop_at:
                with lock:
                    if left[0] <= 0:
                        return
                    left[0] -= 1
                kind, method, path, body = mix.pick()
                t0 = time.perf_counter()
                try:
                    r = c.request(method, path, json=body)
                    err = None if r.status_code == 200 else f"{method} {path} -> {r.status_code} {r.text[:120]}"
                except httpx.HTTPError as exc:
                    err = f"{method} {path} -> {type(exc).__name__}"
                dt = (time.perf_counter() - t0) * 1000
                with lock:
                    lat[kind].append(dt)
                    if err:
                        errors.append(err)

    t0 = time.monotonic()
    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return lat, errors, time.monotonic() - t0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--duration", type=float, default=180, help="measured seconds (after the warm-up)")
    ap.add_argument("--warmup-requests", type=int, default=800,
                    help="requests of the mix before 'before' is measured (memory_warmup.py: the plateau)")
    ap.add_argument("--max-growth-mib", type=float, default=150, help="fail if RSS grows more than this")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="tp-load-") as tmp:
        server = Server(Path(tmp))
        try:
            server.start()
            job_id = seeded_job(server)
            rss_ready = server.rss()
            _, _, warm_s = drive(server.url, job_id, args.clients, math.inf, args.warmup_requests)
            rss_before = server.rss()
            samples: list[int] = []
            done = threading.Event()

            def sample() -> None:
                while not done.wait(5):
                    samples.append(server.rss())

            sampler = threading.Thread(target=sample, daemon=True)
            sampler.start()
            lat, errors, wall = drive(server.url, job_id, args.clients, args.duration, seed=1)
            done.set()
            rss_after = server.rss()
            alive = server.proc is not None and server.proc.poll() is None
        finally:
            server.stop()
    everything = [x for v in lat.values() for x in v]
    n = len(everything)
    print(f"{args.clients} clients, {wall:.0f} s, {n} requests, {n / wall:.1f} req/s, {len(errors)} errors")
    print("| kind | requests | p50 ms | p95 ms | p99 ms |\n|---|---|---|---|---|")
    for kind, values in [*lat.items(), ("all", everything)]:
        p = percentiles(values)
        print(f"| {kind} | {len(values)} | {p[0]:.0f} | {p[1]:.0f} | {p[2]:.0f} |")
    growth = rss_after - rss_before
    half = samples[len(samples) // 2 - 1] if len(samples) >= 2 else rss_before  # at half the measured time
    peak = max(samples or [rss_after])
    print(f"server RSS: {mib(rss_ready)} ready, {mib(rss_before)} after the "
          f"{args.warmup_requests}-request, {warm_s:.0f} s warm-up "
          f"({(rss_before - rss_ready) / 2**20:+.0f} MiB), {mib(rss_after)} after ({growth / 2**20:+.0f} MiB over "
          f"{wall:.0f} s: {(half - rss_before) / 2**20:+.0f} in the first half, {(rss_after - half) / 2**20:+.0f} in "
          f"the second), peak {mib(peak)}; every 30 s: {', '.join(f'{s / 2**20:.0f}' for s in samples[5::6])} MiB")
    for e in errors[:10]:
        print(f"  error: {e}")
    ok = not errors and alive and growth / 2**20 <= args.max_growth_mib
    p = percentiles(everything)
    result_line("load", ok, f"{args.clients} clients x {wall:.0f} s: {n / wall:.1f} req/s, p50/p95/p99 "
                f"{p[0]:.0f}/{p[1]:.0f}/{p[2]:.0f} ms, {len(errors)} errors, RSS {mib(rss_ready)} ready, "
                f"{mib(rss_before)} after {args.warmup_requests} warm-up requests, {mib(rss_after)} at the end "
                f"({growth / 2**20:+.0f} MiB; "
                f"{(rss_after - half) / 2**20:+.0f} MiB in the second half)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
