"""What every reliability script shares: a real service process on a free loopback port with its own
temporary SQLite database, realistic survey comments from ``tests/data``, and small result helpers.

Each script starts its own server (``Server``) so that a kill -9 or a full disk in one cannot affect
another, and stops it in a ``finally``.
"""

from __future__ import annotations

import csv
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psutil

REPO_ROOT = Path(__file__).resolve().parents[2]
DATA = REPO_ROOT / "tests" / "data"
READY_TIMEOUT_S = 300.0  # the first start on a machine exports the ONNX graphs


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def survey_comments() -> list[tuple[str, str]]:
    """(language, text) of the hand-written parallel sv/da/fi/en survey comments shipped with the tests."""
    out: list[tuple[str, str]] = []
    for name in ("themes_parallel.tsv", "themes_parallel_holdout.tsv"):
        with open(DATA / name, encoding="utf-8", newline="") as f:
            out += [(r["lang"], r["text"]) for r in csv.DictReader(f, delimiter="\t")]
    return out


def write_comments_csv(path: Path, n: int) -> list[str]:
    """A CSV of ``n`` comments with unique ids (``r000001`` …), cycling through the survey comments; the ids."""
    texts = survey_comments()
    ids = [f"r{i:06d}" for i in range(1, n + 1)]
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["id", "text", "nps"])
        for i, cid in enumerate(ids):
            w.writerow([cid, texts[i % len(texts)][1], i % 11])
    return ids


@dataclass
class Server:
    """``touchpoints serve`` in a subprocess: database, uploads and log under ``workdir``."""

    workdir: Path
    env: dict[str, str] = field(default_factory=dict)
    storage: Path | None = None  # where the database and uploads live (default: workdir)
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen | None = None
    starts: int = 0
    entry: str = "service"  # the module run with ``-m``: ``service``, or ``probe_server.py``'s wrapper of it

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def database(self) -> Path:
        return (self.storage or self.workdir) / "service.db"

    def start(self, wait_ready: bool = True) -> Server:
        self.workdir.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "TOUCHPOINTS_DATABASE_URL": f"sqlite:///{self.database}",
               "TOUCHPOINTS_UPLOAD_DIR": str(self.storage or self.workdir), **self.env}
        self.starts += 1
        log = open(self.workdir / f"server-{self.starts}.log", "wb")  # noqa: SIM115 - the child holds it
        self.proc = subprocess.Popen(
            [sys.executable, "-m", self.entry, "serve", "--host", "127.0.0.1", "--port", str(self.port),
             "--log-level", "warning"], cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        if wait_ready:
            self.wait_ready()
        return self

    def wait_ready(self, timeout: float = READY_TIMEOUT_S, path: str = "/readyz") -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is None or self.proc.poll() is not None:
                raise RuntimeError(f"server exited during start-up; see {self.log_tail()}")
            try:
                if httpx.get(self.url + path, timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        raise RuntimeError(f"server not ready within {timeout:.0f} s")

    def client(self, timeout: float = 120.0) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=timeout)

    def rss(self) -> int:
        """Resident set size of the server process in bytes."""
        assert self.proc is not None
        return psutil.Process(self.proc.pid).memory_info().rss

    def kill9(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(30)

    def terminate(self, timeout: float = 60.0) -> int:
        """SIGTERM (a graceful shutdown); the exit status. Killed if it does not exit within ``timeout``."""
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(30)
        return int(self.proc.returncode)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.terminate()

    def log_tail(self, n: int = 4000) -> str:
        path = self.workdir / f"server-{self.starts}.log"
        return path.read_text(errors="replace")[-n:] if path.exists() else "(no log)"

    def __enter__(self) -> Server:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def percentiles(values: list[float], qs: tuple[float, ...] = (50, 95, 99)) -> list[float]:
    """Nearest-rank percentiles (no numpy needed for a handful of numbers)."""
    s = sorted(values)
    if not s:
        return [float("nan")] * len(qs)
    return [s[min(len(s) - 1, max(0, round(q / 100 * len(s) + 0.5) - 1))] for q in qs]


def mib(n_bytes: float) -> str:
    return f"{n_bytes / 2**20:.0f} MiB"


# -- the jobs API, as the scripts use it ---------------------------------------------------------
def upload_job(client: httpx.Client, csv_path: Path) -> dict:
    """POST the CSV to /v1/jobs/upload; the job (202)."""
    with open(csv_path, "rb") as f:
        r = client.post("/v1/jobs/upload", files={"file": (csv_path.name, f, "text/csv")},
                        data={"metadata_columns": "score=nps"})
    if r.status_code != 202:
        raise RuntimeError(f"upload answered {r.status_code}: {r.text[:300]}")
    return r.json()


def wait_job(client: httpx.Client, job_id: str, until: str = "finished", timeout: float = 900.0,
             min_rows: int = 0) -> dict:
    """Poll the job until it is completed/failed (``until="finished"``) or has ``min_rows`` done."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            job = client.get(f"/v1/jobs/{job_id}").json()
        except httpx.HTTPError:
            job = None
        if job is not None:
            if until == "finished" and job["status"] in ("completed", "failed"):
                return job
            if until == "rows" and (job["rows_done"] >= min_rows or job["status"] in ("completed", "failed")):
                return job
        time.sleep(0.25)
    raise TimeoutError(f"job {job_id} not {until} within {timeout:.0f} s")


def result_ids(client: httpx.Client, job_id: str) -> tuple[list[str], list[str]]:
    """(ids, tp_status values) of a finished job's CSV results, in file order."""
    r = client.get(f"/v1/jobs/{job_id}/results", params={"format": "csv"}, timeout=120)
    r.raise_for_status()
    rows = list(csv.DictReader(r.text.splitlines()))
    return [row["id"] for row in rows], [row["tp_status"] for row in rows]


def exactly_once(expected: list[str], got: list[str]) -> tuple[bool, str]:
    """Every expected id exactly once and nothing else: (ok, a one-line account)."""
    dupes = len(got) - len(set(got))
    missing = len(set(expected) - set(got))
    extra = len(set(got) - set(expected))
    ok = dupes == 0 and missing == 0 and extra == 0 and len(got) == len(expected)
    return ok, f"{len(got)} rows for {len(expected)} inputs: {missing} missing, {dupes} duplicated, {extra} unknown"


def result_line(name: str, ok: bool | None, summary: str) -> None:
    """The one line ``run_all.py`` collects from each script."""
    verdict = "SKIP" if ok is None else ("PASS" if ok else "FAIL")
    print(f"RESULT {name} {verdict} {summary}", flush=True)


def state_rows_done(state: Path) -> int:
    """Rows a ``touchpoints score`` run has committed, read from its state database (0 until it has one)."""
    if not state.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{state}?mode=ro", uri=True, timeout=1) as con:
            row = con.execute("SELECT max(rows_done) FROM tp_jobs").fetchone()
        return int(row[0] or 0)
    except sqlite3.Error:
        return 0


def start_score(work: Path, rows: int, chunk_rows: int) -> tuple[list[str], Path, list[str], dict[str, str], subprocess.Popen]:
    """A CSV of ``rows`` comments and ``touchpoints score`` on it: (ids, output, command, env, process)."""
    src, out = work / "cli.csv", work / "cli.scored.csv"
    ids = write_comments_csv(src, rows)
    cmd = [sys.executable, "-m", "service", "score", str(src), "-o", str(out), "--chunk-rows", str(chunk_rows),
           "--no-progress", "--no-report"]
    env = {**os.environ, "TOUCHPOINTS_DATABASE_URL": f"sqlite:///{work / 'unused.db'}"}
    proc = subprocess.Popen(cmd, cwd=REPO_ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    return ids, out, cmd, env, proc


def wait_score_rows(proc: subprocess.Popen, out: Path, at_least: float, timeout: float = 900) -> int | None:
    """Rows committed once the run of ``start_score`` reached ``at_least``; None if it ended (or timed out) first."""
    state = Path(f"{out}.tpstate.db")
    deadline = time.monotonic() + timeout
    while (done := state_rows_done(state)) < at_least:
        if proc.poll() is not None or time.monotonic() > deadline:
            return None
        time.sleep(0.2)
    return done


def rerun_score(cmd: list[str], env: dict[str, str], out: Path, ids: list[str]) -> tuple[bool, str, str]:
    """The same ``touchpoints score`` again: (every row exactly once, its 'resuming' line, the account or error)."""
    again = subprocess.run(cmd, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=900)
    resumed = next((line for line in again.stderr.splitlines() if line.startswith("resuming")), "no resume line")
    if again.returncode != 0:
        return False, resumed, f"rerun exited {again.returncode}: {again.stderr[-500:]}"
    with open(out, encoding="utf-8", newline="") as f:
        got = [r["id"] for r in csv.DictReader(f)]
    ok, account = exactly_once(ids, got)
    print(f"cli: rerun {resumed!r}; {account}", flush=True)
    return ok, resumed, account

