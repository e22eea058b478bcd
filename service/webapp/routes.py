"""The CX review web app at ``/app``: server-rendered pages over the stored jobs and theme models.

Pages read aggregates from the job's stored report (``tp_job_themes``) and page a theme's comments
from ``tp_job_row_themes`` in SQL, so a 100k-row job loads like a 50-row one. Edits go through the
same code as ``/v2/themes/models/{id}/...`` (``routes_themes._edit``: lock, revision check, the model's
own rename/merge/split), then the job's comments are re-assigned to the edited model by the
:class:`ThemeUpdater` thread; the form waits for that up to ``EDIT_WAIT_S`` and redirects to the page,
which shows "updating" and reloads itself if the job is too big to finish in that time.

Forms post ``application/x-www-form-urlencoded`` to the same origin; posts from another site are
refused (Origin / Sec-Fetch-Site), so a foreign page cannot merge a team's themes.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from fastapi import APIRouter, FastAPI, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, StreamingResponse
from fastapi.staticfiles import StaticFiles
from pydantic import ValidationError
from starlette.datastructures import FormData

from service.api.errors import ApiError
from service.api.routes_themes import _edit as edit_model, theme_pipeline, theme_store
from service.batch.columns import ColumnMapping
from service.batch.report import DumpReport
from service.storage import Repository
from service.storage.models import Dataset, Job
from service.storage.repository import ThemeComment, ThemeFilter
from service.themes.model import ThemeModel
from service.themes.report import SENTIMENT_LABELS, ThemeSummary
from service.webapp import views
from service.schemas import MAX_OFFSET
from service.webapp.updater import ThemeUpdater

router = APIRouter(prefix="/app", tags=["web app"], include_in_schema=False)
STATIC = Path(__file__).parent / "static"
EDIT_WAIT_S = 6.0  # an edit's form waits this long for the job's re-assignment before redirecting
PAGE_SIZE = 50
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


def stop_webapp(app: FastAPI) -> None:
    updater: ThemeUpdater | None = getattr(app.state, "theme_updater", None)
    if updater is not None:
        updater.stop()


def mount_static(app: FastAPI) -> None:
    app.mount("/app/static", StaticFiles(directory=STATIC), name="app-static")


# -- helpers ------------------------------------------------------------------------------------
class PageError(Exception):
    def __init__(self, status: int, title: str, detail: str) -> None:
        super().__init__(title)
        self.status, self.title, self.detail = status, title, detail


def _render(request: Request, template: str, status: int = 200, **ctx: Any) -> HTMLResponse:
    ctx.setdefault("notice", request.query_params.get("notice"))
    ctx.setdefault("error", request.query_params.get("error"))
    ctx.setdefault("self_url", request.url.path + (f"?{request.url.query}" if request.url.query else ""))
    ctx.setdefault("state_detail", None)
    ctx.setdefault("signed_in", getattr(request.state, "signed_in", None))  # auth.page_tenant: who, when keys are on
    html = _ENV.get_template(template).render(root=request.scope.get("root_path", ""), **ctx)
    return HTMLResponse(html, status_code=status, headers={"Cache-Control": "no-store"})


def _error_page(request: Request, exc: PageError) -> HTMLResponse:
    return _render(request, "error.html", status=exc.status, title=exc.title, detail=exc.detail)


def _repo(request: Request) -> Repository:
    """The jobs of the signed-in tenant (``request.state.tenant``, set by the router's ``auth.page_tenant``)."""
    rt = getattr(request.app.state, "jobs", None)
    if rt is None:
        raise PageError(503, "Service starting", "the job service is not running yet; reload in a moment")
    return rt.repo.for_tenant(request.state.tenant)


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
        return "model_deleted", f"the theme model {report.model_id} of this job was deleted; themes can no longer be edited"
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
        raise PageError(404, "No such job", f"there is no job {job_id!r} (never created, or its dataset was deleted)")
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
    if request.headers.get("sec-fetch-site") == "cross-site":
        raise PageError(403, "Refused", "this form may only be sent from the Touchpoints app itself")
    origin = request.headers.get("origin")
    if origin and origin != "null" and urlsplit(origin).netloc != request.headers.get("host"):
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
    try:
        v = _job_view(request, job_id)
    except PageError as exc:
        return _error_page(request, exc)
    job = _job_out(v.job)
    if v.job.status != "completed" or v.report is None:
        return _render(request, "progress.html", job=job, dataset=v.dataset.name, state=v.state)
    report = v.report
    language = language or None
    sentiment = _choice(sentiment, (*SENTIMENT_LABELS, "unscored"))
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
    n_assigned = None
    if report.themes is not None:
        n_assigned = report.themes.n_assigned if not filtered else None
    params = {"language": language, "sentiment": sentiment, "sort": sort if sort != "volume" else None}
    return _render(
        request, "overview.html", job=job, job_url=_job_url(request.scope.get("root_path", ""), v.job.id),
        dataset=v.dataset.name, report=report, state=v.state,
        state_detail=v.state_detail, rows=rows, chart=views.chart(rows), languages=languages, sentiments=sentiments,
        n_comments=n_comments, n_assigned=n_assigned, filtered=filtered, params=params, sorts=views.SORTS, sort=sort,
        all_languages=list(report.languages), editable=v.state == "fresh",
        mergeable=[r for r in rows if r["level"] == 1])


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
    root = request.scope.get("root_path", "")
    try:
        v = _job_view(request, job_id)
        if v.report is None:
            raise PageError(409, "Not ready", f"job {job_id} is {v.job.status}; its themes exist once it completes")
        theme = _find_theme(v.report, theme_id)
        if theme is None:
            target = _merged_into(request, v.report.model_id, theme_id) if v.report.model_id else None
            if target and target != theme_id:
                return _redirect(_theme_url(root, job_id, target),
                                 notice=f"theme {theme_id} was merged into this theme")
            if v.state == "updating":
                return _render(request, "progress.html", job=_job_out(v.job), dataset=v.dataset.name, state=v.state)
            raise PageError(404, "No such theme", f"job {job_id} has no theme {theme_id!r}")
    except PageError as exc:
        return _error_page(request, exc)
    repo = _repo(request)
    report = v.report
    themes = _themes_of(report)
    parent = _find_theme(report, theme.parent_id) if theme.parent_id else None
    subs = [views.theme_row(t) for t in themes if t.parent_id == theme.theme_id]
    siblings = [t for t in themes if t.level == theme.level and t.parent_id == theme.parent_id
                and t.theme_id != theme.theme_id]
    f = ThemeFilter(theme_id=theme.theme_id, subtheme=theme.level == 2, language=language or None,
                    sentiment=_choice(sentiment, SENTIMENT_LABELS),
                    mention_sentiment=_choice(clause_sentiment, SENTIMENT_LABELS), text=(q or "").strip() or None)
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
    return _render(
        request, "theme.html", per_language=per_language, job=_job_out(v.job), job_url=_job_url(root, v.job.id),
        theme_url=_theme_url(root, v.job.id, theme.theme_id), dataset=v.dataset.name, report=report, state=v.state,
        state_detail=v.state_detail, theme=theme, row=views.theme_row(theme), parent=parent, subs=subs,
        siblings=siblings, reps=reps, comments=comments, total=total, page=page, pages=pages, params=params,
        all_languages=list(report.languages), editable=v.state == "fresh", browsable=browsable,
        labels={t.theme_id: t.label for t in themes}, trend=theme.trend or [],
        impact=views.impact_text(theme.impact))


def _comment_rows(repo: Repository, v: _JobView, f: ThemeFilter, offset: int) -> list[dict[str, Any]]:
    text_col = ColumnMapping.from_dict(json.loads(v.dataset.mapping_json)).text
    out = []
    for c in repo.theme_comments(v.job.id, v.dataset.id, f, offset=offset, limit=PAGE_SIZE):
        text = str(c.record.get(text_col, ""))
        out.append({"c": c, "pieces": views.highlight(text, c.spans)})
    return out


@router.get("/jobs/{job_id}/themes/{theme_id}/comments.csv", response_model=None)
def theme_comments_csv(request: Request, job_id: str, theme_id: str, q: str | None = None,
                       language: str | None = None, sentiment: str | None = None,
                       clause_sentiment: str | None = None) -> StreamingResponse | HTMLResponse:
    try:
        v = _job_view(request, job_id)
        theme = _find_theme(v.report, theme_id) if v.report is not None else None
        if theme is None or v.state not in ("fresh", "updating", "failed"):
            raise PageError(404, "No such theme", f"job {job_id} has no browsable theme {theme_id!r}")
    except PageError as exc:
        return _error_page(request, exc)
    repo = _repo(request)
    f = ThemeFilter(theme_id=theme.theme_id, subtheme=theme.level == 2, language=language or None,
                    sentiment=_choice(sentiment, SENTIMENT_LABELS),
                    mention_sentiment=_choice(clause_sentiment, SENTIMENT_LABELS), text=(q or "").strip() or None)
    mapping = ColumnMapping.from_dict(json.loads(v.dataset.mapping_json))
    labels = {t.theme_id: t.label for t in _themes_of(v.report)}
    meta_cols = list(mapping.metadata.items())
    header = ["row", "id", "language", "sentiment", "sentiment_score", "theme_id", "theme", "main_theme",
              "theme_clause_sentiment", "subtheme_id", "subtheme", "theme_clauses", "text",
              *[f"meta_{k}" for k, _ in meta_cols]]

    def lines() -> Iterator[str]:
        buf = io.StringIO()
        w = csv.writer(buf)
        w.writerow(header)
        for batch in repo.iter_theme_comments(v.job.id, v.dataset.id, f):
            for c in batch:
                text = str(c.record.get(mapping.text, ""))
                w.writerow([c.row_idx + 1, views.csv_cell(c.comment_id), c.language, c.sentiment or "",
                            "" if c.sentiment_score is None else round(c.sentiment_score, 4), theme.theme_id,
                            views.csv_cell(theme.label), "yes" if c.rank == 0 else "no", c.mention_sentiment or "",
                            c.subtheme_id or "", views.csv_cell(labels.get(c.subtheme_id or "", "")),
                            views.csv_cell(" | ".join(text[a:b] for a, b in c.spans)), views.csv_cell(text),
                            *[views.csv_cell(_cell(c.record.get(col))) for _, col in meta_cols]])
            yield buf.getvalue()
            buf.seek(0)
            buf.truncate()
        yield buf.getvalue()

    stem = Path(v.dataset.name).stem or "dataset"
    filename = f"{stem}.{theme.theme_id}.comments.csv".replace('"', "")
    return StreamingResponse(lines(), media_type="text/csv; charset=utf-8",
                             headers={"Content-Disposition": f'attachment; filename="{filename}"'})


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


def _apply_edit(request: Request, job_id: str, form: FormData, apply: Callable[[ThemeModel], Sequence[str]],
                done: Callable[[list[str]], str], describe: str) -> HTMLResponse | RedirectResponse:
    root = request.scope.get("root_path", "")
    back = _local(str(form.get("next") or ""), _job_url(root, job_id))
    try:
        _same_origin(request)
        v = _job_view(request, job_id)
        if v.state != "fresh":
            raise PageError(409, "Themes are updating", "the previous edit is still being applied to this job's "
                            "comments; try again when the page has reloaded")
        if v.report is None or not v.report.model_id:
            raise PageError(409, "Not editable", v.state_detail or "this job has no stored theme model")
        try:
            changed = edit_model(theme_store(request, request.state.tenant), theme_pipeline(request), v.report.model_id,
                                 apply).changed
        except ApiError as exc:
            return _redirect(back, error=str(exc.detail))
        updater = _updater(request)
        updater.request(job_id)
        finished = updater.wait(job_id, EDIT_WAIT_S)
    except PageError as exc:
        return _error_page(request, exc)
    note = describe if finished else f"{describe}; re-assigning this job's comments, the page reloads when done"
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

    return await _threaded(_apply_edit, request, job_id, form, apply, lambda ids: _theme_url(root, job_id, ids[0]),
                           f"renamed to “{label}”")


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

    return await _threaded(_apply_edit, request, job_id, form, apply, lambda kept: _theme_url(root, job_id, kept[0]),
                           f"merged {len(ids)} themes" + (f" as “{label}”" if label else ""))


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

    return await _threaded(_apply_edit, request, job_id, form, apply, lambda ids: _theme_url(root, job_id, ids[0]),
                           f"split into {n} sub-themes")


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


async def _threaded(fn: Callable[..., Any], *args: Any) -> Any:
    """Edits load the model, re-assign and wait: off the event loop."""
    return await run_in_threadpool(fn, *args)
