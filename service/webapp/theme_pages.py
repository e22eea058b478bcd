"""A theme's page: its labels, keywords and representative comments per language, its sub-themes, and its
comments paged and filtered in SQL (also opened read-only by share links)."""

from __future__ import annotations

import json
import math
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from service.api.errors import ApiError
from service.batch.columns import ColumnMapping
from service.storage import Repository
from service.storage.repository import ThemeFilter
from service.themes.model import ThemeModel
from service.themes.report import SENTIMENT_LABELS, ThemeSummary
from service.webapp import views
from service.webapp.job_view import (
    JobView, components, find_theme, history, job_out, job_url, repo, reported_view, store, themes_of,
)
from service.webapp.pages import PageError, choice, error_page, redirect, render, root, tr

router = APIRouter()
PAGE_SIZE = 50


def _merged_into(request: Request, model_id: str, theme_id: str) -> str | None:
    """The live theme a merged-away (or split-away) theme id went to, from the stored model."""
    try:
        stored = store(request).open(model_id, components(request), with_fit=False)
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
    base = job_url(root(request), job_id)
    return theme_detail(request, job_id, theme_id, base, False, q, language, sentiment, clause_sentiment, page)


def theme_filter(theme: ThemeSummary, q: str | None, language: str | None, sentiment: str | None,
                 clause_sentiment: str | None) -> ThemeFilter:
    """The comments of ``theme`` in the page's view (its query-string filters)."""
    return ThemeFilter(theme_id=theme.theme_id, subtheme=theme.level == 2, language=language or None,
                       sentiment=choice(sentiment, SENTIMENT_LABELS),
                       mention_sentiment=choice(clause_sentiment, SENTIMENT_LABELS), text=(q or "").strip() or None)


def theme_detail(request: Request, job_id: str, theme_id: str, base: str, readonly: bool, q: str | None,
                 language: str | None, sentiment: str | None, clause_sentiment: str | None,
                 page: int) -> HTMLResponse | RedirectResponse:
    """The theme page; ``base`` is the job's URL (its share link's when ``readonly``)."""
    try:
        v = reported_view(request, job_id)
        theme = find_theme(v.report, theme_id)
        if theme is None:
            target = _merged_into(request, v.report.model_id, theme_id) if v.report.model_id else None
            if target and target != theme_id:
                return redirect(f"{base}/themes/{quote(target, safe='')}",
                                notice=tr(request)("theme {theme} was merged into this theme", theme=theme_id))
            if v.state == "updating":
                return render(request, "progress.html", job=job_out(v.job), dataset=v.dataset.name, state=v.state,
                              readonly=readonly)
            raise PageError(404, "No such theme", "job {job} has no theme {theme}", job=job_id, theme=theme_id)
    except PageError as exc:
        return error_page(request, exc)
    jobs = repo(request)
    report = v.report
    themes = themes_of(report)
    parent = find_theme(report, theme.parent_id) if theme.parent_id else None
    subs = [views.theme_row(t) for t in themes if t.parent_id == theme.theme_id]
    siblings = [t for t in themes if t.level == theme.level and t.parent_id == theme.parent_id
                and t.theme_id != theme.theme_id]
    f = theme_filter(theme, q, language, sentiment, clause_sentiment)
    browsable = v.state in ("fresh", "updating", "failed")
    total = jobs.count_theme_comments(v.job.id, f) if browsable else 0
    pages = max(1, math.ceil(total / PAGE_SIZE))
    page = min(page, pages)
    comments = _comment_rows(jobs, v, f, (page - 1) * PAGE_SIZE) if browsable else []
    params = {"q": f.text, "language": f.language, "sentiment": f.sentiment, "clause_sentiment": f.mention_sentiment}
    reps = {lang: [{"rep": r, "pieces": views.highlight_clause(r.text, r.clause)} for r in items]
            for lang, items in theme.representative.items()}
    order = {lang: k for k, lang in enumerate(("sv", "da", "fi", "en"))}
    per_language = sorted({*theme.keywords, *theme.representative, *theme.labels}, key=lambda x: (order.get(x, 9), x))
    top_id = theme.parent_id or theme.theme_id
    return render(
        request, "theme.html", per_language=per_language, job=job_out(v.job), job_url=base,
        theme_url=f"{base}/themes/{quote(theme.theme_id, safe='')}", dataset=v.dataset.name, report=report,
        state=v.state, state_detail=v.state_detail, theme=theme, row=views.theme_row(theme), parent=parent, subs=subs,
        siblings=siblings, reps=reps, comments=comments, total=total, page=page, pages=pages, params=params,
        all_languages=list(report.languages), editable=v.state == "fresh" and not readonly, browsable=browsable,
        readonly=readonly, labels={t.theme_id: t.label for t in themes}, trend=theme.trend or [],
        impact=views.impact_text(theme.impact),
        move_targets=[t for t in themes if t.level == 1 and t.theme_id != top_id],
        history=[] if readonly else history(request, v, 10))


def _comment_rows(jobs: Repository, v: JobView, f: ThemeFilter, offset: int) -> list[dict[str, Any]]:
    text_col = ColumnMapping.from_dict(json.loads(v.dataset.mapping_json)).text
    out = []
    for c in jobs.theme_comments(v.job.id, v.dataset.id, f, offset=offset, limit=PAGE_SIZE):
        text = str(c.record.get(text_col, ""))
        out.append({"c": c, "pieces": views.highlight(text, c.spans)})
    return out
