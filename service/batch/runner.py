"""Run one job: score its dataset chunk by chunk from the committed cursor, then build its themes report.

Shared by the CLI and the API worker. Each chunk is committed with the cursor (see
``Repository.save_chunk``), so an interruption anywhere costs at most one chunk of work and
never duplicates or loses a row.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from typing import Literal

from service.batch.columns import ColumnMapping
from service.batch.report import build_report
from service.batch.scoring import score_rows
from service.config import Settings
from service.logsafe import log_exception
from service.pipeline import AnalysisPipeline
from service.storage import Repository
from service.storage.faults import storage_fault
from service.themes import ThemeComponents

log = logging.getLogger(__name__)

Outcome = Literal["completed", "stopped", "lost_lease", "failed"]


def run_job(
    repo: Repository, job_id: str, owner: str, pipeline: AnalysisPipeline, settings: Settings, *,
    stop: threading.Event | None = None, progress: Callable[[int], None] | None = None,
    timings: dict[str, float] | None = None, themes: Callable[[str], ThemeComponents | None] | None = None,
) -> Outcome:
    """Process a job the caller has claimed (holds the lease for) until done, stopped or lease lost.

    ``themes`` gives a tenant's taxonomy (the service's: the shipped one plus the tenant's additions); without
    it the job is mapped to the shipped taxonomy (``touchpoints score``)."""
    job = repo.get_job(job_id)
    ds = repo.get_dataset(job.dataset_id)
    shipped = pipeline.themes.components if pipeline.themes is not None else None
    components = themes(job.tenant) if themes is not None else shipped
    mapping = ColumnMapping.from_dict(json.loads(ds.mapping_json))
    options = json.loads(job.options_json or "{}")
    chunk = int(options.get("chunk_rows") or settings.batch_chunk_rows)
    cursor = job.rows_done
    while cursor < job.total_rows:
        if stop is not None and stop.is_set():
            repo.release(job_id, owner)
            return "stopped"
        rows = repo.read_rows(ds.id, cursor, chunk)
        if not rows or rows[0][0] != cursor:
            msg = f"dataset rows from {cursor + 1} are missing; {cursor} of {job.total_rows} rows finished"
            repo.finish(job_id, "failed", msg, pipeline.components(components), owner=owner)
            return "failed"
        results = score_rows(pipeline, mapping, rows, themes=components)
        if not repo.save_chunk(job_id, owner, cursor, results, settings.job_lease_seconds):
            log.warning("job %s: lease lost at row %d; another worker owns it now", job_id, cursor)
            return "lost_lease"
        cursor += len(rows)
        if progress is not None:
            progress(len(rows))
    message = None
    t0 = time.perf_counter()
    try:
        report = build_report(repo, repo.get_job(job_id), ds, settings, components,
                              heartbeat=lambda: repo.renew_lease(job_id, owner, settings.job_lease_seconds))
        repo.save_themes(job_id, report.model_dump(mode="json"))
        message = report.note
    except Exception as exc:  # the scored rows stand; only the report is missing
        if storage_fault(exc) is not None:  # the disk, not the report: the job is retried whole (see JobWorker)
            raise
        log_exception(log, "job %s: themes report failed", job_id)
        message = f"all rows scored; themes report failed: {exc}"
    if timings is not None:
        timings["themes_report"] = time.perf_counter() - t0
    if not repo.finish(job_id, "completed", message, pipeline.components(components), owner=owner):
        return "lost_lease"
    return "completed"
