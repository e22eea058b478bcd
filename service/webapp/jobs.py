"""The jobs list (``/app``), a job's overview of its themes (also opened read-only by share links) and the
state the pages poll after an edit."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse

from service.schemas import MAX_OFFSET
from service.storage.repository import ThemeFilter
from service.themes.report import SENTIMENT_LABELS
from service.webapp import views
from service.webapp.job_view import JobView, history, job_out, job_url, job_view, repo, themes_of
from service.webapp.pages import PageError, choice, error_page, render, root

router = APIRouter()


@router.get("", response_class=HTMLResponse)
def jobs_page(request: Request, offset: int = Query(0, ge=0, le=MAX_OFFSET)) -> HTMLResponse:
    try:
        jobs = repo(request)
    except PageError as exc:
        return error_page(request, exc)
    listed = [{**job_out(job), "dataset": name} for job, name in jobs.list_jobs(100, offset)]
    return render(request, "jobs.html", jobs=listed, total=jobs.count_jobs(), offset=offset, limit=100,
                  max_upload_mib=request.app.state.settings.max_upload_bytes // (1024 * 1024))


@router.get("/jobs/{job_id}", response_class=HTMLResponse)
def job_page(request: Request, job_id: str, language: str | None = None, sentiment: str | None = None,
             sort: str = "volume") -> HTMLResponse:
    return overview(request, job_id, job_url(root(request), job_id), False, language, sentiment, sort)


def overview_rows(request: Request, v: JobView, language: str | None, sentiment: str | None,
                  sort: str) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The theme table of the current view (filters applied in SQL) and the page's mixes."""
    report = v.report
    assert report is not None
    filtered = bool(language or sentiment)
    jobs = repo(request)
    if filtered:
        languages, sentiments = jobs.result_mix(v.job.id, language, sentiment)
        n_comments = sum(languages.values())
        counts = jobs.theme_counts(v.job.id, ThemeFilter(language=language, sentiment=sentiment)) \
            if v.state in ("fresh", "updating", "failed") else {}
    else:
        languages, sentiments, n_comments, counts = report.languages, report.sentiment, report.scored, None
    rows = views.theme_table(themes_of(report), counts, n_comments, sort)
    return rows, {"languages": languages, "sentiments": sentiments, "n_comments": n_comments, "filtered": filtered}


def overview(request: Request, job_id: str, base: str, readonly: bool, language: str | None,
             sentiment: str | None, sort: str) -> HTMLResponse:
    """The overview page; ``base`` is the job's URL (its share link's when ``readonly``)."""
    try:
        v = job_view(request, job_id)
    except PageError as exc:
        return error_page(request, exc)
    job = job_out(v.job)
    if v.job.status != "completed" or v.report is None:
        return render(request, "progress.html", job=job, dataset=v.dataset.name, state=v.state, readonly=readonly)
    report = v.report
    language = language or None
    sentiment = choice(sentiment, (*SENTIMENT_LABELS, "unscored"))
    rows, mix = overview_rows(request, v, language, sentiment, sort)
    n_assigned = None
    if report.themes is not None:
        n_assigned = report.themes.n_assigned if not mix["filtered"] else None
    params = {"language": language, "sentiment": sentiment, "sort": sort if sort != "volume" else None}
    return render(
        request, "overview.html", job=job, job_url=base, dataset=v.dataset.name, report=report, state=v.state,
        state_detail=v.state_detail, rows=rows, chart=views.chart(rows), **mix,
        n_assigned=n_assigned, params=params, sorts=views.SORTS, sort=sort,
        all_languages=list(report.languages), editable=v.state == "fresh" and not readonly, readonly=readonly,
        mergeable=[r for r in rows if r["level"] == 1], history=[] if readonly else history(request, v))


@router.get("/jobs/{job_id}/state")
def job_state(request: Request, job_id: str) -> JSONResponse:
    """What the pages poll after an edit: ``fresh`` once the job's comments follow the edited model."""
    try:
        v = job_view(request, job_id)
    except PageError as exc:
        return JSONResponse({"error": exc.title, "detail": exc.detail}, status_code=exc.status)
    return JSONResponse({"job_id": job_id, "status": v.job.status, "state": v.state, "detail": v.state_detail,
                         "model_id": v.report.model_id if v.report else None,
                         "model_revision": v.report.model_revision if v.report else None})
