"""All reads and writes of batch-scoring state, in short explicit transactions.

Exactly-once scoring rests on :meth:`Repository.save_chunk`: a chunk's result rows and the
job's cursor (``rows_done``) are committed in one transaction, and only if the caller still
holds the job's lease and the cursor is where it expected. A crash before the commit loses
the chunk's work (it is redone on resume); a crash after it loses nothing.

Tenancy: a dataset belongs to a tenant, and its jobs (with their results, errors and reports) to the
same one. A repository made for a tenant (:meth:`Repository.for_tenant`, what the API routes and the
web app get) creates that tenant's datasets and answers another tenant's dataset or job as missing;
the unscoped one (``tenant=None``) is the service's own workers' and the batch CLI's. Reads by a job
id (results, errors, reports) follow a ``get_job`` that checked it.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, and_, case, delete, func, or_, select, update
from sqlalchemy.orm import Session

from service.storage.models import (
    DEFAULT_TENANT, Dataset, DatasetRow, Job, JobResult, JobRowTheme, JobUnits, ThemeModelRow, ThemesReportRow, utcnow,
)

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


@dataclass(frozen=True)
class ThemeComment:
    """A comment of one theme of a job: its row, result and where the theme sits in it."""

    row_idx: int
    comment_id: str | None
    record: dict[str, Any]
    rank: int                       # 0 = the comment's main theme
    subtheme_id: str | None
    confidence: float
    language: str
    sentiment: str | None           # the whole comment's
    sentiment_score: float | None
    mention_sentiment: str | None   # the clauses carrying the theme
    spans: list[tuple[int, int]]    # character offsets of those clauses ([] = the whole comment)


@dataclass(frozen=True)
class ThemeFilter:
    """Which comments of a job: a top-level theme or a sub-theme, and optional language / sentiment / text."""

    theme_id: str | None = None
    subtheme: bool = False
    language: str | None = None
    sentiment: str | None = None            # the comment's sentiment
    mention_sentiment: str | None = None    # the sentiment of the clauses carrying the theme
    text: str | None = None                 # substring, case-insensitive


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
    def __init__(self, engine: Engine, tenant: str | None = None) -> None:
        self.engine = engine
        self.tenant = tenant  # None: every tenant's datasets and jobs, new ones the default tenant's

    def for_tenant(self, tenant: str) -> "Repository":
        """The same database seen by one tenant (shares the engine)."""
        return Repository(self.engine, tenant)

    def _mine(self, owner: str) -> bool:
        return self.tenant is None or owner == self.tenant

    def _session(self) -> Session:
        return Session(self.engine, expire_on_commit=False)

    # -- datasets -----------------------------------------------------------------------
    def create_dataset(self, name: str, fmt: str, mapping: dict[str, Any], fingerprint: str | None = None) -> Dataset:
        ds = Dataset(id=new_id(), name=name[:500], format=fmt, status="ingesting",
                     mapping_json=dumps(mapping), fingerprint=fingerprint, tenant=self.tenant or DEFAULT_TENANT)
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
            ds = s.get(Dataset, dataset_id)
        return ds if ds is not None and self._mine(ds.tenant) else None

    def all_datasets(self) -> list[Dataset]:
        q = select(Dataset).order_by(Dataset.created_at)
        with self._session() as s:
            return list(s.scalars(q if self.tenant is None else q.where(Dataset.tenant == self.tenant)))

    def delete_dataset(self, dataset_id: str) -> None:
        """Delete a dataset and everything derived from it (explicitly: SQLite may lack FK cascades)."""
        if self.tenant is not None and self.get_dataset(dataset_id) is None:
            return  # another tenant's: as if missing
        with self._session() as s, s.begin():
            job_ids = list(s.scalars(select(Job.id).where(Job.dataset_id == dataset_id)))
            if job_ids:
                model_ids = [m for (rep,) in s.execute(select(ThemesReportRow.report_json)
                                                       .where(ThemesReportRow.job_id.in_(job_ids)))
                             if (m := json.loads(rep).get("model_id"))]
                if model_ids:  # the jobs' fitted theme models are derived from the dataset too
                    s.execute(delete(ThemeModelRow).where(ThemeModelRow.id.in_(model_ids)))
                s.execute(delete(JobRowTheme).where(JobRowTheme.job_id.in_(job_ids)))
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
        """A pending job on a ready dataset; it belongs to the dataset's tenant."""
        with self._session() as s, s.begin():
            ds = s.get(Dataset, dataset_id)
            if ds is None or ds.status != "ready" or not self._mine(ds.tenant):
                raise LookupError(f"dataset {dataset_id} does not exist or is not fully ingested")
            job = Job(id=new_id(), dataset_id=dataset_id, status="pending", total_rows=ds.n_rows,
                      options_json=dumps(options or {}), tenant=ds.tenant)
            s.add(job)
        return job

    def get_job(self, job_id: str) -> Job | None:
        with self._session() as s:
            job = s.get(Job, job_id)
        return job if job is not None and self._mine(job.tenant) else None

    def list_jobs(self, limit: int = 100, offset: int = 0) -> list[tuple[Job, str]]:
        """Newest first, each with its dataset's name."""
        q = select(Job, Dataset.name).join(Dataset, Dataset.id == Job.dataset_id)
        if self.tenant is not None:
            q = q.where(Job.tenant == self.tenant)
        with self._session() as s:
            rows = s.execute(q.order_by(Job.created_at.desc(), Job.id).offset(offset).limit(limit)).all()
        return [(job, name) for job, name in rows]

    def count_jobs(self) -> int:
        q = select(func.count()).select_from(Job)
        with self._session() as s:
            return s.scalar(q if self.tenant is None else q.where(Job.tenant == self.tenant)) or 0

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

    # -- per-row theme assignments (tp_job_row_themes) ----------------------------------------
    @staticmethod
    def revision_of(meta_json: str) -> str:
        """A short, stable name for a stored theme model's state (it changes with every edit)."""
        return hashlib.sha256(meta_json.encode("utf-8", "surrogatepass")).hexdigest()[:16]

    def theme_model_revision(self, model_id: str) -> str | None:
        """The current revision of a stored theme model; None if there is no such model."""
        with self._session() as s:
            meta = s.scalar(select(ThemeModelRow.meta_json).where(ThemeModelRow.id == model_id))
        return self.revision_of(meta) if meta is not None else None

    def replace_row_themes(self, job_id: str, rows: Iterable[dict[str, Any]], report: dict[str, Any] | None = None,
                           model: tuple[str, str] | None = None, batch: int = 5000) -> bool:
        """Replace a job's row themes (and, with ``report``, its themes report) in one transaction.

        With ``model`` = (model id, revision), only while that model is still at that revision (read again
        inside the transaction); False, and nothing written, otherwise.
        """
        with self._session() as s, s.begin():
            if model is not None:
                meta = s.scalar(select(ThemeModelRow.meta_json).where(ThemeModelRow.id == model[0]))
                if meta is None or self.revision_of(meta) != model[1]:
                    return False
            s.execute(delete(JobRowTheme).where(JobRowTheme.job_id == job_id))
            chunk: list[dict[str, Any]] = []
            for row in rows:
                chunk.append({"job_id": job_id, **row})
                if len(chunk) >= batch:
                    s.execute(JobRowTheme.__table__.insert(), chunk)
                    chunk = []
            if chunk:
                s.execute(JobRowTheme.__table__.insert(), chunk)
            if report is not None:
                s.execute(delete(ThemesReportRow).where(ThemesReportRow.job_id == job_id))
                s.add(ThemesReportRow(job_id=job_id, report_json=dumps(report)))
        return True

    @staticmethod
    def _theme_where(job_id: str, f: ThemeFilter) -> list[Any]:
        cond: list[Any] = [JobRowTheme.job_id == job_id]
        if f.theme_id is not None:
            cond.append((JobRowTheme.subtheme_id if f.subtheme else JobRowTheme.theme_id) == f.theme_id)
        if f.language:
            cond.append(JobRowTheme.language == f.language)
        if f.sentiment:
            cond.append(JobRowTheme.sentiment == f.sentiment)
        if f.mention_sentiment:
            cond.append(JobRowTheme.mention_sentiment == f.mention_sentiment)
        if f.text:
            cond.append(JobRowTheme.search_text.contains(f.text.lower(), autoescape=True))
        return cond

    def count_theme_comments(self, job_id: str, f: ThemeFilter) -> int:
        with self._session() as s:
            return s.scalar(select(func.count()).select_from(JobRowTheme).where(*self._theme_where(job_id, f))) or 0

    def theme_comments(self, job_id: str, dataset_id: str, f: ThemeFilter, offset: int = 0, limit: int = 50,
                       after: int | None = None) -> list[ThemeComment]:
        """One page of a theme's comments in row order (``after``: keyset paging by row, for exports)."""
        cond = self._theme_where(job_id, f)
        if after is not None:
            cond.append(JobRowTheme.row_idx > after)
        with self._session() as s:
            page = (select(JobRowTheme).where(*cond).order_by(JobRowTheme.row_idx).offset(offset).limit(limit)
                    .subquery())
            rows = s.execute(
                select(page, DatasetRow.record_json, JobResult.comment_id, JobResult.sentiment_score)
                .join(DatasetRow, and_(DatasetRow.dataset_id == dataset_id, DatasetRow.row_idx == page.c.row_idx))
                .outerjoin(JobResult, and_(JobResult.job_id == job_id, JobResult.row_idx == page.c.row_idx))
                .order_by(page.c.row_idx)).all()
        return [ThemeComment(
            row_idx=r.row_idx, comment_id=r.comment_id, record=json.loads(r.record_json), rank=r.rank,
            subtheme_id=r.subtheme_id, confidence=r.confidence, language=r.language, sentiment=r.sentiment,
            sentiment_score=r.sentiment_score, mention_sentiment=r.mention_sentiment,
            spans=[(int(a), int(b)) for a, b in json.loads(r.spans_json)]) for r in rows]

    def iter_theme_comments(self, job_id: str, dataset_id: str, f: ThemeFilter,
                            batch: int = 2000) -> Iterator[list[ThemeComment]]:
        """Every comment of a filter, in keyset-paginated batches (bounded memory for exports)."""
        after = -1
        while page := self.theme_comments(job_id, dataset_id, f, limit=batch, after=after):
            yield page
            after = page[-1].row_idx

    def keyword_candidates(self, job_id: str, dataset_id: str, text_column: str, needle: str,
                           language: str | None = None, batch: int = 5000) -> Iterator[list[tuple[int, str, str]]]:
        """(row, lower-cased text, language) of the job's scored comments whose text contains ``needle``
        (lower-case), or that carry no theme (``tp_job_row_themes`` does not hold their text): a superset of
        a keyword theme's comments, found with one ``LIKE`` scan over the comments' main-theme rows."""
        cond = [JobRowTheme.job_id == job_id, JobRowTheme.rank == 0,
                JobRowTheme.search_text.contains(needle, autoescape=True)]
        if language:
            cond.append(JobRowTheme.language == language)
        after = -1
        while True:
            with self._session() as s:
                rows = s.execute(select(JobRowTheme.row_idx, JobRowTheme.search_text, JobRowTheme.language)
                                 .where(*cond, JobRowTheme.row_idx > after).order_by(JobRowTheme.row_idx)
                                 .limit(batch)).all()
            if not rows:
                break
            yield [(r.row_idx, r.search_text, r.language) for r in rows]
            after = rows[-1].row_idx
        main = and_(JobRowTheme.job_id == job_id, JobRowTheme.row_idx == JobResult.row_idx, JobRowTheme.rank == 0)
        cond = [JobResult.job_id == job_id, JobResult.status == "ok", JobRowTheme.row_idx.is_(None)]
        if language:
            cond.append(func.coalesce(JobResult.language, "und") == language)
        with self._session() as s:
            rows = s.execute(
                select(JobResult.row_idx, JobResult.language, DatasetRow.record_json)
                .join(DatasetRow, and_(DatasetRow.dataset_id == dataset_id, DatasetRow.row_idx == JobResult.row_idx))
                .outerjoin(JobRowTheme, main).where(*cond).order_by(JobResult.row_idx)).all()
        for k in range(0, len(rows), batch):
            yield [(r.row_idx, str(json.loads(r.record_json).get(text_column, "")).lower(), r.language or "und")
                   for r in rows[k:k + batch]]

    def records(self, dataset_id: str, rows: Sequence[int]) -> dict[int, dict[str, Any]]:
        """Some rows' records (a page's worth)."""
        with self._session() as s:
            got = s.execute(select(DatasetRow.row_idx, DatasetRow.record_json)
                            .where(DatasetRow.dataset_id == dataset_id, DatasetRow.row_idx.in_(list(rows)))).all()
        return {r.row_idx: json.loads(r.record_json) for r in got}

    def theme_counts(self, job_id: str, f: ThemeFilter) -> dict[str, dict[str, int]]:
        """theme id (top-level and sub-themes) -> {"size", "main", "negative", "neutral", "positive"} for
        the comments passing ``f`` (its theme is ignored): the filtered overview, one grouped scan."""
        cond = self._theme_where(job_id, ThemeFilter(language=f.language, sentiment=f.sentiment, text=f.text,
                                                     mention_sentiment=f.mention_sentiment))
        out: dict[str, dict[str, int]] = {}

        def add(key: str | None, mention: str | None, main: int, n: int) -> None:
            if key is None:
                return
            c = out.setdefault(key, {"size": 0, "main": 0, "negative": 0, "neutral": 0, "positive": 0})
            c["size"] += n
            c["main"] += main
            if mention in c and mention not in ("size", "main"):
                c[mention] += n

        is_main = func.sum(case((JobRowTheme.rank == 0, 1), else_=0))
        with self._session() as s:  # one scan: top-level and sub-theme counts from the same groups
            for top, sub, mention, main, n in s.execute(
                    select(JobRowTheme.theme_id, JobRowTheme.subtheme_id, JobRowTheme.mention_sentiment, is_main,
                           func.count()).where(*cond)
                    .group_by(JobRowTheme.theme_id, JobRowTheme.subtheme_id, JobRowTheme.mention_sentiment)):
                add(top, mention, int(main or 0), int(n))
                add(sub, mention, int(main or 0), int(n))
        return out

    def result_mix(self, job_id: str, language: str | None = None,
                   sentiment: str | None = None) -> tuple[dict[str, int], dict[str, int]]:
        """(language -> comments, sentiment -> comments) of the job's scored comments passing the filter."""
        cond = [JobResult.job_id == job_id, JobResult.status == "ok"]
        if language:
            cond.append(func.coalesce(JobResult.language, "und") == language)
        if sentiment:
            cond.append(func.coalesce(JobResult.sentiment, "unscored") == sentiment)
        langs: dict[str, int] = {}
        sents: dict[str, int] = {}
        with self._session() as s:
            for lang, sent, n in s.execute(
                    select(JobResult.language, JobResult.sentiment, func.count()).where(*cond)
                    .group_by(JobResult.language, JobResult.sentiment)):
                langs[lang or "und"] = langs.get(lang or "und", 0) + n
                sents[sent or "unscored"] = sents.get(sent or "unscored", 0) + n
        order = lambda d: dict(sorted(d.items(), key=lambda kv: (-kv[1], kv[0])))  # noqa: E731
        return order(langs), order(sents)


def lease_expired(job: Job, now: datetime | None = None) -> bool:
    return job.lease_until is None or job.lease_until < (now or utcnow())
