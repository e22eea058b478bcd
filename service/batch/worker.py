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

log = logging.getLogger(__name__)

# An upload still 'ingesting' after this long belongs to a process that died (ingest runs at disk speed).
_ABANDONED_INGEST_S = 6 * 3600


class JobWorker:
    def __init__(self, repo: Repository, pipeline: Callable[[], AnalysisPipeline], settings: Settings) -> None:
        self.repo = repo
        self._pipeline = pipeline
        self.settings = settings
        self.owner = f"{os.uname().nodename[:20]}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="touchpoints-jobs", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        """Finish the current chunk, release the lease, and stop."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)

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
        try:
            outcome = run_job(self.repo, job_id, self.owner, self._pipeline(), self.settings, stop=self._stop)
        except Exception as exc:
            log_exception(log, "job %s failed", job_id)
            done = self.repo.get_job(job_id)
            self.repo.finish(job_id, "failed", f"{type(exc).__name__}: {exc}; {done.rows_done} of "
                             f"{done.total_rows} rows finished (downloadable)", owner=self.owner)
            return True
        log.info("job %s: %s", job_id, outcome)
        return True
