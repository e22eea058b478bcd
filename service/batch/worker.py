"""Background worker thread inside the API process: runs pending jobs, resumes interrupted ones.

Jobs are claimed with a lease (see ``Repository.claim``), so several service processes on one
database never score the same job twice, and a job whose process died is taken over once its
lease expires. On a graceful stop the lease is released, so a restart resumes at once.
"""

from __future__ import annotations

import logging
import os
import threading
import uuid
from collections.abc import Callable

from service.batch.runner import run_job
from service.config import Settings
from service.logsafe import log_exception
from service.pipeline import AnalysisPipeline
from service.storage import Repository
from service.storage.faults import storage_fault
from service.themes import ThemeComponents

log = logging.getLogger(__name__)

# An upload still 'ingesting' after this long belongs to a process that died (ingest runs at disk speed).
_ABANDONED_INGEST_S = 6 * 3600
# After a full or read-only disk stopped a job, wait this long before trying again.
_STORAGE_FAULT_BACKOFF_S = 10.0


class JobWorker:
    def __init__(self, repo: Repository, pipeline: Callable[[], AnalysisPipeline], settings: Settings,
                 themes: Callable[[str], ThemeComponents | None] | None = None) -> None:
        """``themes``: a tenant's taxonomy, for its jobs (``run_job``); None maps every job to the shipped one."""
        self.repo = repo
        self._pipeline = pipeline
        self._themes = themes
        self.settings = settings
        self.owner = f"{os.uname().nodename[:20]}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._current: str | None = None  # the job being run now

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="touchpoints-jobs", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        """Finish the current chunk, release the lease, and stop.

        If the chunk does not finish within ``timeout``, its lease is released anyway: the next start
        resumes at once, and the chunk still running here can no longer commit (``save_chunk`` checks the
        lease), so it is scored again there, never twice.
        """
        self._stop.set()
        self._wake.set()
        if self._thread is None:
            return
        self._thread.join(timeout)
        if self._thread.is_alive() and (job_id := self._current) is not None:
            log.warning("job %s: chunk still running after %.0f s of shutdown; lease released", job_id, timeout)
            try:
                self.repo.release(job_id, self.owner)
            except Exception:  # noqa: BLE001 - the lease then expires on its own
                log_exception(log, "job %s: releasing the lease at shutdown failed", job_id)

    def wake(self) -> None:
        """A job was created: look now instead of at the next poll."""
        self._wake.set()

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _loop(self) -> None:
        try:
            if n := self.repo.delete_abandoned_ingests(_ABANDONED_INGEST_S):
                log.info("removed %d uploads abandoned mid-ingest", n)
        except Exception:
            log_exception(log, "job worker: cleanup of abandoned uploads failed")
        while not self._stop.is_set():
            worked = False
            try:
                for job_id in self.repo.claimable_job_ids():
                    if self._stop.is_set():
                        break
                    worked |= self.run_one(job_id)
            except Exception:  # database hiccup: log, wait, retry; never kill the worker
                log_exception(log, "job worker: queue check failed")
            if not worked:
                self._wake.wait(self.settings.job_poll_seconds)
                self._wake.clear()

    def run_one(self, job_id: str) -> bool:
        """Claim and run one job; True if this worker did work on it."""
        job = self.repo.claim(job_id, self.owner, self.settings.job_lease_seconds)
        if job is None:
            return False
        if job.attempts > self.settings.job_max_attempts:
            self.repo.finish(job_id, "failed", f"gave up after {job.attempts - 1} interrupted attempts; "
                             f"{job.rows_done} of {job.total_rows} rows finished (downloadable)", owner=self.owner)
            return True
        if job.rows_done:
            log.info("job %s: resuming at row %d of %d", job_id, job.rows_done, job.total_rows)
        self._current = job_id
        try:
            outcome = run_job(self.repo, job_id, self.owner, self._pipeline(), self.settings, stop=self._stop,
                              themes=self._themes)
        except Exception as exc:
            if (fault := storage_fault(exc)) is not None:
                return self._storage_fault(job_id, fault.kind, exc)
            log_exception(log, "job %s failed", job_id)
            done = self.repo.get_job(job_id)
            self.repo.finish(job_id, "failed", f"{type(exc).__name__}: {exc}; {done.rows_done} of "
                             f"{done.total_rows} rows finished (downloadable)", owner=self.owner)
            return True
        finally:
            self._current = None
        log.info("job %s: %s", job_id, outcome)
        return True

    def _storage_fault(self, job_id: str, kind: str, exc: BaseException) -> bool:
        """A full or read-only disk is the machine's condition, not the job's: the job goes back to the queue
        with what it committed (not marked failed, the attempt not counted) and is retried after a pause."""
        log_exception(log, "job %s: storage fault (%s); job re-queued, retry in %.0f s", job_id, kind,
                      _STORAGE_FAULT_BACKOFF_S, exc=exc, level=logging.WARNING)
        try:
            self.repo.release(job_id, self.owner)
        except Exception:  # noqa: BLE001 - the disk may refuse this write too; the lease then expires
            log_exception(log, "job %s: could not release the lease", job_id, level=logging.WARNING)
        self._stop.wait(_STORAGE_FAULT_BACKOFF_S)
        return False
