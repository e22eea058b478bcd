"""A job as the pages see it: the page's tenant's job and dataset, its themes report, and whether the job's
comments follow the latest revision of its stored theme model (asking the :class:`ThemeUpdater` if not).

Pages read aggregates from the job's stored report (``tp_job_themes``) and page a theme's comments from
``tp_job_row_themes`` in SQL, so a 100k-row job loads like a 50-row one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from fastapi import Request
from pydantic import ValidationError

from service.api.routes_themes import theme_components, theme_pipeline, theme_store
from service.batch.report import DumpReport
from service.storage import Repository
from service.storage.models import Dataset, Job
from service.storage.theme_models import ThemeModelStore
from service.themes import ThemeComponents
from service.themes.report import ThemeSummary
from service.webapp import views
from service.webapp.pages import PageError, same_origin, tr
from service.webapp.updater import ThemeUpdater


def repo(request: Request) -> Repository:
    """The jobs of the signed-in tenant (``request.state.tenant``, set by the router's ``auth.page_tenant``)."""
    rt = getattr(request.app.state, "jobs", None)
    if rt is None:
        raise PageError(503, "Service starting", "the job service is not running yet; reload in a moment")
    return rt.repo.for_tenant(request.state.tenant)


def store(request: Request) -> ThemeModelStore:
    """The theme-model store as the page's tenant sees it."""
    return theme_store(request, request.state.tenant)


def components(request: Request) -> ThemeComponents:
    """The page's tenant's taxonomy: the shipped touchpoints plus the tenant's additions (503 without themes)."""
    return theme_components(request, theme_pipeline(request), request.state.tenant)


def updater(request: Request) -> ThemeUpdater:
    up = getattr(request.app.state, "theme_updater", None)
    if up is None:
        raise PageError(503, "Service starting", "the web app is not running yet; reload in a moment")
    return up


@dataclass
class JobView:
    job: Job
    dataset: Dataset
    report: DumpReport | None
    state: str            # fresh | updating | failed | no_model | model_deleted | no_themes | not_ready
    state_detail: str | None = None


def _theme_state(request: Request, repo: Repository, job: Job, report: DumpReport | None) -> tuple[str, str | None]:
    """Whether the job's rows and report follow its stored model's latest revision (asks for an update if not)."""
    if report is None:
        return "not_ready", None
    if report.themes is None:
        return "no_themes", report.note
    if not report.model_id:
        return "no_model", ("this job's report was built before reports kept their theme model; run the job "
                            "again to browse comments by theme and edit themes")
    revision = repo.theme_model_revision(report.model_id)
    if revision is None:
        return "model_deleted", "the theme model of this job was deleted; themes can no longer be edited"
    if revision == report.model_revision:
        return "fresh", None
    up = updater(request)
    if job.id in up.errors and not up.pending(job.id):
        return "failed", up.errors[job.id]
    up.request(job.id)
    return "updating", None


def job_view(request: Request, job_id: str) -> JobView:
    jobs = repo(request)
    job = jobs.get_job(job_id)
    ds = jobs.get_dataset(job.dataset_id) if job is not None else None
    if job is None or ds is None:
        raise PageError(404, "No such job", "there is no job {job} (never created, or its dataset was deleted)",
                        job=job_id)
    raw = jobs.get_themes(job_id) if job.status == "completed" else None
    report = None
    if raw is not None:
        try:
            report = DumpReport.model_validate(raw)
        except ValidationError:
            raise PageError(409, "Report from an earlier version", "this job's themes report was built by an "
                            "earlier version of the service; run the job again to rebuild it") from None
    state, detail = _theme_state(request, jobs, job, report)
    return JobView(job, ds, report, state, detail)


def editable_view(request: Request, job_id: str) -> JobView:
    """A job's view for a form that edits its themes: same-origin only, 409 while an earlier edit is applied."""
    same_origin(request)
    v = job_view(request, job_id)
    if v.state != "fresh":
        raise PageError(409, "Themes are updating", "the previous edit is still being applied to this job's "
                        "comments; try again when the page has reloaded")
    return v


def reported_view(request: Request, job_id: str) -> JobView:
    """A job's view for the pages that need its themes report (409 until the job has one)."""
    v = job_view(request, job_id)
    if v.report is None:
        raise PageError(409, "Not ready", "job {job} is {status}; its themes exist once it completes",
                        job=job_id, status=v.job.status)
    return v


def history(request: Request, v: JobView, limit: int = 50) -> list[dict[str, Any]]:
    """The versions of the job's theme model, newest first, as the pages list them."""
    if v.report is None or not v.report.model_id or v.state == "model_deleted":
        return []
    t = tr(request)
    return [views.version_row(ver, t) for ver in store(request).history(v.report.model_id, limit)]


def themes_of(report: DumpReport) -> list[ThemeSummary]:
    return report.themes.themes if report.themes is not None else []


def find_theme(report: DumpReport, theme_id: str) -> ThemeSummary | None:
    return next((t for t in themes_of(report) if t.theme_id == theme_id), None)


def job_url(root: str, job_id: str) -> str:
    return f"{root}/app/jobs/{quote(job_id, safe='')}"


def theme_url(root: str, job_id: str, theme_id: str) -> str:
    return f"{job_url(root, job_id)}/themes/{quote(theme_id, safe='')}"


def job_out(job: Job) -> dict[str, Any]:
    return {"id": job.id, "status": job.status, "rows_done": job.rows_done, "total_rows": job.total_rows,
            "progress": job.rows_done / job.total_rows if job.total_rows else 1.0, "errors": job.n_errors,
            "message": job.message, "created_at": job.created_at, "finished_at": job.finished_at}
