"""The theme report: one typed object, built once from a fitted model, stored by batch jobs, returned
by the API and rendered to HTML/CSV. What CX teams read per theme: labels, keywords and central
comments per language, volume and share, the sentiment of the clauses that carry the theme, the
theme's impact on NPS/CSAT when comments carry a score, and a trend when they carry a timestamp.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, Field

from service.schemas import SentimentOut, ThemeOut
from service.segmentation import Unit
from service.themes.model import CommentTheme, ThemeModel
from service.themes.representation import central

SENTIMENT_LABELS = ("negative", "neutral", "positive")
SentimentLike = SentimentOut | Mapping[str, Any] | str | None


class SentimentSummary(BaseModel):
    n_scored: int = Field(description="Mentions with a sentiment result.")
    counts: dict[str, int] = Field(description="negative/neutral/positive -> mentions.")
    shares: dict[str, float] = Field(description="negative/neutral/positive -> share of scored mentions.")
    mean_score: float | None = Field(description="Mean P(pos)-P(neg); None when no mention has a score.")


class RepresentativeComment(BaseModel):
    index: int = Field(description="Position in the input.")
    id: str | None = Field(default=None, description="The caller's id, when ids were given.")
    text: str = Field(description="The whole comment.")
    clause: str = Field(description="The part of the comment that carries the theme.")
    language: str
    similarity: float = Field(description="Cosine to the theme centroid (how central the comment is).")


class ScoreImpact(BaseModel):
    """How the score of comments with the theme differs from those without (normal-approximation 95% CI)."""

    metric: Literal["nps", "mean"]
    n_with: int
    n_without: int
    with_theme: float
    without_theme: float
    difference: float
    ci_low: float
    ci_high: float


class TrendPoint(BaseModel):
    period: str = Field(description="YYYY-MM, YYYY-Www or YYYY-MM-DD, by the span of the timestamps.")
    n_comments: int = Field(description="Comments in the period (all themes).")
    n_theme: int
    share: float
    mean_sentiment: float | None


class ThemeSummary(BaseModel):
    theme_id: str
    parent_id: str | None = Field(description="The top-level theme of a sub-theme; None at the top level.")
    level: int = Field(description="1 = touchpoint or discovered theme, 2 = sub-theme.")
    label: str
    labels: dict[str, str] = Field(description="language -> label (taxonomy labels; keywords for discovered themes).")
    touchpoint: str | None = Field(description="Taxonomy key; None for a theme discovered outside the taxonomy.")
    discovered: bool
    edited: bool = Field(description="Renamed, merged or split by a person.")
    size: int = Field(description="Comments that mention the theme.")
    share: float = Field(description="size / all comments.")
    n_main: int = Field(description="Comments whose main theme this is.")
    keywords: dict[str, list[str]] = Field(description="language -> c-TF-IDF keywords.")
    representative: dict[str, list[RepresentativeComment]] = Field(description="language -> most central comments.")
    sentiment: SentimentSummary = Field(description="Sentiment of the clauses carrying the theme (aspect sentiment).")
    impact: ScoreImpact | None = None
    trend: list[TrendPoint] | None = None


class ThemeReport(BaseModel):
    model_id: str | None = Field(default=None, description="Stored model: assign new comments to these themes.")
    model_version: str
    n_comments: int
    n_assigned: int
    n_unassigned: int
    unassigned_share: float
    n_themes: int = Field(description="Top-level themes with at least one comment.")
    n_subthemes: int
    languages: dict[str, int]
    sentiment_level: Literal["clause", "comment", "none"] = Field(
        description="clause = theme sentiment from the clauses carrying it; comment = whole-comment sentiment.")
    score_metric: Literal["nps", "mean"] | None = Field(description="How metadata scores were read, if any.")
    ids: list[str] | None = Field(default=None, description="Caller ids aligned with assignments, when given.")
    themes: list[ThemeSummary]
    assignments: list[list[ThemeOut]] = Field(
        default_factory=list, description="Per input comment, main theme first; [] = unassigned (omitted for big dumps).")


def label_score(s: SentimentLike) -> tuple[str | None, float | None]:
    """A SentimentOut, a dict with label/score, or a bare label (batch rows store the label and score)."""
    if s is None:
        return None, None
    if isinstance(s, str):
        return (s, None) if s in SENTIMENT_LABELS else (None, None)
    if isinstance(s, Mapping):
        label, score = s.get("label"), s.get("score")
    else:
        label, score = getattr(s, "label", None), getattr(s, "score", None)
    label = label if label in SENTIMENT_LABELS else None
    score = float(score) if isinstance(score, (int, float)) and label is not None else None
    return label, score


def summarise_sentiment(pairs: Sequence[tuple[str | None, float | None]]) -> SentimentSummary:
    labels = [lab for lab, _ in pairs if lab is not None]
    scores = [sc for _, sc in pairs if sc is not None]
    counts = Counter(labels)
    n = len(labels)
    return SentimentSummary(
        n_scored=n, counts={k: counts.get(k, 0) for k in SENTIMENT_LABELS},
        shares={k: round(counts.get(k, 0) / n, 4) if n else 0.0 for k in SENTIMENT_LABELS},
        mean_score=round(float(np.mean(scores)), 4) if scores else None,
    )


def score_metric(scores: Sequence[float | None]) -> Literal["nps", "mean"] | None:
    """NPS when every score is an integer 0..10 and some exceed 5 (a 1-5 CSAT scale never does)."""
    vals = [s for s in scores if s is not None and math.isfinite(s)]
    if len(vals) < 2:
        return None
    if all(float(v).is_integer() and 0 <= v <= 10 for v in vals) and max(vals) > 5:
        return "nps"
    return "mean"


def _nps(v: np.ndarray) -> tuple[float, float]:
    """(NPS in points, its variance): promoters 9-10 minus detractors 0-6."""
    p, d = float(np.mean(v >= 9)), float(np.mean(v <= 6))
    return 100 * (p - d), 100**2 * (p + d - (p - d) ** 2) / len(v)


def impact(with_idx: np.ndarray, scores: np.ndarray, metric: Literal["nps", "mean"]) -> ScoreImpact | None:
    """Score of comments with the theme vs without it; None when either side has fewer than 2 scores."""
    has = ~np.isnan(scores)
    w = scores[with_idx[has[with_idx]]]
    mask = np.ones(len(scores), bool)
    mask[with_idx] = False
    wo = scores[mask & has]
    if len(w) < 2 or len(wo) < 2:
        return None
    if metric == "nps":
        (a, va), (b, vb) = _nps(w), _nps(wo)
    else:
        a, va, b, vb = float(w.mean()), float(w.var(ddof=1) / len(w)), float(wo.mean()), float(wo.var(ddof=1) / len(wo))
    half = 1.96 * math.sqrt(va + vb)
    return ScoreImpact(metric=metric, n_with=len(w), n_without=len(wo), with_theme=round(a, 3), without_theme=round(b, 3),
                       difference=round(a - b, 3), ci_low=round(a - b - half, 3), ci_high=round(a - b + half, 3))


def _periods(times: Sequence[datetime | None]) -> list[str | None]:
    known = [t for t in times if t is not None]
    if len(known) < 2:
        return [None] * len(times)
    span = (max(known) - min(known)).days
    fmt = (lambda t: t.strftime("%Y-%m")) if span > 62 else (
        (lambda t: f"{t.isocalendar()[0]}-W{t.isocalendar()[1]:02d}") if span > 14 else (lambda t: t.strftime("%Y-%m-%d")))
    return [fmt(t) if t is not None else None for t in times]


def theme_outs(model: ThemeModel, rows: Sequence[Sequence[CommentTheme]]) -> list[list[ThemeOut]]:
    out = []
    for row in rows:
        items = []
        for c in row:
            th = model.themes_[c.theme]
            sub = model.themes_[c.sub] if c.sub is not None else None
            items.append(ThemeOut(theme_id=th.theme_id, label=th.label, touchpoint=th.touchpoint,
                                  confidence=round(min(1.0, max(0.0, c.confidence)), 4),
                                  subtheme_id=sub.theme_id if sub else None, subtheme_label=sub.label if sub else None))
        out.append(items)
    return out


def build_report(
    model: ThemeModel, texts: Sequence[str], languages: Sequence[str], sentiments: Sequence[SentimentLike] | None = None,
    unit_sentiments: Sequence[SentimentLike] | None = None, ids: Sequence[str] | None = None,
    scores: Sequence[float | None] | None = None, timestamps: Sequence[datetime | None] | None = None,
    rows: Sequence[Sequence[CommentTheme]] | None = None, units: Sequence[Unit] | None = None,
    vectors: np.ndarray | None = None, include_assignments: bool = True,
    n_examples: int = 3, model_id: str | None = None, version: str = "",
) -> ThemeReport:
    """Summarise ``model``'s themes over the comments it was fitted on, or, given ``rows`` (their
    assignments), ``units`` (flattened, ``unit.comment`` indexing ``texts``) and ``vectors``, over any
    other comments, e.g. a whole dump assigned to a model fitted on a sample of it."""
    n = len(texts)
    if rows is None:
        rows = model.apply_edits(model.comment_themes(model.units_, model.unit_hits_, model.n_comments_), texts,
                                 languages, model.units_)
        units, vectors = model.units_, model.vectors_
    elif units is None or vectors is None:
        raise ValueError("rows need their units and vectors")
    if len(rows) != n:
        raise ValueError(f"{len(rows)} assignments for {n} comments")
    if unit_sentiments is not None and len(unit_sentiments) != len(units):
        raise ValueError("unit_sentiments must align with the units")
    sents = [label_score(s) for s in sentiments] if sentiments is not None else [(None, None)] * n
    usents = [label_score(s) for s in unit_sentiments] if unit_sentiments is not None else None
    level: Literal["clause", "comment", "none"] = "clause" if usents is not None else (
        "comment" if any(lab for lab, _ in sents) else "none")
    metric = score_metric(scores) if scores is not None else None
    score_arr = np.array([np.nan if s is None else float(s) for s in scores], dtype=float) if metric else None
    periods = _periods(timestamps) if timestamps is not None else [None] * n
    period_n = Counter(p for p in periods if p is not None)

    unit_langs = [languages[u.comment] for u in units]
    members: dict[int, list[tuple[int, CommentTheme]]] = {}
    for i, row in enumerate(rows):
        for c in row:
            members.setdefault(model.canonical(c.theme), []).append((i, c))
            if c.sub is not None:
                members.setdefault(model.canonical(c.sub), []).append((i, c))
    X = vectors
    summaries: list[ThemeSummary] = []
    for t, theme in enumerate(model.themes_):
        got = members.get(t)
        if theme.merged_into is not None or not got:
            continue
        comments = sorted({i for i, _ in got})
        # aspect sentiment: the clauses that carry the theme; whole-comment sentiment otherwise
        pairs = []
        for i, c in got:
            carried = [k for k in c.units if not units[k].whole] if usents is not None else []
            if carried:
                labs = [usents[k] for k in carried]
                lab = Counter(lab for lab, _ in labs if lab).most_common(1)
                sc = [s for _, s in labs if s is not None]
                pairs.append((lab[0][0] if lab else None, float(np.mean(sc)) if sc else None))
            else:
                pairs.append(sents[i])
        reps: dict[str, list[RepresentativeComment]] = {}
        carrying = np.array(sorted({k for _, c in got for k in c.units}), dtype=int)
        if len(carrying):
            for lang, picked in central(X, carrying, theme.centroid, unit_langs, n_examples * 3).items():
                seen: set[int] = set()
                for k, sim in picked:
                    i = units[k].comment
                    if i in seen or len(seen) >= n_examples:
                        continue
                    seen.add(i)
                    reps.setdefault(lang, []).append(RepresentativeComment(
                        index=i, id=ids[i] if ids is not None else None, text=texts[i], clause=units[k].text,
                        language=lang, similarity=round(float(sim), 4)))
        trend = None
        if period_n:
            in_theme = Counter(periods[i] for i in comments if periods[i] is not None)
            ts: dict[str, list[float]] = {}
            for (i, _), (_, sc) in zip(got, pairs):
                if periods[i] is not None and sc is not None:
                    ts.setdefault(periods[i], []).append(sc)
            trend = [TrendPoint(period=p, n_comments=period_n[p], n_theme=in_theme.get(p, 0),
                                share=round(in_theme.get(p, 0) / period_n[p], 4),
                                mean_sentiment=round(float(np.mean(ts[p])), 4) if p in ts else None)
                     for p in sorted(period_n)]
        parent = model.themes_[theme.parent] if theme.parent is not None else None
        summaries.append(ThemeSummary(
            theme_id=theme.theme_id, parent_id=parent.theme_id if parent else None, level=2 if parent else 1,
            label=theme.label, labels=theme.labels, touchpoint=theme.touchpoint, discovered=theme.discovered,
            edited=theme.edited, size=len(comments), share=round(len(comments) / n, 4) if n else 0.0,
            n_main=sum(1 for i in comments if rows[i] and model.canonical(rows[i][0].theme) == t),
            keywords=theme.keywords, representative=reps, sentiment=summarise_sentiment(pairs),
            impact=impact(np.array(comments), score_arr, metric) if metric and score_arr is not None else None,
            trend=trend,
        ))
    summaries.sort(key=lambda s: (s.level, -s.size, s.theme_id))
    order = {s.theme_id: k for k, s in enumerate(summaries) if s.level == 1}
    summaries.sort(key=lambda s: (order.get(s.parent_id or s.theme_id, 0), s.level, -s.size, s.theme_id))
    n_un = sum(1 for r in rows if not r)
    return ThemeReport(
        model_id=model_id, model_version=version, n_comments=n, n_assigned=n - n_un, n_unassigned=n_un,
        unassigned_share=round(n_un / n, 4) if n else 0.0, n_themes=sum(1 for s in summaries if s.level == 1),
        n_subthemes=sum(1 for s in summaries if s.level == 2), languages=dict(sorted(Counter(languages).items())),
        sentiment_level=level, score_metric=metric, ids=list(ids) if ids is not None and include_assignments else None,
        themes=summaries, assignments=theme_outs(model, rows) if include_assignments else [],
    )
