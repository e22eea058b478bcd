"""The theme report: what CX teams read (labels, keywords per language, examples, size, sentiment).

Pydantic models so the same object is the library return value, the API response and JSON on disk.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from pydantic import BaseModel, Field

from service.schemas import SentimentOut, ThemeOut
from service.themes.model import Assignment, ThemeModel

SENTIMENT_LABELS = ("negative", "neutral", "positive")


class SentimentSummary(BaseModel):
    n_scored: int = Field(description="Members with a sentiment result (0 while no sentiment model is loaded).")
    counts: dict[str, int] = Field(description="negative/neutral/positive -> members.")
    shares: dict[str, float] = Field(description="negative/neutral/positive -> share of scored members.")
    mean_score: float | None = Field(description="Mean P(pos)-P(neg); None when no member has a score.")


class RepresentativeComment(BaseModel):
    index: int = Field(description="Position in the input.")
    id: str | None = Field(default=None, description="The caller's id, when ids were given.")
    text: str
    language: str
    similarity: float


class ThemeSummary(BaseModel):
    theme_id: str
    label: str
    touchpoint: str | None = Field(description="Taxonomy key; None for a theme discovered outside the taxonomy.")
    discovered: bool
    size: int = Field(description="Comments whose primary theme this is.")
    share: float = Field(description="size / all comments in the input.")
    keywords: dict[str, list[str]] = Field(description="language -> top words of members in that language.")
    concepts: list[str] = Field(description="Strongest lexicon concepts of the theme, best first.")
    representative: list[RepresentativeComment]
    sentiment: SentimentSummary
    centroid: dict[str, float] = Field(description="Concept weights; pass back to /v1/themes/assign to reuse this theme.")


class ThemeReport(BaseModel):
    model_version: str
    n_comments: int
    n_assigned: int
    n_unassigned: int
    unassigned_share: float
    n_themes: int
    n_themes_auto: int = Field(description="How many themes the data supported on its own.")
    n_themes_requested: int | None
    languages: dict[str, int]
    ids: list[str] | None = Field(default=None, description="Caller ids aligned with assignments, when given.")
    themes: list[ThemeSummary]
    assignments: list[list[ThemeOut]] = Field(
        description="Per input comment, best first; [] = unassigned. Empty when include_assignments=False."
    )


SentimentLike = SentimentOut | Mapping[str, Any] | str | None


def _label_score(s: SentimentLike) -> tuple[str | None, float | None]:
    """Accept a SentimentOut, a dict with label/score, or a bare label (batch rows store only the label)."""
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


def _sentiment(members: Sequence[int], sentiments: Sequence[SentimentLike]) -> SentimentSummary:
    pairs = [_label_score(sentiments[i]) for i in members]
    labels = [lab for lab, _ in pairs if lab is not None]
    scores = [sc for _, sc in pairs if sc is not None]
    counts = Counter(labels)
    n = len(labels)
    return SentimentSummary(
        n_scored=n,
        counts={k: counts.get(k, 0) for k in SENTIMENT_LABELS},
        shares={k: round(counts.get(k, 0) / n, 4) if n else 0.0 for k in SENTIMENT_LABELS},
        mean_score=round(float(np.mean(scores)), 4) if scores else None,
    )


def theme_outs(model: ThemeModel, assigned: Sequence[Sequence[Assignment]]) -> list[list[ThemeOut]]:
    return [
        [ThemeOut(theme_id=model.themes[a.theme].theme_id, label=model.themes[a.theme].label,
                  confidence=round(min(1.0, max(0.0, a.confidence)), 4), touchpoint=model.themes[a.theme].touchpoint)
         for a in row]
        for row in assigned
    ]


def build_report(
    model: ThemeModel, texts: Sequence[str], languages: Sequence[str],
    sentiments: Sequence[SentimentLike], n_themes_requested: int | None = None,
    n_keywords: int = 5, n_examples: int = 3, ids: Sequence[str] | None = None,
) -> ThemeReport:
    """Summarise a fitted model's themes over the comments it was fitted on."""
    lex = model.taxonomy.lexicon
    n = len(texts)
    primary = [row[0].theme if row else -1 for row in model.assignments_]
    summaries: list[ThemeSummary] = []
    for t_idx, theme in enumerate(model.themes):
        members = [i for i, p in enumerate(primary) if p == t_idx]
        if not members:
            continue
        kw: dict[str, Counter[str]] = {}
        strong = theme.centroid >= 0.25 * float(theme.centroid.max())  # the theme's own concepts, not stray ones
        for i in members:
            for surface, concept in sorted({(m.surface, m.concept) for m in model.matches_[i]}):
                j = lex.index[concept]
                if strong[j]:
                    kw.setdefault(languages[i], Counter())[surface] += float(theme.centroid[j])
        keywords = {
            lang: [w for w, _ in sorted(c.items(), key=lambda x: (-x[1], x[0]))[:n_keywords]]
            for lang, c in sorted(kw.items())
        }
        if theme.residual is not None and model.discovery is not None:
            for lang in sorted({languages[i] for i in members}):
                words = model.discovery.top_terms([i for i in members if languages[i] == lang], texts, n_keywords)
                if words:
                    keywords[lang] = words
        conf = {i: model.assignments_[i][0].confidence for i in members}
        examples = sorted(members, key=lambda i: (-round(conf[i], 6), len(texts[i]), i))
        chosen: list[int] = []
        for i in examples:  # prefer covering several languages among the examples
            if len(chosen) < n_examples and languages[i] not in {languages[j] for j in chosen}:
                chosen.append(i)
        chosen += [i for i in examples if i not in chosen][: n_examples - len(chosen)]
        top = [lex.ids[j] for j in np.argsort(-theme.centroid, kind="stable")[:5] if theme.centroid[j] > 0]
        summaries.append(ThemeSummary(
            theme_id=theme.theme_id, label=theme.label, touchpoint=theme.touchpoint,
            discovered=theme.touchpoint is None, size=len(members), share=round(len(members) / n, 4),
            keywords=keywords, concepts=top,
            representative=[RepresentativeComment(index=i, id=ids[i] if ids is not None else None, text=texts[i],
                                                  language=languages[i], similarity=round(conf[i], 4)) for i in chosen],
            sentiment=_sentiment(members, sentiments),
            centroid={lex.ids[j]: round(float(x), 5) for j, x in enumerate(theme.centroid) if x > 1e-6},
        ))
    n_unassigned = sum(1 for p in primary if p < 0)
    return ThemeReport(
        model_version=model.version, n_comments=n, n_assigned=n - n_unassigned, n_unassigned=n_unassigned,
        unassigned_share=round(n_unassigned / n, 4) if n else 0.0, n_themes=len(summaries),
        n_themes_auto=model.n_themes_auto or 0, n_themes_requested=n_themes_requested,
        languages=dict(sorted(Counter(languages).items())), ids=list(ids) if ids is not None else None, themes=summaries,
        assignments=theme_outs(model, model.assignments_),
    )
