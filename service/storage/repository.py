"""All reads and writes of batch-scoring state, in short explicit transactions.

Exactly-once scoring rests on :meth:`Repository.save_chunk`: a chunk's result rows and the
job's cursor (``rows_done``) are committed in one transaction, and only if the caller still
holds the job's lease and the cursor is where it expected. A crash before the commit loses
the chunk's work (it is redone on resume); a crash after it loses nothing.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, and_, delete, func, or_, select, update
from sqlalchemy.orm import Session

from service.storage.models import Dataset, DatasetRow, Job, JobResult, JobUnits, ThemesReportRow, utcnow

ACTIVE = ("pending", "running")
FINISHED = ("completed", "failed")


@dataclass(frozen=True)
class ExportRow:
    """A dataset row joined with its result (``result`` is None while the row is not scored)."""

    row_idx: int
    record: dict[str, Any]
    problem: str | None
    result: dict[str, Any] | None
    units: tuple[str, bytes] | None = None  # (units_json, fp16 vectors) when asked for and stored


class _LeaseLost(Exception):
    """Raised inside a transaction to roll it back when the job is no longer ours."""


def new_id() -> str:
    return uuid.uuid4().hex


def dumps(obj: Any) -> str:
    """JSON for storage; ``ensure_ascii`` keeps lone surrogates (broken input bytes) storable."""
    return json.dumps(obj, ensure_ascii=True, default=str, separators=(",", ":"))


_RESULT_FIELDS = (
    "comment_id", "status", "error", "language", "language_confidence", "sentiment", "sentiment_score",
    "p_negative", "p_neutral", "p_positive", "themes_json",
)


class Repository:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def _session(self) -> Session:
        return Session(self.engine, expire_on_commit=False)

    # -- datasets -----------------------------------------------------------------------
    def create_dataset(self, name: str, fmt: str, mapping: dict[str, Any], fingerprint: str | None = None) -> Dataset:
        ds = Dataset(id=new_id(), name=name[:500], format=fmt, status="ingesting",
                     mapping_json=dumps(mapping), fingerprint=fingerprint)
        with self._session() as s, s.begin():
            s.add(ds)
        return ds

    def add_rows(self, dataset_id: str, rows: Sequence[tuple[int, dict[str, Any], str | None]]) -> None:
        if not rows:
            return
        payload = [{"dataset_id": dataset_id, "row_idx": i, "record_json": dumps(rec), "problem": prob}
                   for i, rec, prob in rows]
        with self._session() as s, s.begin():
            s.execute(DatasetRow.__table__.insert(), payload)

    def finish_dataset(self, dataset_id: str, n_rows: int, n_problems: int, columns: list[list[str]],
                       mapping: dict[str, Any]) -> None:
        with self._session() as s, s.begin():
            s.execute(update(Dataset).where(Dataset.id == dataset_id).values(
                status="ready", n_rows=n_rows, n_problems=n_problems, columns_json=dumps(columns),
                mapping_json=dumps(mapping)))

    def get_dataset(self, dataset_id: str) -> Dataset | None:
        with self._session() as s:
            return s.get(Dataset, dataset_id)

    def all_datasets(self) -> list[Dataset]:
        with self._session() as s:
            return list(s.scalars(select(Dataset).order_by(Dataset.created_at)))

    def delete_dataset(self, dataset_id: str) -> None:
        """Delete a dataset and everything derived from it (explicitly: SQLite may lack FK cascades)."""
        with self._session() as s, s.begin():
            job_ids = list(s.scalars(select(Job.id).where(Job.dataset_id == dataset_id)))
            if job_ids:
                s.execute(delete(JobResult).where(JobResult.job_id.in_(job_ids)))
                s.execute(delete(JobUnits).where(JobUnits.job_id.in_(job_ids)))
                s.execute(delete(ThemesReportRow).where(ThemesReportRow.job_id.in_(job_ids)))
                s.execute(delete(Job).where(Job.id.in_(job_ids)))
            s.execute(delete(DatasetRow).where(DatasetRow.dataset_id == dataset_id))
            s.execute(delete(Dataset).where(Dataset.id == dataset_id))

    def delete_abandoned_ingests(self, older_than_s: float) -> int:
        """Datasets stuck in 'ingesting' (the process died mid-upload; the upload was never accepted)."""
        cutoff = utcnow() - timedelta(seconds=older_than_s)
        with self._session() as s:
            ids = list(s.scalars(select(Dataset.id).where(Dataset.status == "ingesting", Dataset.created_at < cutoff)))
        for dataset_id in ids:
            self.delete_dataset(dataset_id)
        return len(ids)

    def read_rows(self, dataset_id: str, start: int, limit: int) -> list[tuple[int, dict[str, Any], str | None]]:
        with self._session() as s:
            rows = s.execute(
                select(DatasetRow.row_idx, DatasetRow.record_json, DatasetRow.problem)
                .where(DatasetRow.dataset_id == dataset_id, DatasetRow.row_idx >= start)
                .order_by(DatasetRow.row_idx).limit(limit)
            ).all()
        return [(r.row_idx, json.loads(r.record_json), r.problem) for r in rows]

    # -- jobs ---------------------------------------------------------------------------
    def create_job(self, dataset_id: str, options: dict[str, Any] | None = None) -> Job:
        with self._session() as s, s.begin():
            ds = s.get(Dataset, dataset_id)
            if ds is None or ds.status != "ready":
                raise LookupError(f"dataset {dataset_id} does not exist or is not fully ingested")
            job = Job(id=new_id(), dataset_id=dataset_id, status="pending", total_rows=ds.n_rows,
                      options_json=dumps(options or {}))
            s.add(job)
        return job

    def get_job(self, job_id: str) -> Job | None:
        with self._session() as s:
            return s.get(Job, job_id)

    def jobs_of_dataset(self, dataset_id: str) -> list[Job]:
        with self._session() as s:
            return list(s.scalars(select(Job).where(Job.dataset_id == dataset_id).order_by(Job.created_at)))

    def claimable_job_ids(self, limit: int = 10) -> list[str]:
        now = utcnow()
        with self._session() as s:
            return list(s.scalars(
                select(Job.id).where(Job.status.in_(ACTIVE),
                                     or_(Job.lease_until.is_(None), Job.lease_until < now))
                .order_by(Job.created_at).limit(limit)))

    def claim(self, job_id: str, owner: str, lease_seconds: float, force: bool = False) -> Job | None:
        """Take the job's lease if it is free or expired (atomic conditional UPDATE); None if someone else has it.

        ``force`` ignores a live lease: for the CLI, whose state file has a single user and whose
        previous run may have been killed while holding the lease.
        """
        now = utcnow()
        cond = [Job.id == job_id, Job.status.in_(ACTIVE)]
        if not force:
            cond.append(or_(Job.lease_until.is_(None), Job.lease_until < now, Job.lease_owner == owner))
        with self._session() as s, s.begin():
            res = s.execute(
                update(Job).where(*cond).values(status="running", lease_owner=owner, lease_until=now + timedelta(seconds=lease_seconds),
                         attempts=Job.attempts + 1, started_at=func.coalesce(Job.started_at, now), updated_at=now)
            )
            if res.rowcount != 1:
                return None
            return s.get(Job, job_id)

    def save_chunk(self, job_id: str, owner: str, expected_cursor: int, results: Sequence[dict[str, Any]],
                   lease_seconds: float) -> bool:
        """Commit a chunk's results and advance the cursor atomically; False if the lease was lost."""
        now = utcnow()
        n_err = sum(1 for r in results if r["status"] == "error")
        new_cursor = expected_cursor + len(results)
        try:
            with self._session() as s, s.begin():
                res = s.execute(
                    update(Job).where(Job.id == job_id, Job.lease_owner == owner, Job.rows_done == expected_cursor,
                                      Job.status == "running")
                    .values(rows_done=new_cursor, n_errors=Job.n_errors + n_err, updated_at=now,
                            lease_until=now + timedelta(seconds=lease_seconds))
                )
                if res.rowcount != 1:
                    raise _LeaseLost
                if results:
                    units = [{"job_id": job_id, "row_idx": r["row_idx"], "units_json": r["units_json"], "vectors": r["vectors"]}
                             for r in results if r.get("vectors") is not None]
                    s.execute(JobResult.__table__.insert(), [
                        {"job_id": job_id, **{k: v for k, v in r.items() if k not in ("units_json", "vectors")}}
                        for r in results])
                    if units:
                        s.execute(JobUnits.__table__.insert(), units)
        except _LeaseLost:
            return False
        return True

    def renew_lease(self, job_id: str, owner: str, lease_seconds: float) -> bool:
        """Keep the lease during long steps without a chunk commit (the themes report)."""
        now = utcnow()
        with self._session() as s, s.begin():
            return s.execute(update(Job).where(Job.id == job_id, Job.lease_owner == owner)
                             .values(lease_until=now + timedelta(seconds=lease_seconds), updated_at=now)).rowcount == 1

    def release(self, job_id: str, owner: str) -> None:
        """Give the lease back (graceful shutdown) so the next start resumes at once; the attempt is not counted."""
        with self._session() as s, s.begin():
            s.execute(update(Job).where(Job.id == job_id, Job.lease_owner == owner)
                      .values(lease_owner=None, lease_until=None, attempts=Job.attempts - 1, updated_at=utcnow()))

    def finish(self, job_id: str, status: str, message: str | None = None,
               models: dict[str, str] | None = None, owner: str | None = None) -> bool:
        """Mark a job completed or failed (keeping what finished); with ``owner``, only if it holds the lease."""
        assert status in FINISHED
        now = utcnow()
        cond = [Job.id == job_id, Job.status.in_(ACTIVE)]
        if owner is not None:
            cond.append(Job.lease_owner == owner)
        values: dict[str, Any] = {"status": status, "message": message, "finished_at": now, "updated_at": now,
                                  "lease_owner": None, "lease_until": None}
        if models is not None:
            values["models_json"] = dumps(models)
        with self._session() as s, s.begin():
            return s.execute(update(Job).where(and_(*cond)).values(**values)).rowcount == 1

    # -- results --------------------------------------------------------------------------
    def iter_export(self, job_id: str, dataset_id: str, batch: int = 2000,
                    with_units: bool = False) -> Iterator[list[ExportRow]]:
        """Every dataset row in order with its result (and theme units), in keyset-paginated batches."""
        last = -1
        unit_cols = [JobUnits.units_json, JobUnits.vectors] if with_units else []
        while True:
            with self._session() as s:
                q = (select(DatasetRow.row_idx, DatasetRow.record_json, DatasetRow.problem,
                            *[getattr(JobResult, f) for f in _RESULT_FIELDS], JobResult.row_idx.label("scored"), *unit_cols)
                     .outerjoin(JobResult, and_(JobResult.job_id == job_id, JobResult.row_idx == DatasetRow.row_idx)))
                if with_units:
                    q = q.outerjoin(JobUnits, and_(JobUnits.job_id == job_id, JobUnits.row_idx == DatasetRow.row_idx))
                rows = s.execute(q.where(DatasetRow.dataset_id == dataset_id, DatasetRow.row_idx > last)
                                 .order_by(DatasetRow.row_idx).limit(batch)).all()
            if not rows:
                return
            out = []
            for r in rows:
                m = r._mapping
                result = None
                if m["scored"] is not None:
                    result = {f: m[f] for f in _RESULT_FIELDS}
                    result["themes"] = json.loads(result.pop("themes_json") or "[]")
                units = (m["units_json"], m["vectors"]) if with_units and m["units_json"] is not None else None
                out.append(ExportRow(r.row_idx, json.loads(r.record_json), r.problem, result, units))
            last = rows[-1].row_idx
            yield out

    def count_results(self, job_id: str) -> int:
        with self._session() as s:
            return s.scalar(select(func.count()).select_from(JobResult).where(JobResult.job_id == job_id)) or 0

    def errors(self, job_id: str, offset: int = 0, limit: int = 1000) -> list[dict[str, Any]]:
        with self._session() as s:
            rows = s.execute(
                select(JobResult.row_idx, JobResult.comment_id, JobResult.error)
                .where(JobResult.job_id == job_id, JobResult.status == "error")
                .order_by(JobResult.row_idx).offset(offset).limit(limit)
            ).all()
        return [{"row": r.row_idx + 1, "id": r.comment_id, "error": r.error} for r in rows]

    # -- themes report ----------------------------------------------------------------------
    def save_themes(self, job_id: str, report: dict[str, Any]) -> None:
        with self._session() as s, s.begin():
            s.execute(delete(ThemesReportRow).where(ThemesReportRow.job_id == job_id))
            s.add(ThemesReportRow(job_id=job_id, report_json=dumps(report)))

    def get_themes(self, job_id: str) -> dict[str, Any] | None:
        with self._session() as s:
            row = s.get(ThemesReportRow, job_id)
            return json.loads(row.report_json) if row else None


def lease_expired(job: Job, now: datetime | None = None) -> bool:
    return job.lease_until is None or job.lease_until < (now or utcnow())
