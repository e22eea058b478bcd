"""A full or read-only disk gives a clear answer (API 507/503, CLI exit 3), never a 500 or a traceback; what was
accepted before stays; a job hit by it is re-queued (not failed) and later finishes with every row once.
Graceful shutdown hands a job's lease back even when its chunk outlasts the stop timeout."""

from __future__ import annotations

import errno
import sqlite3
import threading
from pathlib import Path

import pytest
from sqlalchemy.exc import OperationalError

from batch_helpers import CountingPipeline, read_frame, sample_frame, write_frame
from service.batch import worker as worker_module
from service.batch.cli import run_score
from service.batch.columns import ColumnMapping
from service.batch.ingest import ingest_file
from service.batch.worker import JobWorker
from service.cli import build_parser
from service.storage import Repository, make_engine
from service.storage.faults import storage_fault


def _db_full() -> OperationalError:
    return OperationalError("INSERT INTO tp_dataset_rows ...", {}, sqlite3.OperationalError("database or disk is full"))


@pytest.mark.parametrize(("exc", "kind", "status"), [
    (_db_full(), "disk_full", 507),
    (sqlite3.OperationalError("database or disk is full"), "disk_full", 507),
    (OperationalError("UPDATE", {}, sqlite3.OperationalError("attempt to write a readonly database")), "read_only", 503),
    (OSError(errno.ENOSPC, "No space left on device"), "disk_full", 507),
    (OSError(errno.EROFS, "Read-only file system"), "read_only", 503),
    (OSError("IOError: [Errno 28] No space left on device"), "disk_full", 507),  # pyarrow's shape: no errno
])
def test_storage_faults_are_recognised(exc, kind, status):
    fault = storage_fault(exc)
    assert fault is not None and (fault.kind, fault.status) == (kind, status)


@pytest.mark.parametrize("exc", [ValueError("database or disk is full"), OSError(errno.ENOENT, "missing"),
                                 OperationalError("SELECT", {}, sqlite3.OperationalError("no such table: x"))])
def test_other_errors_are_not_storage_faults(exc):
    assert storage_fault(exc) is None


def _upload(client, name: str = "in.csv"):
    return client.post("/v1/datasets", files={"file": (name, b"id,text\n1,Bra service\n2,Hyva palvelu\n", "text/csv")})


def test_full_disk_during_upload_is_507_and_keeps_earlier_datasets(client, monkeypatch):
    before = _upload(client)
    assert before.status_code == 201

    def full(self, *args, **kwargs):
        raise _db_full()

    monkeypatch.setattr(Repository, "add_rows", full)
    r = _upload(client)
    assert r.status_code == 507
    assert r.json()["error"] == "insufficient_storage"
    assert "disk is full" in r.json()["detail"] and "nothing from this request was stored" in r.json()["detail"]
    assert r.headers["retry-after"] == "60"
    monkeypatch.undo()
    assert client.get(f"/v1/datasets/{before.json()['id']}").status_code == 200  # accepted before: still there
    assert _upload(client).status_code == 201  # space is back: works again, no restart


def test_read_only_upload_dir_is_503(client, monkeypatch):
    from service.api import routes_jobs

    def read_only(*args, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(routes_jobs.tempfile, "NamedTemporaryFile", read_only)
    r = _upload(client)
    assert r.status_code == 503 and r.json()["error"] == "storage_read_only"


def _job(repo: Repository, tmp_path: Path, n: int) -> str:
    src = write_frame(sample_frame(n_good=n), tmp_path / "in.csv")
    ds = ingest_file(repo, src, "csv", ColumnMapping(), name="in.csv", chunk_rows=500)
    return repo.create_job(ds.id, {"chunk_rows": 2}).id


def _assert_every_row_once(repo: Repository, job_id: str) -> None:
    job = repo.get_job(job_id)
    assert job.status == "completed", job.message
    rows = [r for batch in repo.iter_export(job_id, job.dataset_id) for r in batch]
    assert [r.row_idx for r in rows] == list(range(job.total_rows))
    assert all(r.result is not None for r in rows)
    assert repo.count_results(job_id) == job.total_rows


def test_job_hit_by_a_full_disk_is_requeued_not_failed(client, settings, tmp_path: Path, monkeypatch):
    monkeypatch.setattr(worker_module, "_STORAGE_FAULT_BACKOFF_S", 0.0)
    repo = Repository(make_engine(f"sqlite:///{tmp_path / 'w.db'}"))
    job_id = _job(repo, tmp_path, n=4)  # 6 rows, chunks of 2
    real_save = Repository.save_chunk
    calls = {"n": 0}

    def full_on_second_chunk(self, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise _db_full()
        return real_save(self, *args, **kwargs)

    monkeypatch.setattr(Repository, "save_chunk", full_on_second_chunk)
    worker = JobWorker(repo, lambda: client.app.state.pipeline, settings)
    assert worker.run_one(job_id) is False
    job = repo.get_job(job_id)
    assert job.status in ("pending", "running") and job.lease_owner is None  # back in the queue
    assert job.rows_done == 2 and job.attempts == 0  # the first chunk kept; the fault not counted as an attempt
    assert worker.run_one(job_id) is True
    _assert_every_row_once(repo, job_id)
    repo.engine.dispose()


class _BlockingPipeline(CountingPipeline):
    """Blocks inside its first chunk until released: a chunk that outlasts the shutdown timeout."""

    def __init__(self, inner) -> None:
        super().__init__(inner)
        self.entered, self.release = threading.Event(), threading.Event()

    def analyze_with_inputs(self, comments, reasons=None, **options):
        if self.calls == 0:
            self.entered.set()
            self.release.wait(30)
        return super().analyze_with_inputs(comments, reasons, **options)


def test_shutdown_releases_the_lease_of_a_chunk_that_outlasts_it(client, settings, tmp_path: Path):
    repo = Repository(make_engine(f"sqlite:///{tmp_path / 'g.db'}"))
    job_id = _job(repo, tmp_path, n=4)
    slow = _BlockingPipeline(client.app.state.pipeline)
    worker = JobWorker(repo, lambda: slow, settings)
    worker.start()
    assert slow.entered.wait(30)
    worker.stop(timeout=0.2)  # the chunk is still running
    job = repo.get_job(job_id)
    assert job.lease_owner is None and job.rows_done == 0  # handed back: a restart resumes at once
    slow.release.set()
    worker._thread.join(30)  # the late chunk cannot commit without the lease
    assert repo.count_results(job_id) == 0
    again = JobWorker(repo, lambda: client.app.state.pipeline, settings)
    assert again.run_one(job_id) is True
    _assert_every_row_once(repo, job_id)
    repo.engine.dispose()


def _score(pipeline, settings, *argv: str) -> int:
    return run_score(build_parser().parse_args(["score", *argv, "--no-progress", "--chunk-rows", "2", "--no-report"]),
                     pipeline=pipeline, settings=settings)


def test_cli_full_disk_exits_3_with_a_reason_and_resumes(client, settings, tmp_path: Path, monkeypatch, capsys):
    from service.batch import cli

    df = sample_frame(n_good=4)
    src = write_frame(df, tmp_path / "in.csv")
    out = tmp_path / "out.csv"

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device", str(out))

    monkeypatch.setattr(cli, "write_output", full)
    assert _score(client.app.state.pipeline, settings, str(src), "-o", str(out)) == 3
    err = capsys.readouterr().err
    assert "disk is full" in err and "run the same command to resume" in err and "Traceback" not in err
    assert Path(f"{out}.tpstate.db").exists()  # the scored chunks are kept
    monkeypatch.undo()
    again = CountingPipeline(client.app.state.pipeline)
    assert _score(again, settings, str(src), "-o", str(out)) == 0
    assert again.calls == 0  # nothing rescored: only the output was missing
    assert list(read_frame(out)["id"]) == list(df["id"])
