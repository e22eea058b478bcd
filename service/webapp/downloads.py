"""Downloads of the current view (filters and order as shown): the overview's theme table and a theme's
comments, as CSV or XLSX (``exports.py`` writes the formats); share links offer the same."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from service.batch.columns import ColumnMapping
from service.themes.report import SENTIMENT_LABELS
from service.webapp import exports
from service.webapp.job_view import find_theme, job_view, repo, reported_view, themes_of
from service.webapp.jobs import overview_rows
from service.webapp.pages import PageError, choice, error_page
from service.webapp.theme_pages import theme_filter

router = APIRouter()


@router.get("/jobs/{job_id}/themes/{theme_id}/comments.{fmt}", response_model=None)
def theme_comments_export(request: Request, job_id: str, theme_id: str, fmt: str, q: str | None = None,
                          language: str | None = None, sentiment: str | None = None,
                          clause_sentiment: str | None = None) -> Response:
    return comments_export(request, job_id, theme_id, fmt, q, language, sentiment, clause_sentiment)


def comments_export(request: Request, job_id: str, theme_id: str, fmt: str, q: str | None, language: str | None,
                    sentiment: str | None, clause_sentiment: str | None) -> Response:
    """Every comment of the theme in the current view (its filters), as CSV or XLSX."""
    try:
        if fmt not in exports.FORMATS:
            raise PageError(404, "No such export", "exports are .csv or .xlsx")
        v = job_view(request, job_id)
        theme = find_theme(v.report, theme_id) if v.report is not None else None
        if theme is None or v.state not in ("fresh", "updating", "failed"):
            raise PageError(404, "No such theme", "job {job} has no theme {theme}", job=job_id, theme=theme_id)
    except PageError as exc:
        return error_page(request, exc)
    jobs = repo(request)
    f = theme_filter(theme, q, language, sentiment, clause_sentiment)
    mapping = ColumnMapping.from_dict(json.loads(v.dataset.mapping_json))
    labels = {t.theme_id: t.label for t in themes_of(v.report)}
    meta_cols = list(mapping.metadata.items())
    header = ["row", "id", "language", "sentiment", "sentiment_score", "theme_id", "theme", "main_theme",
              "theme_clause_sentiment", "subtheme_id", "subtheme", "theme_clauses", "text",
              *[f"meta_{k}" for k, _ in meta_cols]]

    def rows() -> Iterator[list[Any]]:
        for batch in jobs.iter_theme_comments(v.job.id, v.dataset.id, f):
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
    return theme_table_export(request, job_id, fmt, language, sentiment, sort)


def theme_table_export(request: Request, job_id: str, fmt: str, language: str | None, sentiment: str | None,
                       sort: str) -> Response:
    """The overview's theme table as shown (filters and order), as CSV or XLSX."""
    try:
        if fmt not in exports.FORMATS:
            raise PageError(404, "No such export", "exports are .csv or .xlsx")
        v = reported_view(request, job_id)
    except PageError as exc:
        return error_page(request, exc)
    rows, _ = overview_rows(request, v, language or None, choice(sentiment, (*SENTIMENT_LABELS, "unscored")), sort)
    stem = Path(v.dataset.name).stem or "dataset"
    return exports.response(fmt, f"{stem}.themes", exports.THEME_HEADER, exports.theme_cells(rows), sheet="themes")


def _cell(value: Any) -> Any:
    return "" if value is None else value
