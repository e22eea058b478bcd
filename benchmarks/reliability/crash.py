"""kill -9 of the service during a job, and of ``touchpoints score`` mid-run; after the restart every
input row is in the results exactly once.

    python benchmarks/reliability/crash.py [--rows 2000] [--cli-rows 1500] [--kill-at 0.4]

API: uploads a CSV of ``--rows`` survey comments as a job (chunks of 200 rows), SIGKILLs the server when
``--kill-at`` of the rows are done, starts it again on the same database (job lease 5 s, so the new
process takes the job over quickly), waits for completion and checks the downloaded ids. CLI: runs
``python -m service score`` on a CSV, SIGKILLs it at the same point (read from its state database),
runs the same command again and checks the output file's ids.
"""

from __future__ import annotations

import argparse
import signal
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from benchmarks.reliability.harness import (  # noqa: E402
    Server, exactly_once, rerun_score, result_ids, result_line, start_score, upload_job, wait_job,
    wait_score_rows, write_comments_csv,
)


def api_crash(work: Path, rows: int, kill_at: float) -> tuple[bool, str]:
    src = work / "api.csv"
    ids = write_comments_csv(src, rows)
    server = Server(work / "api", env={"TOUCHPOINTS_JOB_LEASE_SECONDS": "5", "TOUCHPOINTS_BATCH_CHUNK_ROWS": "200"})
    try:
        server.start()
        with server.client() as c:
            job = upload_job(c, src)
            at_kill = wait_job(c, job["id"], until="rows", min_rows=int(rows * kill_at))["rows_done"]
        server.kill9()
        print(f"api: kill -9 with {at_kill} of {rows} rows done", flush=True)
        t0 = time.monotonic()
        server.start()
        with server.client() as c:
            done = wait_job(c, job["id"])
            got, status = result_ids(c, job["id"])
        took = time.monotonic() - t0
        ok, account = exactly_once(ids, got)
        ok = ok and done["status"] == "completed" and set(status) == {"ok"}
        print(f"api: after restart {done['status']} in {took:.0f} s (attempts {done['attempts']}); {account}", flush=True)
        return ok, f"job killed at {at_kill}/{rows} rows, restarted: {account}"
    finally:
        server.stop()


def cli_crash(work: Path, rows: int, kill_at: float) -> tuple[bool, str]:
    ids, out, cmd, env, proc = start_score(work, rows, chunk_rows=100)
    done = wait_score_rows(proc, out, rows * kill_at)
    if done is None:
        return False, f"the first run ended before the kill (exit {proc.returncode}): {proc.stderr.read()[-500:]}"
    proc.send_signal(signal.SIGKILL)
    proc.wait(30)
    print(f"cli: kill -9 with {done} of {rows} rows committed; output exists: {out.exists()}", flush=True)
    ok, resumed, account = rerun_score(cmd, env, out, ids)
    return ok and resumed.startswith("resuming"), f"score killed at {done}/{rows} rows, rerun ({resumed}): {account}"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=2000, help="rows of the API job")
    ap.add_argument("--cli-rows", type=int, default=1500, help="rows of the CLI run")
    ap.add_argument("--kill-at", type=float, default=0.4, help="share of rows done when the kill comes")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="tp-crash-") as tmp:
        work = Path(tmp)
        api_ok, api_summary = api_crash(work, args.rows, args.kill_at)
        cli_ok, cli_summary = cli_crash(work, args.cli_rows, args.kill_at)
    ok = api_ok and cli_ok
    result_line("crash", ok, f"API: {api_summary} | CLI: {cli_summary}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
