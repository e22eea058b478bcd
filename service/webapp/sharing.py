"""Share links: made and revoked on a job's share page (signed in), opened by anyone with the link
(``/app/shared/{token}``, on ``public_router``: no sign-in), which shows the overview, the theme pages and
their downloads read-only, without edit controls, as the job's tenant sees them."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from service.api.routes_themes import editor
from service.storage.shares import ShareLinks
from service.webapp.downloads import comments_export, theme_table_export
from service.webapp.job_view import job_out, job_url, job_view
from service.webapp.jobs import overview
from service.webapp.pages import PageError, error_page, redirect, render, root, same_origin, tr
from service.webapp.theme_pages import theme_detail

router = APIRouter()
public_router = APIRouter()


def _shares(request: Request) -> ShareLinks:
    links = getattr(request.app.state, "share_links", None)
    if links is None:
        raise PageError(503, "Service starting", "the web app is not running yet; reload in a moment")
    return links


def _shared_job(request: Request, token: str) -> str:
    """The job a live share link opens; the page then reads it as the job's tenant (no sign-in)."""
    job_id = _shares(request).job_of(token)
    job = request.app.state.jobs.repo.get_job(job_id) if job_id is not None else None
    if job is None:
        raise PageError(404, "No such link", "this share link does not exist or was revoked")
    request.state.tenant = job.tenant
    return job.id


def _shared_url(request: Request, token: str) -> str:
    return f"{root(request)}/app/shared/{quote(token, safe='')}"


# -- managing a job's links (signed in) -----------------------------------------------------------
def _share_page(request: Request, job_id: str, new_url: str | None = None, status: int = 200) -> HTMLResponse:
    try:
        v = job_view(request, job_id)
        links = _shares(request).of_job(job_id)
    except PageError as exc:
        return error_page(request, exc)
    return render(request, "share.html", status=status, job=job_out(v.job), dataset=v.dataset.name,
                  job_url=job_url(root(request), job_id), links=links, new_url=new_url)


@router.get("/jobs/{job_id}/share", response_class=HTMLResponse)
def share_links(request: Request, job_id: str) -> HTMLResponse:
    return _share_page(request, job_id)


@router.post("/jobs/{job_id}/share", response_class=HTMLResponse)
def create_share_link(request: Request, job_id: str) -> HTMLResponse:
    """The new link is shown once, on this answer: only its hash is kept."""
    try:
        same_origin(request)
        job_view(request, job_id)
        _, token = _shares(request).create(job_id, editor(request, "web app"))
    except PageError as exc:
        return error_page(request, exc)
    return _share_page(request, job_id, str(request.base_url).rstrip("/") + _shared_url(request, token), 201)


@router.post("/jobs/{job_id}/share/{link_id}/revoke", response_model=None)
def revoke_share_link(request: Request, job_id: str, link_id: str) -> HTMLResponse | RedirectResponse:
    try:
        same_origin(request)
        job_view(request, job_id)
        revoked = _shares(request).revoke(job_id, link_id)
    except PageError as exc:
        return error_page(request, exc)
    t = tr(request)
    url = f"{job_url(root(request), job_id)}/share"
    return redirect(url, notice=t("the link is revoked: it no longer opens")) if revoked \
        else redirect(url, error=t("no such link (or revoked already)"))


# -- what a link opens (no sign-in) ---------------------------------------------------------------
@public_router.get("/shared/{token}", response_class=HTMLResponse)
def shared_overview(request: Request, token: str, language: str | None = None, sentiment: str | None = None,
                    sort: str = "volume") -> HTMLResponse:
    try:
        job_id = _shared_job(request, token)
    except PageError as exc:
        return error_page(request, exc)
    return overview(request, job_id, _shared_url(request, token), True, language, sentiment, sort)


@public_router.get("/shared/{token}/themes/{theme_id}", response_class=HTMLResponse, response_model=None)
def shared_theme_page(request: Request, token: str, theme_id: str, q: str | None = None,
                      language: str | None = None, sentiment: str | None = None, clause_sentiment: str | None = None,
                      page: int = Query(1, ge=1)) -> HTMLResponse | RedirectResponse:
    try:
        job_id = _shared_job(request, token)
    except PageError as exc:
        return error_page(request, exc)
    return theme_detail(request, job_id, theme_id, _shared_url(request, token), True, q, language, sentiment,
                        clause_sentiment, page)


@public_router.get("/shared/{token}/themes/{theme_id}/comments.{fmt}", response_model=None)
def shared_comments_export(request: Request, token: str, theme_id: str, fmt: str, q: str | None = None,
                           language: str | None = None, sentiment: str | None = None,
                           clause_sentiment: str | None = None) -> Response:
    try:
        job_id = _shared_job(request, token)
    except PageError as exc:
        return error_page(request, exc)
    return comments_export(request, job_id, theme_id, fmt, q, language, sentiment, clause_sentiment)


@public_router.get("/shared/{token}/themes.{fmt}", response_model=None)
def shared_themes_export(request: Request, token: str, fmt: str, language: str | None = None,
                         sentiment: str | None = None, sort: str = "volume") -> Response:
    try:
        job_id = _shared_job(request, token)
    except PageError as exc:
        return error_page(request, exc)
    return theme_table_export(request, job_id, fmt, language, sentiment, sort)
