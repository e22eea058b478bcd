"""The CX review web app at ``/app``: server-rendered pages over the stored jobs and theme models.

Pages read aggregates from the job's stored report (``tp_job_themes``) and page a theme's comments
from ``tp_job_row_themes`` in SQL, so a 100k-row job loads like a 50-row one. Edits go through the
same code as ``/v2/themes/models/{id}/...`` (``routes_themes._edit``: lock, revision check, the model's
own rename/merge/split), then the job's comments are re-assigned to the edited model by the
:class:`ThemeUpdater` thread; the form waits for that up to ``EDIT_WAIT_S`` and redirects to the page,
which shows "updating" and reloads itself if the job is too big to finish in that time.

Every edit (rename, merge, split, move, keyword theme, taxonomy addition) is a version of the model
(``ThemeModelStore.history``); undo writes the version before the last one back and the job is re-assigned
like after any edit. Share links (``/app/shared/{token}``, on ``public_router``: no sign-in) show the
overview and theme pages read-only, without edit controls. Pages speak sv/da/fi/en (``i18n.py``: a
cookie set by the header's selector, else Accept-Language).

Forms post ``application/x-www-form-urlencoded`` to the same origin; posts from another site are
refused (Origin / Sec-Fetch-Site), so a foreign page cannot merge a team's themes.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from fastapi import APIRouter, FastAPI, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from pydantic import ValidationError
from starlette.datastructures import FormData

from service.api.auth import cross_site
from service.api.errors import ApiError
from service.api.routes_themes import _edit as edit_model, editor, theme_pipeline, theme_store, undo as undo_model
from service.batch.columns import ColumnMapping
from service.batch.report import DumpReport
from service.storage import Repository
from service.storage.models import Dataset, Job
from service.storage.repository import ThemeFilter
from service.storage.shares import ShareLinks
from service.storage.taxonomy_additions import TaxonomyAdditions
from service.storage.theme_models import EditNote, ThemeModelStore
from service.themes.model import ThemeModel, phrase_pattern
from service.themes.report import SENTIMENT_LABELS, ThemeSummary
from service.webapp import exports, i18n, views
from service.schemas import MAX_OFFSET
from service.webapp.updater import ThemeUpdater

router = APIRouter(prefix="/app", tags=["web app"], include_in_schema=False)
public_router = APIRouter(prefix="/app", tags=["web app"], include_in_schema=False)  # share links, UI language
STATIC = Path(__file__).parent / "static"
EDIT_WAIT_S = 6.0  # an edit's form waits this long for the job's re-assignment before redirecting
PAGE_SIZE = 50
MOVE_LIMIT = 500  # comments one move may name
PREVIEW_EXAMPLES = 10
_ENV = views.environment()


# -- lifecycle --------------------------------------------------------------------------------
def start_webapp(app: FastAPI) -> None:
    """After the job runtime and the theme store are up (the app's lifespan)."""
    def components():  # type: ignore[no-untyped-def]
        p = app.state.pipeline
        return p.themes.components if p is not None and p.themes is not None else None

    updater = ThemeUpdater(app.state.jobs.repo, app.state.theme_models, components)
    updater.start()
    app.state.theme_updater = updater
    app.state.share_links = ShareLinks(app.state.jobs.repo.engine)
    app.state.taxonomy_additions = TaxonomyAdditions(app.state.jobs.repo.engine)
    extend_taxonomy(app)


def stop_webapp(app: FastAPI) -> None:
    updater: ThemeUpdater | None = getattr(app.state, "theme_updater", None)
    if updater is not None:
        updater.stop()
    p = app.state.pipeline
    if p is not None and p.themes is not None and p.themes.components.base is not None:
        p.themes.use_components(p.themes.components.base)  # the shipped taxonomy again


def extend_taxonomy(app: FastAPI) -> None:
    """The process's theme components get the stored taxonomy additions (fits, edits and assignments use them)."""
    p = app.state.pipeline
    if p is not None and p.themes is not None:
        p.themes.use_components(p.themes.components.with_additions(app.state.taxonomy_additions.all()))


def mount_static(app: FastAPI) -> None:
    app.mount("/app/static", StaticFiles(directory=STATIC), name="app-static")


# -- helpers ------------------------------------------------------------------------------------
class PageError(Exception):
    """``title`` and ``detail`` are catalogue messages (``i18n.py``), ``params`` fill them in."""

    def __init__(self, status: int, title: str, detail: str, **params: Any) -> None:
        super().__init__(title)
        self.status, self.title, self.detail, self.params = status, title, detail, params


def _render(request: Request, template: str, status: int = 200, **ctx: Any) -> HTMLResponse:
    lang = i18n.negotiate(request)
    ctx.setdefault("readonly", False)
    ctx.setdefault("notice", request.query_params.get("notice"))
    ctx.setdefault("error", request.query_params.get("error"))
    ctx.setdefault("self_url", request.url.path + (f"?{request.url.query}" if request.url.query else ""))
    ctx.setdefault("state_detail", None)
    ctx.setdefault("signed_in", getattr(request.state, "signed_in", None))  # auth.page_tenant: who, when keys are on
    html = _ENV.get_template(template).render(root=request.scope.get("root_path", ""), lang=lang,
                                              t=i18n.translator(lang), ui_languages=i18n.UI_LANGUAGES,
                                              js_messages=i18n.js_messages(lang), **ctx)
    return HTMLResponse(html, status_code=status, headers={"Cache-Control": "no-store", "Content-Language": lang,
                                                           "Vary": "Cookie, Accept-Language"})


def _error_page(request: Request, exc: PageError) -> HTMLResponse:
    t = _t(request)
    return _render(request, "error.html", status=exc.status, title=t(exc.title), detail=t(exc.detail, **exc.params))


def _t(request: Request) -> Callable[..., str]:
    return i18n.translator(i18n.negotiate(request))


def _repo(request: Request) -> Repository:
    """The jobs of the signed-in tenant (``request.state.tenant``, set by the router's ``auth.page_tenant``)."""
    rt = getattr(request.app.state, "jobs", None)
    if rt is None:
        raise PageError(503, "Service starting", "the job service is not running yet; reload in a moment")
    return rt.repo.for_tenant(request.state.tenant)


def _shares(request: Request) -> ShareLinks:
    links = getattr(request.app.state, "share_links", None)
    if links is None:
        raise PageError(503, "Service starting", "the web app is not running yet; reload in a moment")
    return links


def _store(request: Request) -> ThemeModelStore:
    """The theme-model store as the page's tenant sees it."""
    return theme_store(request, request.state.tenant)


def _updater(request: Request) -> ThemeUpdater:
    up = getattr(request.app.state, "theme_updater", None)
    if up is None:
        raise PageError(503, "Service starting", "the web app is not running yet; reload in a moment")
    return up


@dataclass
class _JobView:
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
    updater = _updater(request)
    if job.id in updater.errors and not updater.pending(job.id):
        return "failed", updater.errors[job.id]
    updater.request(job.id)
    return "updating", None


def _job_view(request: Request, job_id: str) -> _JobView:
    repo = _repo(request)
    job = repo.get_job(job_id)
    ds = repo.get_dataset(job.dataset_id) if job is not None else None
    if job is None or ds is None:
        raise PageError(404, "No such job", "there is no job {job} (never created, or its dataset was deleted)",
                        job=job_id)
    raw = repo.get_themes(job_id) if job.status == "completed" else None
    report = None
    if raw is not None:
        try:
            report = DumpReport.model_validate(raw)
        except ValidationError:
            raise PageError(409, "Report from an earlier version", "this job's themes report was built by an "
                            "earlier version of the service; run the job again to rebuild it") from None
    state, detail = _theme_state(request, repo, job, report)
    return _JobView(job, ds, report, state, detail)


def _reported_view(request: Request, job_id: str) -> _JobView:
    """A job's view for the pages that need its themes report (409 until the job has one)."""
    v = _job_view(request, job_id)
    if v.report is None:
        raise PageError(409, "Not ready", "job {job} is {status}; its themes exist once it completes",
                        job=job_id, status=v.job.status)
    return v


def _choice(value: str | None, allowed: Sequence[str]) -> str | None:
    return value if value in allowed else None


def _local(path: str | None, fallback: str) -> str:
    """A redirect target inside the app (never another site)."""
    if path and path.startswith("/app") and not urlsplit(path).netloc and "\\" not in path:
        return path
    return fallback


def _redirect(url: str, **message: str | None) -> RedirectResponse:
    extra = "&".join(f"{k}={quote(v)}" for k, v in message.items() if v)
    if extra:
        url += ("&" if "?" in url else "?") + extra
    return RedirectResponse(url, status_code=303)


def _same_origin(request: Request) -> None:
    if cross_site(request):  # the rule the API applies to the pages' cookie-signed calls too
        raise PageError(403, "Refused", "this form may only be sent from the Touchpoints app itself")


def _themes_of(report: DumpReport) -> list[ThemeSummary]:
    return report.themes.themes if report.themes is not None else []


def _job_url(root: str, job_id: str) -> str:
    return f"{root}/app/jobs/{quote(job_id, safe='')}"


def _theme_url(root: str, job_id: str, theme_id: str) -> str:
    return f"{_job_url(root, job_id)}/themes/{quote(theme_id, safe='')}"


def _job_out(job: Job) -> dict[str, Any]:
    return {"id": job.id, "status": job.status, "rows_done": job.rows_done, "total_rows": job.total_rows,
            "progress": job.rows_done / job.total_rows if job.total_rows else 1.0, "errors": job.n_errors,
            "message": job.message, "created_at": job.created_at, "finished_at": job.finished_at}


# -- pages ----------------------------------------------------------------------------------------
@router.get("", response_class=HTMLResponse)
def jobs_page(request: Request, offset: int = Query(0, ge=0, le=MAX_OFFSET)) -> HTMLResponse:
    try:
        repo = _repo(request)
    except PageError as exc:
        return _error_page(request, exc)
    jobs = [{**_job_out(job), "dataset": name} for job, name in repo.list_jobs(100, offset)]
    return _render(request, "jobs.html", jobs=jobs, total=repo.count_jobs(), offset=offset, limit=100,
                   max_upload_mib=request.app.state.settings.max_upload_bytes // (1024 * 1024))


@router.get("/jobs/{job_id}", response_class=HTMLResponse)
def job_page(request: Request, job_id: str, language: str | None = None, sentiment: str | None = None,
             sort: str = "volume") -> HTMLResponse:
    return _overview(request, job_id, _job_url(request.scope.get("root_path", ""), job_id), False,
                     language, sentiment, sort)


@public_router.get("/shared/{token}", response_class=HTMLResponse)
def shared_overview(request: Request, token: str, language: str | None = None, sentiment: str | None = None,
                    sort: str = "volume") -> HTMLResponse:
    try:
        job_id = _shared_job(request, token)
    except PageError as exc:
        return _error_page(request, exc)
    return _overview(request, job_id, _shared_url(request, token), True, language, sentiment, sort)


def _shared_job(request: Request, token: str) -> str:
    """The job a live share link opens; the page then reads it as the job's tenant (no sign-in)."""
    job_id = _shares(request).job_of(token)
    job = request.app.state.jobs.repo.get_job(job_id) if job_id is not None else None
    if job is None:
        raise PageError(404, "No such link", "this share link does not exist or was revoked")
    request.state.tenant = job.tenant
    return job.id


def _shared_url(request: Request, token: str) -> str:
    return f"{request.scope.get('root_path', '')}/app/shared/{quote(token, safe='')}"


def _overview_rows(request: Request, v: _JobView, language: str | None, sentiment: str | None,
                   sort: str) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The theme table of the current view (filters applied in SQL) and the page's mixes."""
    report = v.report
    assert report is not None
    filtered = bool(language or sentiment)
    repo = _repo(request)
    if filtered:
        languages, sentiments = repo.result_mix(v.job.id, language, sentiment)
        n_comments = sum(languages.values())
        counts = repo.theme_counts(v.job.id, ThemeFilter(language=language, sentiment=sentiment)) \
            if v.state in ("fresh", "updating", "failed") else {}
    else:
        languages, sentiments, n_comments, counts = report.languages, report.sentiment, report.scored, None
    rows = views.theme_table(_themes_of(report), counts, n_comments, sort)
    return rows, {"languages": languages, "sentiments": sentiments, "n_comments": n_comments, "filtered": filtered}


def _overview(request: Request, job_id: str, base: str, readonly: bool, language: str | None,
              sentiment: str | None, sort: str) -> HTMLResponse:
    try:
        v = _job_view(request, job_id)
    except PageError as exc:
        return _error_page(request, exc)
    job = _job_out(v.job)
    if v.job.status != "completed" or v.report is None:
        return _render(request, "progress.html", job=job, dataset=v.dataset.name, state=v.state, readonly=readonly)
    report = v.report
    language = language or None
    sentiment = _choice(sentiment, (*SENTIMENT_LABELS, "unscored"))
    rows, mix = _overview_rows(request, v, language, sentiment, sort)
    n_assigned = None
    if report.themes is not None:
        n_assigned = report.themes.n_assigned if not mix["filtered"] else None
    params = {"language": language, "sentiment": sentiment, "sort": sort if sort != "volume" else None}
    return _render(
        request, "overview.html", job=job, job_url=base, dataset=v.dataset.name, report=report, state=v.state,
        state_detail=v.state_detail, rows=rows, chart=views.chart(rows), **mix,
        n_assigned=n_assigned, params=params, sorts=views.SORTS, sort=sort,
        all_languages=list(report.languages), editable=v.state == "fresh" and not readonly, readonly=readonly,
        mergeable=[r for r in rows if r["level"] == 1], history=[] if readonly else _history(request, v))


def _history(request: Request, v: _JobView, limit: int = 50) -> list[dict[str, Any]]:
    if v.report is None or not v.report.model_id or v.state == "model_deleted":
        return []
    t = _t(request)
    return [views.version_row(ver, t) for ver in _store(request).history(v.report.model_id, limit)]


def _find_theme(report: DumpReport, theme_id: str) -> ThemeSummary | None:
    return next((t for t in _themes_of(report) if t.theme_id == theme_id), None)


def _merged_into(request: Request, model_id: str, theme_id: str) -> str | None:
    """The live theme a merged-away (or split-away) theme id went to, from the stored model."""
    try:
        stored = theme_store(request, request.state.tenant).open(model_id, theme_pipeline(request).themes.components,
                                                                 with_fit=False)
    except (ApiError, ValueError):
        return None
    if stored is None:
        return None
    model: ThemeModel = stored.model
    for j, th in enumerate(model.themes_):
        if th.theme_id == theme_id:
            return model.themes_[model.canonical(j)].theme_id if th.merged_into is not None else None
    return None


@router.get("/jobs/{job_id}/themes/{theme_id}", response_class=HTMLResponse, response_model=None)
def theme_page(request: Request, job_id: str, theme_id: str, q: str | None = None, language: str | None = None,
               sentiment: str | None = None, clause_sentiment: str | None = None,
               page: int = Query(1, ge=1)) -> HTMLResponse | RedirectResponse:
    base = _job_url(request.scope.get("root_path", ""), job_id)
    return _theme(request, job_id, theme_id, base, False, q, language, sentiment, clause_sentiment, page)


@public_router.get("/shared/{token}/themes/{theme_id}", response_class=HTMLResponse, response_model=None)
def shared_theme_page(request: Request, token: str, theme_id: str, q: str | None = None,
                      language: str | None = None, sentiment: str | None = None, clause_sentiment: str | None = None,
                      page: int = Query(1, ge=1)) -> HTMLResponse | RedirectResponse:
    try:
        job_id = _shared_job(request, token)
    except PageError as exc:
        return _error_page(request, exc)
    return _theme(request, job_id, theme_id, _shared_url(request, token), True, q, language, sentiment,
                  clause_sentiment, page)


def _theme_filter(theme: ThemeSummary, q: str | None, language: str | None, sentiment: str | None,
                  clause_sentiment: str | None) -> ThemeFilter:
    return ThemeFilter(theme_id=theme.theme_id, subtheme=theme.level == 2, language=language or None,
                       sentiment=_choice(sentiment, SENTIMENT_LABELS),
                       mention_sentiment=_choice(clause_sentiment, SENTIMENT_LABELS), text=(q or "").strip() or None)


def _theme(request: Request, job_id: str, theme_id: str, base: str, readonly: bool, q: str | None,
           language: str | None, sentiment: str | None, clause_sentiment: str | None,
           page: int) -> HTMLResponse | RedirectResponse:
    try:
        v = _reported_view(request, job_id)
        theme = _find_theme(v.report, theme_id)
        if theme is None:
            target = _merged_into(request, v.report.model_id, theme_id) if v.report.model_id else None
            if target and target != theme_id:
                return _redirect(f"{base}/themes/{quote(target, safe='')}",
                                 notice=_t(request)("theme {theme} was merged into this theme", theme=theme_id))
            if v.state == "updating":
                return _render(request, "progress.html", job=_job_out(v.job), dataset=v.dataset.name, state=v.state,
                               readonly=readonly)
            raise PageError(404, "No such theme", "job {job} has no theme {theme}", job=job_id, theme=theme_id)
    except PageError as exc:
        return _error_page(request, exc)
    repo = _repo(request)
    report = v.report
    themes = _themes_of(report)
    parent = _find_theme(report, theme.parent_id) if theme.parent_id else None
    subs = [views.theme_row(t) for t in themes if t.parent_id == theme.theme_id]
    siblings = [t for t in themes if t.level == theme.level and t.parent_id == theme.parent_id
                and t.theme_id != theme.theme_id]
    f = _theme_filter(theme, q, language, sentiment, clause_sentiment)
    browsable = v.state in ("fresh", "updating", "failed")
    total = repo.count_theme_comments(v.job.id, f) if browsable else 0
    pages = max(1, math.ceil(total / PAGE_SIZE))
    page = min(page, pages)
    comments = _comment_rows(repo, v, f, (page - 1) * PAGE_SIZE) if browsable else []
    params = {"q": f.text, "language": f.language, "sentiment": f.sentiment, "clause_sentiment": f.mention_sentiment}
    reps = {lang: [{"rep": r, "pieces": views.highlight_clause(r.text, r.clause)} for r in items]
            for lang, items in theme.representative.items()}
    order = {lang: k for k, lang in enumerate(("sv", "da", "fi", "en"))}
    per_language = sorted({*theme.keywords, *theme.representative, *theme.labels}, key=lambda x: (order.get(x, 9), x))
    top_id = theme.parent_id or theme.theme_id
    return _render(
        request, "theme.html", per_language=per_language, job=_job_out(v.job), job_url=base,
        theme_url=f"{base}/themes/{quote(theme.theme_id, safe='')}", dataset=v.dataset.name, report=report,
        state=v.state, state_detail=v.state_detail, theme=theme, row=views.theme_row(theme), parent=parent, subs=subs,
        siblings=siblings, reps=reps, comments=comments, total=total, page=page, pages=pages, params=params,
        all_languages=list(report.languages), editable=v.state == "fresh" and not readonly, browsable=browsable,
        readonly=readonly, labels={t.theme_id: t.label for t in themes}, trend=theme.trend or [],
        impact=views.impact_text(theme.impact),
        move_targets=[t for t in themes if t.level == 1 and t.theme_id != top_id],
        history=[] if readonly else _history(request, v, 10))


def _comment_rows(repo: Repository, v: _JobView, f: ThemeFilter, offset: int) -> list[dict[str, Any]]:
    text_col = ColumnMapping.from_dict(json.loads(v.dataset.mapping_json)).text
    out = []
    for c in repo.theme_comments(v.job.id, v.dataset.id, f, offset=offset, limit=PAGE_SIZE):
        text = str(c.record.get(text_col, ""))
        out.append({"c": c, "pieces": views.highlight(text, c.spans)})
    return out


@router.get("/jobs/{job_id}/themes/{theme_id}/comments.{fmt}", response_model=None)
def theme_comments_export(request: Request, job_id: str, theme_id: str, fmt: str, q: str | None = None,
                          language: str | None = None, sentiment: str | None = None,
                          clause_sentiment: str | None = None) -> Response:
    return _comments_export(request, job_id, theme_id, fmt, q, language, sentiment, clause_sentiment)


@public_router.get("/shared/{token}/themes/{theme_id}/comments.{fmt}", response_model=None)
def shared_comments_export(request: Request, token: str, theme_id: str, fmt: str, q: str | None = None,
                           language: str | None = None, sentiment: str | None = None,
                           clause_sentiment: str | None = None) -> Response:
    try:
        job_id = _shared_job(request, token)
    except PageError as exc:
        return _error_page(request, exc)
    return _comments_export(request, job_id, theme_id, fmt, q, language, sentiment, clause_sentiment)


def _comments_export(request: Request, job_id: str, theme_id: str, fmt: str, q: str | None, language: str | None,
                     sentiment: str | None, clause_sentiment: str | None) -> Response:
    """Every comment of the theme in the current view (its filters), as CSV or XLSX."""
    try:
        if fmt not in exports.FORMATS:
            raise PageError(404, "No such export", "exports are .csv or .xlsx")
        v = _job_view(request, job_id)
        theme = _find_theme(v.report, theme_id) if v.report is not None else None
        if theme is None or v.state not in ("fresh", "updating", "failed"):
            raise PageError(404, "No such theme", "job {job} has no theme {theme}", job=job_id, theme=theme_id)
    except PageError as exc:
        return _error_page(request, exc)
    repo = _repo(request)
    f = _theme_filter(theme, q, language, sentiment, clause_sentiment)
    mapping = ColumnMapping.from_dict(json.loads(v.dataset.mapping_json))
    labels = {t.theme_id: t.label for t in _themes_of(v.report)}
    meta_cols = list(mapping.metadata.items())
    header = ["row", "id", "language", "sentiment", "sentiment_score", "theme_id", "theme", "main_theme",
              "theme_clause_sentiment", "subtheme_id", "subtheme", "theme_clauses", "text",
              *[f"meta_{k}" for k, _ in meta_cols]]

    def rows() -> Iterator[list[Any]]:
        for batch in repo.iter_theme_comments(v.job.id, v.dataset.id, f):
            for c in batch:
                text = str(c.record.get(mapping.text, ""))
                yield [c.row_idx + 1, c.comment_id, c.language, c.sentiment or "",
                       "" if c.sentiment_score is None else round(c.sentiment_score, 4), theme.theme_id,
                       theme.label, "yes" if c.rank == 0 else "no", c.mention_sentiment or "",
                       c.subtheme_id or "", labels.get(c.subtheme_id or "", ""),
                       " | ".join(text[a:b] for a, b in c.spans), text,
                       *[_cell(c.record.get(col)) for _, col in meta_cols]]

    stem = Path(v.dataset.name).stem or "dataset"
    return exports.response(fmt, f"{stem}.{theme.theme_id}.comments", header, rows(), sheet="comments")


@router.get("/jobs/{job_id}/themes.{fmt}", response_model=None)
def themes_export(request: Request, job_id: str, fmt: str, language: str | None = None,
                  sentiment: str | None = None, sort: str = "volume") -> Response:
    return _themes_export(request, job_id, fmt, language, sentiment, sort)


@public_router.get("/shared/{token}/themes.{fmt}", response_model=None)
def shared_themes_export(request: Request, token: str, fmt: str, language: str | None = None,
                         sentiment: str | None = None, sort: str = "volume") -> Response:
    try:
        job_id = _shared_job(request, token)
    except PageError as exc:
        return _error_page(request, exc)
    return _themes_export(request, job_id, fmt, language, sentiment, sort)


def _themes_export(request: Request, job_id: str, fmt: str, language: str | None, sentiment: str | None,
                   sort: str) -> Response:
    """The overview's theme table as shown (filters and order), as CSV or XLSX."""
    try:
        if fmt not in exports.FORMATS:
            raise PageError(404, "No such export", "exports are .csv or .xlsx")
        v = _reported_view(request, job_id)
    except PageError as exc:
        return _error_page(request, exc)
    rows, _ = _overview_rows(request, v, language or None, _choice(sentiment, (*SENTIMENT_LABELS, "unscored")), sort)
    stem = Path(v.dataset.name).stem or "dataset"
    return exports.response(fmt, f"{stem}.themes", exports.THEME_HEADER, exports.theme_cells(rows), sheet="themes")


def _cell(value: Any) -> Any:
    return "" if value is None else value


@router.get("/jobs/{job_id}/state")
def job_state(request: Request, job_id: str) -> JSONResponse:
    """What the pages poll after an edit: ``fresh`` once the job's comments follow the edited model."""
    try:
        v = _job_view(request, job_id)
    except PageError as exc:
        return JSONResponse({"error": exc.title, "detail": exc.detail}, status_code=exc.status)
    return JSONResponse({"job_id": job_id, "status": v.job.status, "state": v.state, "detail": v.state_detail,
                         "model_id": v.report.model_id if v.report else None,
                         "model_revision": v.report.model_revision if v.report else None})


# -- edits ----------------------------------------------------------------------------------------
async def _form(request: Request) -> FormData:
    return await request.form(max_files=0, max_fields=200)


Edit = Callable[[ThemeModelStore, Any, str, str], list[str]]  # (store, pipeline, model id, author) -> changed ids


def _model_edit(action: str, params: dict[str, Any], apply: Callable[[ThemeModel], Sequence[str]]) -> Edit:
    """An edit of the model, stored as a version (``action``/``params`` are what the history says)."""
    return lambda store, pipeline, model_id, author: edit_model(
        store, pipeline, model_id, apply, EditNote(author, action, params)).changed


def _apply_edit(request: Request, job_id: str, form: FormData, edit: Edit, done: Callable[[list[str]], str],
                describe: str) -> HTMLResponse | RedirectResponse:
    root = request.scope.get("root_path", "")
    back = _local(str(form.get("next") or ""), _job_url(root, job_id))
    t = _t(request)
    try:
        _same_origin(request)
        v = _job_view(request, job_id)
        if v.state != "fresh":
            raise PageError(409, "Themes are updating", "the previous edit is still being applied to this job's "
                            "comments; try again when the page has reloaded")
        if v.report is None or not v.report.model_id:
            raise PageError(409, "Not editable", v.state_detail or "this job has no stored theme model")
        try:
            changed = edit(_store(request), theme_pipeline(request), v.report.model_id, editor(request, "web app"))
        except ApiError as exc:
            return _redirect(back, error=t(str(exc.detail)))
        updater = _updater(request)
        updater.request(job_id)
        finished = updater.wait(job_id, EDIT_WAIT_S)
    except PageError as exc:
        return _error_page(request, exc)
    note = describe if finished else t("{done}; re-assigning this job's comments, the page reloads when done",
                                       done=describe)
    return _redirect(_local(done(changed), back), notice=note)


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


@router.post("/jobs/{job_id}/themes/{theme_id}/rename", response_model=None)
async def rename(request: Request, job_id: str, theme_id: str) -> HTMLResponse | RedirectResponse:
    form = await _form(request)
    label = _text(form, "label")[:200]
    root = request.scope.get("root_path", "")

    def apply(m: ThemeModel) -> list[str]:
        if not label:
            raise ValueError("a new name is required")
        return [m.rename(theme_id, label).theme_id]

    edit = _model_edit("rename", {"theme_id": theme_id, "label": label}, apply)
    return await _threaded(_apply_edit, request, job_id, form, edit, lambda ids: _theme_url(root, job_id, ids[0]),
                           _t(request)("renamed to “{label}”", label=label))


@router.post("/jobs/{job_id}/merge", response_model=None)
async def merge(request: Request, job_id: str) -> HTMLResponse | RedirectResponse:
    form = await _form(request)
    ids = [i for i in dict.fromkeys(str(x).strip() for x in form.getlist("theme_ids")) if i][:50]
    label = _text(form, "label")[:200] or None
    root = request.scope.get("root_path", "")

    def apply(m: ThemeModel) -> list[str]:
        if len(ids) < 2:
            raise ValueError("choose at least two themes to merge")
        return [m.merge(ids, label).theme_id]

    t = _t(request)
    edit = _model_edit("merge", {"theme_ids": ids, "label": label}, apply)
    return await _threaded(_apply_edit, request, job_id, form, edit, lambda kept: _theme_url(root, job_id, kept[0]),
                           t("merged {n} themes as “{label}”", n=len(ids), label=label) if label
                           else t("merged {n} themes", n=len(ids)))


@router.post("/jobs/{job_id}/themes/{theme_id}/split", response_model=None)
async def split(request: Request, job_id: str, theme_id: str) -> HTMLResponse | RedirectResponse:
    form = await _form(request)
    root = request.scope.get("root_path", "")
    try:
        n = int(_text(form, "n") or "2")
    except ValueError:
        n = 0

    def apply(m: ThemeModel) -> list[str]:
        if not 2 <= n <= 8:
            raise ValueError("split into 2 to 8 parts")
        j = m.index_of(theme_id)
        parent = m.themes_[j].parent
        made = [t.theme_id for t in m.split(theme_id, n)]
        return [m.themes_[parent].theme_id if parent is not None else theme_id, *made]

    edit = _model_edit("split", {"theme_id": theme_id, "n": n}, apply)
    return await _threaded(_apply_edit, request, job_id, form, edit, lambda ids: _theme_url(root, job_id, ids[0]),
                           _t(request)("split into {n} sub-themes", n=n))


@router.post("/jobs/{job_id}/themes/{theme_id}/move", response_model=None)
async def move(request: Request, job_id: str, theme_id: str) -> HTMLResponse | RedirectResponse:
    """The chosen comments (their rows) leave this theme for ``target``; kept for every later re-assignment."""
    form = await _form(request)
    root = request.scope.get("root_path", "")
    target = _text(form, "target")
    try:
        rows = sorted({int(str(x)) for x in form.getlist("rows")})[:MOVE_LIMIT]
    except ValueError:
        rows = []

    def apply(m: ThemeModel) -> list[str]:
        if not rows:
            raise ValueError("choose at least one comment to move")
        if not target:
            raise ValueError("choose the theme to move the comments to")
        return [m.move([str(r) for r in rows], theme_id, target).theme_id]

    edit = _model_edit("move", {"from": theme_id, "to": target, "n": len(rows)}, apply)
    return await _threaded(_apply_edit, request, job_id, form, edit, lambda ids: _theme_url(root, job_id, theme_id),
                           _t(request)("moved {n} comments to {theme}", n=len(rows), theme=target))


def _keyword_input(language: str | None, phrase: str | None) -> tuple[str, str | None]:
    return " ".join((phrase or "").split())[:200], (language or "").strip()[:8] or None


@router.get("/jobs/{job_id}/keyword", response_class=HTMLResponse)
def keyword_preview(request: Request, job_id: str, phrase: str | None = None, language: str | None = None,
                    label: str | None = None) -> HTMLResponse:
    """How many comments a keyword theme would take (and a few of them), before it is made."""
    phrase, lang = _keyword_input(language, phrase)
    try:
        v = _reported_view(request, job_id)
    except PageError as exc:
        return _error_page(request, exc)
    n, first = 0, []
    text_col = ColumnMapping.from_dict(json.loads(v.dataset.mapping_json)).text
    repo = _repo(request)
    if len(phrase) >= 2:  # the rule the theme will apply (``ThemeModel.apply_edits``), on SQL's candidates
        pat = phrase_pattern(phrase)
        for batch in repo.keyword_candidates(v.job.id, v.dataset.id, text_col, phrase.lower(), lang):
            for row, lowered, row_lang in batch:
                if pat.search(lowered):
                    n += 1
                    if len(first) < PREVIEW_EXAMPLES:
                        first.append((row, row_lang))
    records = repo.records(v.dataset.id, [row for row, _ in sorted(first)])
    examples = []
    for row, row_lang in sorted(first):
        text = str(records.get(row, {}).get(text_col, ""))
        m = phrase_pattern(phrase).search(text.lower())
        examples.append({"row": row, "language": row_lang,
                         "pieces": views.highlight(text, [(m.start(), m.end())] if m else [])})
    return _render(request, "keyword.html", job=_job_out(v.job), dataset=v.dataset.name,
                   job_url=_job_url(request.scope.get("root_path", ""), job_id), phrase=phrase, language=lang,
                   label=(label or "").strip()[:200], n=n, examples=examples, all_languages=list(v.report.languages),
                   editable=v.state == "fresh", state=v.state, searched=bool(phrase))


@router.post("/jobs/{job_id}/keyword", response_model=None)
async def keyword_theme(request: Request, job_id: str) -> HTMLResponse | RedirectResponse:
    form = await _form(request)
    root = request.scope.get("root_path", "")
    phrase, lang = _keyword_input(_text(form, "language"), _text(form, "phrase"))
    label = _text(form, "label")[:200] or None

    def apply(m: ThemeModel) -> list[str]:
        return [m.add_keyword_theme(phrase, label, lang).theme_id]

    edit = _model_edit("keyword", {"phrase": phrase, "language": lang, "label": label}, apply)
    return await _threaded(_apply_edit, request, job_id, form, edit, lambda ids: _theme_url(root, job_id, ids[0]),
                           _t(request)("made a theme of the comments with “{phrase}”", phrase=phrase))


@router.post("/jobs/{job_id}/undo", response_model=None)
async def undo(request: Request, job_id: str) -> HTMLResponse | RedirectResponse:
    """Back to the version before the last edit (the job's comments are re-assigned to it)."""
    form = await _form(request)
    root = request.scope.get("root_path", "")

    def edit(store: Any, pipeline: Any, model_id: str, author: str) -> list[str]:
        return undo_model(store, pipeline, model_id, author).changed

    return await _threaded(_apply_edit, request, job_id, form, edit, lambda _: _job_url(root, job_id),
                           _t(request)("undid the last edit"))


@router.post("/jobs/{job_id}/reassign", response_model=None)
async def reassign(request: Request, job_id: str) -> HTMLResponse | RedirectResponse:
    """Retry a failed re-assignment (the job's comments to its stored model)."""
    form = await _form(request)

    def run() -> HTMLResponse | RedirectResponse:
        try:
            _same_origin(request)
            _updater(request).request(job_id)
            _updater(request).wait(job_id, EDIT_WAIT_S)
        except PageError as exc:
            return _error_page(request, exc)
        return _redirect(_local(str(form.get("next") or ""), _job_url(request.scope.get("root_path", ""), job_id)))

    return await _threaded(run)


LANGUAGES_OF_EXAMPLES = ("sv", "da", "fi", "en")


def _examples(form: FormData) -> dict[str, list[str]]:
    """Chosen representative comments (``example_<lang>``) and typed ones (one a line, in ``extra_language``)."""
    out = {lang: [str(x) for x in form.getlist(f"example_{lang}")][:20] for lang in LANGUAGES_OF_EXAMPLES}
    lang = _text(form, "extra_language")
    if lang in LANGUAGES_OF_EXAMPLES:
        out[lang] += [line for line in _text(form, "extra_examples").splitlines() if line.strip()][:20]
    return out


def _add_touchpoint(request: Request, job_id: str, form: FormData, theme_id: str | None) -> HTMLResponse | RedirectResponse:
    """Store the touchpoint, extend this process's taxonomy, then give the job's model a theme of it (a version)."""
    root = request.scope.get("root_path", "")
    back = _local(str(form.get("next") or ""), _job_url(root, job_id))
    t = _t(request)
    try:
        _same_origin(request)
        if request.app.state.settings.auth_required:  # one taxonomy serves every tenant: its examples would leak
            raise PageError(403, "Not available with API keys", "taxonomy additions are shared by every tenant, "
                            "so they are switched off while API keys are on")
        v = _job_view(request, job_id)
        if v.state != "fresh":
            raise PageError(409, "Themes are updating", "the previous edit is still being applied to this job's "
                            "comments; try again when the page has reloaded")
        pipeline = theme_pipeline(request)
        tp = request.app.state.taxonomy_additions.add(
            _text(form, "label"), _text(form, "description"), _examples(form), editor(request, "web app"),
            taken=pipeline.themes.components.taxonomy.keys)
    except PageError as exc:
        return _error_page(request, exc)
    except ApiError as exc:
        return _redirect(back, error=t(str(exc.detail)))
    except ValueError as exc:
        return _redirect(back, error=t(str(exc)))
    extend_taxonomy(request.app)
    edit = _model_edit("taxonomy", {"theme_id": theme_id or tp.key, "key": tp.key, "label": tp.label},
                       lambda m: [m.add_touchpoint(tp.key, tp.label, theme_id).theme_id])
    return _apply_edit(request, job_id, form, edit, lambda ids: _theme_url(root, job_id, ids[0]),
                       t("added “{label}” to the taxonomy", label=tp.label))


@router.post("/jobs/{job_id}/themes/{theme_id}/taxonomy", response_model=None)
async def taxonomy_from_theme(request: Request, job_id: str, theme_id: str) -> HTMLResponse | RedirectResponse:
    """A discovered theme becomes a touchpoint of the taxonomy (its chosen comments are the examples)."""
    form = await _form(request)
    return await _threaded(_add_touchpoint, request, job_id, form, theme_id)


@router.post("/jobs/{job_id}/taxonomy", response_model=None)
async def taxonomy_new(request: Request, job_id: str) -> HTMLResponse | RedirectResponse:
    """A new touchpoint from a name and a few example comments; the job's comments that fit it join it."""
    form = await _form(request)
    return await _threaded(_add_touchpoint, request, job_id, form, None)


# -- share links --------------------------------------------------------------------------------
def _share_page(request: Request, job_id: str, new_url: str | None = None, status: int = 200) -> HTMLResponse:
    try:
        v = _job_view(request, job_id)
        links = _shares(request).of_job(job_id)
    except PageError as exc:
        return _error_page(request, exc)
    return _render(request, "share.html", status=status, job=_job_out(v.job), dataset=v.dataset.name,
                   job_url=_job_url(request.scope.get("root_path", ""), job_id), links=links, new_url=new_url)


@router.get("/jobs/{job_id}/share", response_class=HTMLResponse)
def share_links(request: Request, job_id: str) -> HTMLResponse:
    return _share_page(request, job_id)


@router.post("/jobs/{job_id}/share", response_class=HTMLResponse)
def create_share_link(request: Request, job_id: str) -> HTMLResponse:
    """The new link is shown once, on this answer: only its hash is kept."""
    try:
        _same_origin(request)
        _job_view(request, job_id)
        _, token = _shares(request).create(job_id, editor(request, "web app"))
    except PageError as exc:
        return _error_page(request, exc)
    return _share_page(request, job_id, str(request.base_url).rstrip("/") + _shared_url(request, token), 201)


@router.post("/jobs/{job_id}/share/{link_id}/revoke", response_model=None)
def revoke_share_link(request: Request, job_id: str, link_id: str) -> HTMLResponse | RedirectResponse:
    try:
        _same_origin(request)
        _job_view(request, job_id)
        revoked = _shares(request).revoke(job_id, link_id)
    except PageError as exc:
        return _error_page(request, exc)
    t = _t(request)
    url = f"{_job_url(request.scope.get('root_path', ''), job_id)}/share"
    return _redirect(url, notice=t("the link is revoked: it no longer opens")) if revoked \
        else _redirect(url, error=t("no such link (or revoked already)"))


# -- UI language ----------------------------------------------------------------------------------
@public_router.post("/language", response_model=None)
async def set_language(request: Request) -> HTMLResponse | RedirectResponse:
    """The header's selector: the choice is kept in a cookie for a year."""
    form = await _form(request)
    try:
        _same_origin(request)
    except PageError as exc:
        return _error_page(request, exc)
    lang = _text(form, "lang")
    back = _local(str(form.get("next") or ""), f"{request.scope.get('root_path', '')}/app")
    response = _redirect(back)
    if lang in i18n.UI_LANGUAGES:
        response.set_cookie(i18n.COOKIE, lang, max_age=365 * 24 * 3600, samesite="lax", httponly=True)
    return response


async def _threaded(fn: Callable[..., Any], *args: Any) -> Any:
    """Edits load the model, re-assign and wait: off the event loop."""
    return await run_in_threadpool(fn, *args)
