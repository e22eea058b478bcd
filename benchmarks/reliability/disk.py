"""Disk faults: the service's database and upload folder on a small tmpfs that is filled up, then made
read-only; ``touchpoints score`` writing onto it. Every answer must be a success or a clear
507/503 with a reason (never a 500), the process must stay up, a job hit by the full disk must be
re-queued (not failed), and once space is back everything accepted before finishes with every row
exactly once.

    python benchmarks/reliability/disk.py [--rows 600]

Needs root (it mounts a tmpfs); elsewhere it reports SKIP with the reason. The fault paths also have
fast unit tests (tests/test_storage_faults.py).
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import errno
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from benchmarks.reliability.harness import (  # noqa: E402
    REPO_ROOT, Server, exactly_once, result_ids, result_line, survey_comments, upload_job, wait_job,
    write_comments_csv,
)

MOUNT_MIB = 48


class MountUnavailable(Exception):
    """No tmpfs here (not root, or a container without CAP_SYS_ADMIN): the check is skipped."""


@contextlib.contextmanager
def tmpfs(path: Path, mib: int) -> Iterator[Path]:
    path.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={mib}m", "tmpfs", str(path)], capture_output=True)
    if mounted.returncode != 0:
        raise MountUnavailable(mounted.stderr.decode(errors="replace").strip())
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False, capture_output=True)


def remount(path: Path, mode: str) -> None:
    subprocess.run(["mount", "-o", f"remount,{mode}", str(path)], check=True, capture_output=True)


def fill(path: Path) -> Path:
    """Write a filler file until the file system is full; the filler (delete it to free the space)."""
    filler = path / "filler.bin"
    with open(filler, "wb", buffering=0) as f:  # unbuffered: nothing left to flush (and fail) at close
        for size in (1 << 20, 4096, 1):
            try:
                while True:
                    f.write(b"\0" * size)
            except OSError as exc:
                if exc.errno != errno.ENOSPC:
                    raise
    return filler


class Probe:
    """Sends the fault-time requests and tallies their answers: 2xx, or a clear 507/503 with an error code."""

    def __init__(self, client: httpx.Client) -> None:
        self.c = client
        self.answers: list[tuple[str, int, str]] = []
        self.bad: list[str] = []

    def send(self, label: str, method: str, url: str, **kw: object) -> httpx.Response:
        r = self.c.request(method, url, **kw)
        code = ""
        if r.status_code >= 400:
            try:
                body = r.json()
                code = (f"{body['error']}: {str(body.get('detail'))[:90]}" if "error" in body
                        else f"not_ready: {body.get('not_ready')}")  # /readyz names what is not ready
            except ValueError:
                code = r.text[:90]
        ok = r.status_code < 300 or (r.status_code in (503, 507) and code and "internal" not in code)
        self.answers.append((label, r.status_code, code))
        if not ok:
            self.bad.append(f"{label} -> {r.status_code} {code}")
        print(f"  {label:<28} {r.status_code} {code}", flush=True)
        return r

    def round(self, job_id: str, csv_path: Path) -> None:
        comments = [{"id": str(i), "text": t} for i, (_, t) in enumerate(survey_comments()[:6])]
        self.send("analyze", "POST", "/v1/comments/analyze", json={"comments": comments[:2]})
        with open(csv_path, "rb") as f:
            self.send("upload dataset", "POST", "/v1/datasets", files={"file": ("more.csv", f, "text/csv")})
        self.send("themes cluster (stores)", "POST", "/v2/themes/cluster", json={"comments": comments})
        self.send("job status", "GET", f"/v1/jobs/{job_id}")
        self.send("job results (spools)", "GET", f"/v1/jobs/{job_id}/results")
        self.send("readyz", "GET", "/readyz")


def api_faults(work: Path, rows: int) -> tuple[bool, str]:
    mnt = work / "mnt"
    with tmpfs(mnt, MOUNT_MIB):
        server = Server(work / "server", storage=mnt, env={"TOUCHPOINTS_BATCH_CHUNK_ROWS": "50"})
        try:
            server.start()
            small, big = work / "small.csv", work / "big.csv"
            small_ids = write_comments_csv(small, 40)
            big_ids = write_comments_csv(big, rows)
            with server.client() as c:
                done_job = upload_job(c, small)
                assert wait_job(c, done_job["id"])["status"] == "completed"
                running = upload_job(c, big)
                wait_job(c, running["id"], until="rows", min_rows=100)
                filler = fill(mnt)
                print(f"disk full (tmpfs {MOUNT_MIB} MiB) while job {running['id'][:8]} runs:", flush=True)
                probe = Probe(c)
                probe.round(done_job["id"], small)
                time.sleep(3)  # the worker meets the full disk at its next chunk commit
                during = c.get(f"/v1/jobs/{running['id']}").json()
                print(f"  running job during the fault: {during['status']} {during['rows_done']}/{rows} rows", flush=True)
                filler.unlink()
                print("space back:", flush=True)
                final = wait_job(c, running["id"], timeout=900)
                ok_big, account = exactly_once(big_ids, result_ids(c, running["id"])[0])
                print(f"  job hit by the full disk: {final['status']} (attempts {final['attempts']}); {account}",
                      flush=True)
            alive = server.proc is not None and server.proc.poll() is None
            # Read-only: a mount cannot turn read-only under an open database, so the service restarts onto it.
            server.terminate()
            remount(mnt, "ro")
            server.start(wait_ready=False)
            server.wait_ready(path="/healthz")
            print("read-only (service restarted onto it):", flush=True)
            with server.client() as c:
                probe.c = c
                probe.round(done_job["id"], small)
            alive = alive and server.proc is not None and server.proc.poll() is None
            server.terminate()
            remount(mnt, "rw")
            server.start()
            print("writable again:", flush=True)
            with server.client() as c:
                ok_small, account_small = exactly_once(small_ids, result_ids(c, done_job["id"])[0])
                after = c.post("/v1/datasets", files={"file": ("after.csv", small.read_bytes(), "text/csv")})
            print(f"  job finished before the faults: {account_small}; upload: {after.status_code}", flush=True)
            codes = sorted({s for _, s, _ in probe.answers})
            ok = (not probe.bad and alive and final["status"] == "completed" and ok_big and ok_small
                  and after.status_code == 201 and any(s in (503, 507) for s in codes))
            summary = (f"{len(probe.answers)} requests under a full or read-only disk answered {codes}, never a 500"
                       if not probe.bad else f"bad answers: {probe.bad}")
            return ok, f"{summary}; the job hit by the full disk {final['status']}: {account}"
        finally:
            server.stop()


def cli_faults(work: Path) -> tuple[bool, str]:
    mnt = work / "cli-mnt"
    src = work / "cli.csv"
    ids = write_comments_csv(src, 60)
    env = {**os.environ, "TOUCHPOINTS_DATABASE_URL": f"sqlite:///{work / 'unused.db'}"}
    outcomes = []
    with tmpfs(mnt, 8):
        out = mnt / "scored.csv"
        cmd = [sys.executable, "-m", "service", "score", str(src), "-o", str(out), "--no-progress", "--no-report"]
        for label, prepare in (("full", fill), ("read-only", lambda p: remount(p, "ro"))):
            extra = prepare(mnt)
            r = subprocess.run(cmd, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=600)
            msg = (r.stderr.strip().splitlines() or [""])[-1]
            clean = r.returncode == 3 and "Traceback" not in r.stderr
            outcomes.append((label, r.returncode, clean))
            print(f"cli on a {label} disk: exit {r.returncode}: {msg[:160]!r}", flush=True)
            if isinstance(extra, Path):
                extra.unlink()
            else:
                remount(mnt, "rw")
        r = subprocess.run(cmd, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=600)
        with open(out, encoding="utf-8", newline="") as f:
            ok_rows, account = exactly_once(ids, [row["id"] for row in csv.DictReader(f)]) if r.returncode == 0 \
                else (False, f"rerun exit {r.returncode}")
    print(f"cli with space back: exit {r.returncode}; {account}", flush=True)
    ok = all(clean for _, _, clean in outcomes) and r.returncode == 0 and ok_rows
    return ok, "; ".join(f"{label} disk: exit {rc}" for label, rc, _ in outcomes) + f"; then exit 0: {account}"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=600, help="rows of the job that meets the full disk")
    args = ap.parse_args()
    if os.geteuid() != 0:
        result_line("disk", None, "needs root to mount a small tmpfs (run as root, or see tests/test_storage_faults.py)")
        return 0
    with tempfile.TemporaryDirectory(prefix="tp-disk-") as tmp:
        work = Path(tmp)
        try:
            api_ok, api_summary = api_faults(work, args.rows)
            cli_ok, cli_summary = cli_faults(work)
        except MountUnavailable as exc:
            result_line("disk", None, f"could not mount a tmpfs: {exc}")
            return 0
    ok = api_ok and cli_ok
    result_line("disk", ok, f"API: {api_summary} | CLI: {cli_summary}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
