"""Asynchronous batch scoring over HTTP: upload a dataset, run it as a job, poll, download.

Uploads are bounded here (``settings.max_upload_bytes``; the body guard lets multipart through),
parsed completely and stored before the answer, so an accepted upload survives a restart. The
scoring itself runs in the service's background :class:`JobWorker`.

Each route gets the repository scoped to the caller's tenant (``tenant_repo``): another tenant's
dataset or job answers 404 exactly like a missing one.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from fastapi import APIRouter, Depends, FastAPI, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, HTMLResponse, PlainTextResponse, Response
from pydantic import ValidationError
from starlette.background import BackgroundTask
from starlette.datastructures import FormData, UploadFile
from starlette.types import Message, Receive

from service.api.auth import current_tenant
from service.api.errors import ApiError
from service.api.tenant_taxonomy import app_components
from service.batch.columns import ColumnMapping, MappingError, parse_metadata_spec
from service.batch.formats import MalformedFile, UnsupportedFormat, detect_format
from service.batch.ingest import ingest_file
from service.batch.report import DumpReport
from service.batch.report_render import report_csv, report_html
from service.batch.schemas import DatasetOut, JobCreate, JobErrorsOut, JobOut, RowError
from service.batch.worker import JobWorker
from service.batch.writers import write_output
from service.config import Settings
from service.schemas import MAX_OFFSET, ErrorResponse
from service.storage import Repository, make_engine
from service.storage.models import Dataset, Job

router = APIRouter(prefix="/v1", tags=["jobs"])

_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorResponse} for code in (400, 404, 409, 413, 422)
}
_MEDIA = {"csv": "text/csv", "tsv": "text/tab-separated-values", "jsonl": "application/x-ndjson",
          "parquet": "application/vnd.apache.parquet",
          "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


@dataclass
class JobsRuntime:
    repo: Repository
    worker: JobWorker


def start_jobs(app: FastAPI) -> None:
    """Open the database and start the worker (called from the app's lifespan, after models load)."""
    settings: Settings = app.state.settings
    repo = Repository(make_engine(settings.database_url))
    worker = JobWorker(repo, lambda: app.state.pipeline, settings, themes=app_components(app))
    worker.start()
    app.state.jobs = JobsRuntime(repo, worker)


def stop_jobs(app: FastAPI) -> None:
    rt: JobsRuntime | None = getattr(app.state, "jobs", None)
    if rt is not None:
        rt.worker.stop()
        rt.repo.engine.dispose()


def _rt(request: Request) -> JobsRuntime:
    rt = getattr(request.app.state, "jobs", None)
    if rt is None:
        raise ApiError(503, "jobs_unavailable", "the job service is not running")
    return rt


def tenant_repo(request: Request, tenant: str = Depends(current_tenant)) -> Repository:
    """The job repository as the caller's tenant sees it (a FastAPI dependency)."""
    return _rt(request).repo.for_tenant(tenant)


# -- upload ------------------------------------------------------------------------------
class _TooLarge(Exception):
    pass


def _bounded(receive: Receive, limit: int) -> Receive:
    seen = 0

    async def wrapped() -> Message:
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > limit:
                raise _TooLarge
        return message

    return wrapped


async def _read_form(request: Request, settings: Settings) -> FormData:
    limit = settings.max_upload_bytes
    if "multipart/form-data" not in request.headers.get("content-type", ""):
        raise ApiError(400, "bad_request", "send the file as multipart/form-data in a field named 'file'")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit + 64 * 1024:
        raise ApiError(413, "payload_too_large", f"upload is {int(declared)} bytes; the limit is {limit}")
    bounded = Request(request.scope, _bounded(request.receive, limit + 64 * 1024))
    try:
        return await bounded.form(max_files=1, max_fields=20)
    except _TooLarge:
        raise ApiError(413, "payload_too_large", f"upload exceeds the limit of {limit} bytes") from None


def _field(form: FormData, name: str) -> str | None:
    v = form.get(name)
    return v.strip() or None if isinstance(v, str) else None


def _flag(form: FormData, name: str, default: bool) -> bool:
    v = _field(form, name)
    if v is None:
        return default
    if v.lower() in ("1", "true", "yes", "on"):
        return True
    if v.lower() in ("0", "false", "no", "off"):
        return False
    raise ApiError(422, "invalid_request", [{"loc": ["body", name], "type": "bool_parsing",
                                             "msg": f"{name} must be true or false, not {v[:20]!r}"}])


def _ingest(repo: Repository, settings: Settings, upload: UploadFile, form: FormData) -> Dataset:
    try:
        fmt = detect_format(upload.filename or "", _field(form, "format"))
    except UnsupportedFormat as exc:
        raise ApiError(422, "unsupported_format", str(exc)) from None
    redact = _flag(form, "redact", settings.redact_pii)
    mapping = ColumnMapping(text=_field(form, "text_column"), id=_field(form, "id_column"),
                            language=_field(form, "language_column"),
                            metadata=parse_metadata_spec(_field(form, "metadata_columns")))
    with tempfile.NamedTemporaryFile(suffix=f".{fmt}", dir=settings.upload_dir, delete=True) as tmp:
        upload.file.seek(0)
        shutil.copyfileobj(upload.file, tmp, 1 << 20)
        tmp.flush()
        if tmp.tell() > settings.max_upload_bytes:
            raise ApiError(413, "payload_too_large", f"file exceeds the limit of {settings.max_upload_bytes} bytes")
        encoding = _field(form, "encoding") or "utf-8"
        try:
            "".encode(encoding)
        except LookupError:
            raise ApiError(422, "invalid_request", f"unknown encoding {encoding!r}") from None
        try:
            return ingest_file(repo, Path(tmp.name), fmt, mapping, name=upload.filename or "upload",
                               sheet=_field(form, "sheet"), encoding=encoding,
                               chunk_rows=max(500, settings.batch_chunk_rows), redact=redact)
        except MalformedFile as exc:
            raise ApiError(400, "malformed_file", f"{upload.filename}: {exc}") from None
        except MappingError as exc:
            raise ApiError(422, "invalid_columns", str(exc)) from None
        except UnicodeDecodeError as exc:
            raise ApiError(400, "malformed_file", f"{upload.filename}: {exc}") from None


def _reject_n_themes(form: FormData) -> None:
    """The e5 themes find their number themselves; a client still sending n_themes hears why it is refused."""
    if _field(form, "n_themes") is not None:
        raise ApiError(422, "invalid_request", "n_themes is no longer supported: the number of themes is automatic "
                       "(tune TOUCHPOINTS_THEMES_DISCOVERY_COHESION), and themes can be merged or split afterwards")


async def _upload(request: Request, repo: Repository, with_job: bool = False) -> tuple[Dataset, FormData]:
    settings: Settings = request.app.state.settings
    form = await _read_form(request, settings)
    try:
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise ApiError(422, "invalid_request", "multipart field 'file' (the dataset) is required")
        if with_job:
            _reject_n_themes(form)  # before storing anything
        return await run_in_threadpool(_ingest, repo, settings, upload, form), form
    finally:
        await form.close()


def _redacted(ds: Dataset) -> int | None:
    """PII spans replaced at ingest; None when the dataset was stored without redaction."""
    redaction = json.loads(ds.mapping_json).get("redaction")
    return int(redaction["spans"]) if isinstance(redaction, dict) else None


def _dataset_out(ds: Dataset) -> DatasetOut:
    mapping = json.loads(ds.mapping_json)
    mapping.pop("redaction", None)
    return DatasetOut(id=ds.id, name=ds.name, format=ds.format, rows=ds.n_rows, unparseable_rows=ds.n_problems,
                      columns=[c for c, _ in json.loads(ds.columns_json)], mapping=mapping,
                      redacted=_redacted(ds), created_at=ds.created_at)


def _job_out(job: Job) -> JobOut:
    base = f"/v1/jobs/{job.id}"
    phase = None
    if job.status == "pending":
        phase = "queued"
    elif job.status == "running":
        phase = "scoring" if job.rows_done < job.total_rows else "themes_report"
    return JobOut(
        id=job.id, dataset_id=job.dataset_id, status=job.status, phase=phase, total_rows=job.total_rows,
        rows_done=job.rows_done, progress=round(job.rows_done / job.total_rows, 4) if job.total_rows else 1.0,
        errors=job.n_errors, attempts=max(0, job.attempts), message=job.message,
        redacted=json.loads(job.options_json or "{}").get("redacted"),
        models=json.loads(job.models_json or "{}"), created_at=job.created_at, started_at=job.started_at,
        finished_at=job.finished_at,
        links={"self": base, "results": f"{base}/results?format=csv", "errors": f"{base}/errors",
               "themes": f"{base}/themes"},
    )


def _create_job(request: Request, repo: Repository, dataset_id: str) -> JobOut:
    ds = repo.get_dataset(dataset_id)
    redacted = _redacted(ds) if ds is not None else None
    try:
        job = repo.create_job(dataset_id, {} if redacted is None else {"redacted": redacted})
    except LookupError as exc:
        raise ApiError(404, "not_found", str(exc)) from None
    _rt(request).worker.wake()
    return _job_out(job)


_UPLOAD_DOC = ("multipart/form-data: `file` (.csv .tsv .jsonl .parquet .xlsx), optional `format`, `text_column`, "
               "`id_column`, `language_column`, `metadata_columns` (e.g. `score=NPS,survey_id`), `sheet`, "
               "`encoding` (text formats; default utf-8, e.g. cp1252), `redact` (true/false; default the "
               "TOUCHPOINTS_REDACT_PII setting): replace e-mail addresses, phone numbers, URLs, card numbers and "
               "personal identity numbers in the text column with placeholders before the file is stored.")


@router.post("/datasets", status_code=201, response_model=DatasetOut, responses=_ERRORS,
             summary="Upload a comments file as a dataset", description=_UPLOAD_DOC)
async def upload_dataset(request: Request, repo: Repository = Depends(tenant_repo)) -> DatasetOut:
    ds, _ = await _upload(request, repo)
    return _dataset_out(ds)


@router.get("/datasets/{dataset_id}", response_model=DatasetOut, responses=_ERRORS, summary="A dataset")
def get_dataset(dataset_id: str, repo: Repository = Depends(tenant_repo)) -> DatasetOut:
    ds = repo.get_dataset(dataset_id)
    if ds is None or ds.status != "ready":
        raise ApiError(404, "not_found", f"no dataset {dataset_id}")
    return _dataset_out(ds)


@router.delete("/datasets/{dataset_id}", status_code=204, responses=_ERRORS,
               summary="Delete a dataset with its jobs, results and reports")
def delete_dataset(dataset_id: str, repo: Repository = Depends(tenant_repo)) -> Response:
    if repo.get_dataset(dataset_id) is None:
        raise ApiError(404, "not_found", f"no dataset {dataset_id}")
    active = [j.id for j in repo.jobs_of_dataset(dataset_id) if j.status in ("pending", "running")]
    if active:
        raise ApiError(409, "dataset_in_use", f"jobs {active} are still pending or running on this dataset")
    repo.delete_dataset(dataset_id)
    return Response(status_code=204)


@router.post("/jobs", status_code=202, response_model=JobOut, responses=_ERRORS,
             summary="Score an uploaded dataset asynchronously")
def create_job(body: JobCreate, request: Request, repo: Repository = Depends(tenant_repo)) -> JobOut:
    return _create_job(request, repo, body.dataset_id)


@router.post("/jobs/upload", status_code=202, response_model=JobOut, responses=_ERRORS,
             summary="Upload a file and start scoring it in one call",
             description=_UPLOAD_DOC)
async def upload_and_create_job(request: Request, repo: Repository = Depends(tenant_repo)) -> JobOut:
    ds, form = await _upload(request, repo, with_job=True)
    return _create_job(request, repo, ds.id)


def _job(repo: Repository, job_id: str) -> Job:
    job = repo.get_job(job_id)
    if job is None:
        raise ApiError(404, "not_found", f"no job {job_id}")
    return job


@router.get("/jobs/{job_id}", response_model=JobOut, responses=_ERRORS, summary="Job status and progress")
def get_job(job_id: str, repo: Repository = Depends(tenant_repo)) -> JobOut:
    return _job_out(_job(repo, job_id))


@router.get("/jobs/{job_id}/results", responses={**_ERRORS, 200: {"content": {m: {} for m in _MEDIA.values()}}},
            summary="Download the scored rows (input columns + tp_* columns)")
def job_results(
    job_id: str, request: Request,
    format: Literal["csv", "tsv", "jsonl", "parquet", "xlsx"] = Query("csv"),  # noqa: A002 - public name
    partial: bool = Query(False, description="Allow downloading a running job's rows so far."),
    repo: Repository = Depends(tenant_repo),
) -> FileResponse:
    job = _job(repo, job_id)
    if job.status in ("pending", "running") and not partial:
        raise ApiError(409, "job_not_finished",
                       f"job is {job.status} ({job.rows_done}/{job.total_rows}); retry later or pass partial=true")
    ds = repo.get_dataset(job.dataset_id)
    settings: Settings = request.app.state.settings
    fd, name = tempfile.mkstemp(suffix=f".{format}", dir=settings.upload_dir)
    os.close(fd)
    path = Path(name)
    write_output(path, format, json.loads(ds.columns_json), repo.iter_export(job.id, ds.id))
    stem = Path(ds.name).stem or "dataset"
    return FileResponse(path, media_type=_MEDIA[format], filename=f"{stem}.scored.{format}",
                        background=BackgroundTask(path.unlink, missing_ok=True))


@router.get("/jobs/{job_id}/errors", response_model=JobErrorsOut, responses=_ERRORS,
            summary="Rows rejected (empty text, broken encoding, over-long, unparseable), with reasons")
def job_errors(job_id: str, offset: int = Query(0, ge=0, le=MAX_OFFSET), limit: int = Query(1000, ge=1, le=10_000),
               repo: Repository = Depends(tenant_repo)) -> JobErrorsOut:
    job = _job(repo, job_id)
    errors = repo.errors(job_id, offset, limit)
    return JobErrorsOut(job_id=job_id, total=job.n_errors, offset=offset, errors=[RowError(**e) for e in errors])


@router.get("/jobs/{job_id}/themes", responses={**_ERRORS, 200: {"content": {"application/json": {}, "text/csv": {},
                                                                       "text/html": {}}}},
            summary="Themes report of a finished job (JSON, CSV, or an HTML summary with charts)")
def job_themes(job_id: str, format: Literal["json", "csv", "html"] = Query("json"),  # noqa: A002
               repo: Repository = Depends(tenant_repo)) -> Any:
    job = _job(repo, job_id)
    report = repo.get_themes(job_id)
    if report is None:
        raise ApiError(409, "themes_not_ready", f"job is {job.status}; the themes report is built when it completes")
    try:
        report = DumpReport.model_validate(report)
    except ValidationError:
        raise ApiError(409, "stale_report", "this themes report was built by an earlier version of the service; "
                       "run the job again to rebuild it") from None
    if format == "csv":
        return PlainTextResponse(report_csv(report), media_type="text/csv")
    if format == "html":
        return HTMLResponse(report_html(report))
    return report.model_dump(mode="json")
