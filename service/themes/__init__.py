"""Touchpoint themes: multilingual concept features + seeded k-means, a taxonomy, reports and assignment.

Public API (stable; the batch jobs and the HTTP routes import these):

- ``cluster_comments(texts, languages, sentiments, n_themes=None, settings=None) -> ThemeReport``
- ``fit_themes(...) -> (ThemeModel, ThemeReport)`` when the fitted model is needed for later assignment
- ``load_assigner(path, settings) -> ThemeAssigner`` the pipeline stage behind ``/v1/comments/analyze``
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

from service.config import Settings, get_settings
from service.schemas import SentimentOut, ThemeOut
from service.themes.model import ThemeModel, ThemeParams
from service.themes.report import SentimentLike, ThemeReport, build_report, theme_outs
from service.themes.taxonomy import Taxonomy

__all__ = [
    "ThemeAssigner", "ThemeModel", "ThemeParams", "ThemeReport", "Taxonomy",
    "cluster_comments", "fit_themes", "load_assigner", "load_taxonomy", "params_from_settings",
]


def params_from_settings(settings: Settings) -> ThemeParams:
    return ThemeParams(
        min_theme_size=settings.themes_min_theme_size,
        min_theme_share=settings.themes_min_theme_share,
        max_themes=settings.themes_max_themes,
        min_confidence=settings.themes_min_confidence,
        fallback_min_similarity=settings.themes_fallback_min_similarity,
    )


@lru_cache(maxsize=4)
def load_taxonomy(path: Path) -> Taxonomy:
    """``path`` is the themes directory (holding taxonomy.yaml) or the taxonomy file itself."""
    return Taxonomy.load(path / "taxonomy.yaml" if path.is_dir() else path)


class ThemeAssigner:
    """Pipeline stage: assigns each comment to taxonomy touchpoints (no clustering, real-time)."""

    def __init__(self, model: ThemeModel) -> None:
        self.model = model
        self.version = model.version

    def transform(
        self, texts: Sequence[str], languages: Sequence[str], sentiments: Sequence[SentimentOut | None]
    ) -> list[list[ThemeOut]]:
        return theme_outs(self.model, self.model.predict(texts, languages))


def load_assigner(path: Path, settings: Settings) -> ThemeAssigner:
    return ThemeAssigner(ThemeModel.from_taxonomy(load_taxonomy(path), params_from_settings(settings)))


def fit_themes(
    texts: Sequence[str], languages: Sequence[str], sentiments: Sequence[SentimentLike] | None = None,
    n_themes: int | None = None, settings: Settings | None = None, ids: Sequence[str] | None = None,
) -> tuple[ThemeModel, ThemeReport]:
    """Like :func:`cluster_comments`, also returning the fitted model (``model.predict`` assigns new comments)."""
    settings = settings or get_settings()
    if not (len(texts) == len(languages) and (sentiments is None or len(sentiments) == len(texts))
            and (ids is None or len(ids) == len(texts))):
        raise ValueError("texts, languages, sentiments and ids must have the same length")
    sents = list(sentiments) if sentiments is not None else [None] * len(texts)
    langs = [lang or "und" for lang in languages]
    model = ThemeModel(load_taxonomy(settings.themes_path), params_from_settings(settings))
    model.fit(texts, langs, n_themes=n_themes)
    return model, build_report(model, texts, langs, sents, n_themes_requested=n_themes, ids=ids)


def cluster_comments(
    texts: Sequence[str], languages: Sequence[str], sentiments: Sequence[SentimentLike] | None = None,
    n_themes: int | None = None, settings: Settings | None = None, ids: Sequence[str] | None = None,
    include_assignments: bool = True,
) -> ThemeReport:
    """Group comments into touchpoint themes and summarise them.

    Args:
        texts: comment texts (already validated; empty strings simply get no theme).
        languages: one code per text (sv/da/fi/en, or anything else, e.g. 'und').
        sentiments: per text a ``SentimentOut``, a dict with label/score, a bare label string, or None
            (None until a sentiment model is loaded; a bare label gives the distribution but no mean score).
        n_themes: ask for this many themes (1..settings.themes_max_themes; merges or splits themes);
            fewer come back only when the comments cannot be split further. None = automatic.
        settings: defaults to ``get_settings()`` (taxonomy location and themes_* knobs).
        ids: optional caller ids, echoed in the report (``ids``, representative comments).
        include_assignments: False leaves ``assignments`` empty (a smaller report for big dumps).

    Returns:
        ``ThemeReport`` (pydantic; ``.model_dump(mode="json")`` is JSON-serialisable): themes with label,
        touchpoint (None = discovered), per-language keywords, representative comments, size, share,
        sentiment distribution and mean score, plus per-comment assignments and the unassigned count.
        The same input and settings always give the same report.

    Raises:
        ValueError: mismatched lengths, zero comments, or n_themes out of range.
    """
    report = fit_themes(texts, languages, sentiments, n_themes, settings, ids)[1]
    if not include_assignments:
        report.assignments, report.ids = [], None
    return report
