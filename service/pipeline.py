"""The analysis pipeline: validation -> language -> sentiment -> themes, batched.

Stages follow a scikit-learn-like shape (``fit`` loads/learns, ``transform`` maps a batch)
so the API, the CLI and batch jobs share one code path and one set of loaded models.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Protocol

from service import __version__
from service.config import Settings
from service.language import LanguageIdentifier, LanguageResult
from service.schemas import CommentIn, CommentResult, LanguageOut, SentimentOut, ThemeOut
from service.text_validation import InvalidText, validate_text

log = logging.getLogger(__name__)


class SentimentStage(Protocol):
    version: str

    def transform(self, texts: Sequence[str], languages: Sequence[str]) -> list[SentimentOut]: ...


class ThemeStage(Protocol):
    version: str

    def transform(
        self, texts: Sequence[str], languages: Sequence[str], sentiments: Sequence[SentimentOut | None]
    ) -> list[list[ThemeOut]]: ...


def _language_out(r: LanguageResult) -> LanguageOut:
    return LanguageOut(code=r.code, confidence=min(1.0, max(0.0, r.confidence)), source=r.source)


class AnalysisPipeline:
    def __init__(
        self,
        settings: Settings,
        language: LanguageIdentifier,
        sentiment: SentimentStage | None = None,
        themes: ThemeStage | None = None,
    ) -> None:
        self.settings = settings
        self.language = language
        self.sentiment = sentiment
        self.themes = themes

    @classmethod
    def from_settings(cls, settings: Settings) -> "AnalysisPipeline":
        """Load every component once; optional components missing on disk are reported by readiness()."""
        language = LanguageIdentifier(
            languages=settings.languages,
            min_letters=settings.langid_min_letters,
            min_confidence=settings.langid_min_confidence,
            model_dir=settings.models_dir / "langid",
            lingua_high_accuracy=not settings.langid_low_memory,
        ).fit()
        return cls(settings, language, _load_sentiment(settings), _load_themes(settings))

    # -- status -----------------------------------------------------------------------
    def components(self) -> dict[str, str]:
        return {
            "service": __version__,
            "language": self.language.version if self.language.is_fitted else "not loaded",
            "sentiment": self.sentiment.version if self.sentiment else "not loaded",
            "themes": self.themes.version if self.themes else "not loaded",
        }

    @property
    def ready(self) -> bool:
        return self.language.is_fitted and self.sentiment is not None

    # -- work -------------------------------------------------------------------------
    def validate(self, comments: Sequence[CommentIn]) -> list[str | None]:
        """Per comment: None if usable, else the reason it is not."""
        reasons: list[str | None] = []
        for c in comments:
            try:
                validate_text(c.text, self.settings.max_chars_per_comment)
                reasons.append(None)
            except InvalidText as exc:
                reasons.append(str(exc))
        return reasons

    def analyze(
        self, comments: Sequence[CommentIn], reasons: Sequence[str | None] | None = None
    ) -> list[CommentResult]:
        """Analyse a batch; invalid comments come back with status 'error' and a reason.

        ``reasons`` (from :meth:`validate`) lets a caller that already validated skip doing it twice.
        """
        if reasons is None:
            reasons = self.validate(comments)
        elif len(reasons) != len(comments):
            raise ValueError("reasons must align with comments")
        good = [i for i, r in enumerate(reasons) if r is None]
        texts = [comments[i].text for i in good]
        langs = self.language.transform(texts, [comments[i].language for i in good])
        codes = [r.code for r in langs]
        sentiments: list[SentimentOut | None] = [None] * len(good)
        if self.sentiment is not None and texts:
            sentiments = list(self.sentiment.transform(texts, codes))
        themes: list[list[ThemeOut]] = [[] for _ in good]
        if self.themes is not None and texts:
            themes = self.themes.transform(texts, codes, sentiments)

        results: list[CommentResult] = [
            CommentResult(id=c.id, status="error", error=r, metadata=c.metadata) for c, r in zip(comments, reasons)
        ]
        for j, i in enumerate(good):
            c = comments[i]
            results[i] = CommentResult(
                id=c.id,
                language=_language_out(langs[j]),
                sentiment=sentiments[j],
                themes=themes[j],
                metadata=c.metadata,
            )
        return results


def _load_sentiment(settings: Settings) -> SentimentStage | None:
    path = settings.sentiment_path
    if not (path / "config.json").exists():
        log.warning("no sentiment model at %s; sentiment fields will be null", path)
        return None
    from service.sentiment import load_scorer  # noqa: PLC0415 - heavy import (torch) only when needed

    return load_scorer(path, settings)


def _load_themes(settings: Settings) -> ThemeStage | None:
    path = settings.themes_path
    if not (path / "taxonomy.yaml").exists():
        log.warning("no theme taxonomy at %s; theme fields will be empty", path)
        return None
    from service.themes import load_assigner  # noqa: PLC0415

    return load_assigner(path, settings)
