"""Graceful shutdown: SIGTERM during a job finishes the running chunk and hands the job back, so the next
start resumes it at once (not after the lease expires) with every row exactly once; SIGTERM during
``touchpoints score`` exits 130 and the same command resumes.

    python benchmarks/reliability/shutdown.py [--rows 1000] [--term-at 0.3]

The server runs with the default 120 s job lease: a restarted server that resumes within seconds
proves the lease was released, not waited out.
"""

from __future__ import annotations

import argparse
import signal
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from benchmarks.reliability.harness import (  # noqa: E402
    Server, exactly_once, rerun_score, result_ids, result_line, start_score, upload_job, wait_job,
    wait_score_rows, write_comments_csv,
)

CHUNK = 100
LEASE_S = 120


def api_sigterm(work: Path, rows: int, term_at: float) -> tuple[bool, str]:
    src = work / "api.csv"
    ids = write_comments_csv(src, rows)
    server = Server(work / "api", env={"TOUCHPOINTS_BATCH_CHUNK_ROWS": str(CHUNK),
                                       "TOUCHPOINTS_JOB_LEASE_SECONDS": str(LEASE_S)})
    try:
        server.start()
        with server.client() as c:
            job = upload_job(c, src)
            at_term = wait_job(c, job["id"], until="rows", min_rows=int(rows * term_at))["rows_done"]
        t0 = time.monotonic()
        rc = server.terminate(timeout=90)
        stop_s = time.monotonic() - t0
        with sqlite3.connect(server.database) as con:
            done, owner, attempts = con.execute("SELECT rows_done, lease_owner, attempts FROM tp_jobs WHERE id = ?",
                                                (job["id"],)).fetchone()
        print(f"api: SIGTERM at {at_term}/{rows} rows; exited {rc} after {stop_s:.1f} s with {done} rows committed, "
              f"lease owner {owner!r}, attempts {attempts}", flush=True)
        released = owner is None and done % CHUNK == 0 and done >= at_term
        server.start()  # returns once ready: models loaded, worker running
        claim_s = _claimed_within(server.database, job["id"], timeout=LEASE_S)
        with server.client() as c:
            final = wait_job(c, job["id"])
            got, status = result_ids(c, job["id"])
        ok, account = exactly_once(ids, got)
        prompt = claim_s is not None and claim_s < LEASE_S / 4  # long before a held lease could have expired
        print(f"api: restarted; job claimed {claim_s if claim_s is None else round(claim_s, 1)} s after ready "
              f"(a held lease would block it for up to {LEASE_S} s); {final['status']}; {account}", flush=True)
        ok = ok and released and prompt and final["status"] == "completed" and set(status) == {"ok"}
        return ok, (f"SIGTERM at {at_term}/{rows}: stopped in {stop_s:.1f} s with {done} rows committed and the lease "
                    f"released; job claimed {claim_s if claim_s is None else round(claim_s, 1)} s after the restart was ready; "
                    f"{account}")
    finally:
        server.stop()


def _claimed_within(database: Path, job_id: str, timeout: float) -> float | None:
    """Seconds until a worker holds the job's lease again (None if not within ``timeout``)."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        with sqlite3.connect(database, timeout=5) as con:
            owner, status = con.execute("SELECT lease_owner, status FROM tp_jobs WHERE id = ?", (job_id,)).fetchone()
        if owner is not None or status == "completed":
            return time.monotonic() - t0
        time.sleep(0.1)
    return None


def cli_sigterm(work: Path, rows: int, term_at: float) -> tuple[bool, str]:
    ids, out, cmd, env, proc = start_score(work, rows, chunk_rows=CHUNK)
    done = wait_score_rows(proc, out, rows * term_at)
    if done is None:
        return False, f"the first run ended before SIGTERM (exit {proc.returncode})"
    proc.send_signal(signal.SIGTERM)
    rc = proc.wait(120)
    said = proc.stderr.read().strip().splitlines()[-1:] or ["(nothing)"]
    print(f"cli: SIGTERM at {done}/{rows} rows; exit {rc}: {said[0]!r}", flush=True)
    ok, resumed, account = rerun_score(cmd, env, out, ids)
    return ok and rc == 130, f"score SIGTERM'd at {done}/{rows}: exit {rc}; rerun ({resumed}): {account}"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=1000)
    ap.add_argument("--term-at", type=float, default=0.3, help="share of rows done when SIGTERM comes")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="tp-shutdown-") as tmp:
        work = Path(tmp)
        api_ok, api_summary = api_sigterm(work, args.rows, args.term_at)
        cli_ok, cli_summary = cli_sigterm(work, args.rows // 2, args.term_at)
    ok = api_ok and cli_ok
    result_line("shutdown", ok, f"API: {api_summary} | CLI: {cli_summary}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
