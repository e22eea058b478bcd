"""Re-assign a job's comments after its theme model was edited, in a background thread of the service.

An edit (rename / merge / split, from the web app or ``/v2/themes/models/{id}/...``) changes the stored
model at once; the job's rows (``tp_job_row_themes``) and report then describe the previous revision
until :func:`service.batch.report.rebuild_report` has assigned the stored vectors to the edited model
(a 100k-row job: seconds, not a request's worth of waiting, hence a thread). A job is *stale* when its
report names another revision than the stored model's: pages show that and ask for an update, so an
update lost to a restart, or an edit made through the API, is caught up on the next page view.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from service.batch.report import rebuild_report
from service.storage import Repository
from service.storage.theme_models import ThemeModelStore
from service.themes import ThemeComponents

log = logging.getLogger(__name__)
MAX_ROUNDS = 5  # edits arriving while a job is re-assigned: run again, at most this often in a row


class ThemeUpdater:
    def __init__(self, repo: Repository, store: ThemeModelStore,
                 components: Callable[[str], ThemeComponents | None]) -> None:
        """``components``: a tenant's taxonomy (the shipped one plus its additions), for its jobs."""
        self.repo, self.store, self._components = repo, store, components
        self._cond = threading.Condition()
        self._queue: list[str] = []
        self._busy: str | None = None
        self._again: set[str] = set()  # asked for while being updated: look again afterwards
        self.errors: dict[str, str] = {}  # job id -> why its last update failed
        self._stop = False
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="touchpoints-theme-updates", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        with self._cond:
            self._stop = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout)

    def request(self, job_id: str) -> None:
        """Queue a job for re-assignment (no-op while it is queued already)."""
        with self._cond:
            self.errors.pop(job_id, None)
            if job_id == self._busy:
                self._again.add(job_id)
            elif job_id not in self._queue:
                self._queue.append(job_id)
                self._cond.notify_all()

    def pending(self, job_id: str) -> bool:
        with self._cond:
            return job_id in self._queue or self._busy == job_id

    def wait(self, job_id: str, timeout: float) -> bool:
        """Block until the job is neither queued nor being updated; False on timeout."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while job_id in self._queue or self._busy == job_id:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
        return True

    def _loop(self) -> None:
        while True:
            with self._cond:
                while not self._queue and not self._stop:
                    self._cond.wait()
                if self._stop:
                    return
                job_id = self._busy = self._queue.pop(0)
            try:
                self._update(job_id)
            except Exception as exc:  # shown on the job's pages; the next page view may retry
                log.exception("job %s: re-assignment to the edited theme model failed", job_id)
                with self._cond:
                    self.errors[job_id] = f"{type(exc).__name__}: {exc}"
            finally:
                with self._cond:
                    self._busy = None
                    if job_id in self._again:
                        self._again.discard(job_id)
                        if job_id not in self._queue:
                            self._queue.append(job_id)
                    self._cond.notify_all()

    def _update(self, job_id: str) -> None:
        for _ in range(MAX_ROUNDS):
            job = self.repo.get_job(job_id)
            ds = self.repo.get_dataset(job.dataset_id) if job is not None else None
            if job is None or ds is None:
                return  # deleted meanwhile
            components = self._components(job.tenant)
            if components is None:
                raise RuntimeError("themes are not loaded")
            old = self.repo.get_themes(job_id) or {}
            if old.get("model_id") and old.get("model_revision") == self.repo.theme_model_revision(old["model_id"]):
                return  # already follows the model (asked for twice)
            t0 = time.perf_counter()
            report = rebuild_report(self.repo, self.store, job, ds, components)
            if report is not None:
                log.info("job %s: comments re-assigned to theme model %s (%s) in %.1f s", job_id, report.model_id,
                         report.model_revision, time.perf_counter() - t0)
                return
            log.info("job %s: theme model edited again during re-assignment; running again", job_id)
        raise RuntimeError(f"the theme model kept changing during {MAX_ROUNDS} re-assignments; try again")
