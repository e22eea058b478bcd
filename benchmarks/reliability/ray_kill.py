"""kill -9 of a Ray worker, and of the driver, during ``touchpoints score --engine ray``: every input row
is in the output exactly once (issue #11).

    python benchmarks/reliability/ray_kill.py [--rows 1200] [--block-rows 100]

Worker: with two scoring actors in Ray local mode, SIGKILLs one actor process once the first block is
committed; Ray restarts the actor and retries its block, and the run must finish by itself. Driver:
SIGKILLs the whole ``touchpoints score`` process group (driver and local Ray) once a block is
committed, runs the same command again and checks that it resumed and that the output is complete.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from benchmarks.reliability.harness import REPO_ROOT, exactly_once, result_line, write_comments_csv  # noqa: E402


def _command(src: Path, out: Path, block_rows: int) -> list[str]:
    return [sys.executable, "-m", "service", "score", str(src), "-o", str(out), "--engine", "ray", "--workers", "2",
            "--block-rows", str(block_rows), "--no-report", "--no-progress"]


def _committed(out: Path) -> int:
    parts = Path(f"{out}.tpray") / "parts"
    return len([p for p in parts.glob("block-*.parquet") if not p.name.endswith(".units.parquet")]) if parts.exists() else 0


def _wait_committed(proc: subprocess.Popen, out: Path, n: int, timeout: float = 900) -> bool:
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if proc.poll() is not None:
            return False
        if _committed(out) >= n:
            return True
        time.sleep(0.5)
    return False


def _scorer_actors(root: int) -> list[psutil.Process]:
    procs = [psutil.Process(root), *psutil.Process(root).children(recursive=True)]
    return [p for p in procs if "BlockWorker" in " ".join(p.cmdline() or [])]


def _ids(out: Path) -> list[str]:
    import pandas as pd  # noqa: PLC0415

    return [str(x) for x in pd.read_parquet(out, columns=["id"])["id"]]


def _start(work: Path, name: str, rows: int, block_rows: int) -> tuple[Path, Path, list[str], subprocess.Popen]:
    """A comments CSV and ``touchpoints score --engine ray`` on it in its own process group."""
    src, out = work / f"{name}.csv", work / f"{name}.parquet"
    ids = write_comments_csv(src, rows)
    proc = subprocess.Popen(_command(src, out, block_rows), cwd=REPO_ROOT, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    return src, out, ids, proc


def worker_kill(work: Path, rows: int, block_rows: int) -> tuple[bool, str]:
    _, out, ids, proc = _start(work, "w", rows, block_rows)
    if not _wait_committed(proc, out, 1):
        return False, f"no block committed before the run ended (exit {proc.poll()})"
    actors = _scorer_actors(proc.pid)
    if not actors:
        os.killpg(proc.pid, signal.SIGKILL)
        return False, "no scoring actor process found"
    victim = actors[0]
    at = _committed(out)
    victim.kill()
    print(f"worker: kill -9 of actor pid {victim.pid} with {at} of {-(-rows // block_rows)} blocks committed", flush=True)
    err = proc.communicate(timeout=1800)[1]
    if proc.returncode != 0:
        return False, f"run failed after the kill (exit {proc.returncode}): {err.strip().splitlines()[-1:]}"
    ok, account = exactly_once(ids, _ids(out))
    return ok, f"worker killed mid-run: {account}"


def driver_kill(work: Path, rows: int, block_rows: int) -> tuple[bool, str]:
    src, out, ids, proc = _start(work, "d", rows, block_rows)
    if not _wait_committed(proc, out, 2):
        return False, f"fewer than 2 blocks committed before the run ended (exit {proc.poll()})"
    os.killpg(proc.pid, signal.SIGKILL)  # the driver and the Ray processes it started
    proc.wait()
    at = _committed(out)
    print(f"driver: kill -9 with {at} blocks committed", flush=True)
    again = subprocess.run(_command(src, out, block_rows), cwd=REPO_ROOT, capture_output=True, text=True, timeout=1800)
    if again.returncode != 0:
        return False, f"rerun failed (exit {again.returncode}): {again.stderr.strip().splitlines()[-1:]}"
    resumed = "already scored" in again.stderr
    ok, account = exactly_once(ids, _ids(out))
    return ok and resumed, f"driver killed, rerun {'resumed' if resumed else 'did NOT resume'}: {account}"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=1200)
    ap.add_argument("--block-rows", type=int, default=100)
    args = ap.parse_args()
    try:
        import ray  # noqa: F401, PLC0415
    except ImportError:
        result_line("ray_kill", None, "Ray is not installed (pip install '.[ray]')")
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        results = [worker_kill(work, args.rows, args.block_rows), driver_kill(work, args.rows, args.block_rows)]
    ok = all(r[0] for r in results)
    result_line("ray_kill", ok, "; ".join(r[1] for r in results))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
