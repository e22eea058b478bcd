"""The analysis pipeline: validation -> language -> sentiment + theme vectors (one encoder pass) -> themes.

Stages follow a scikit-learn-like shape (``fit`` loads/learns, ``transform`` maps a batch)
so the API, the CLI and batch jobs share one code path and one set of loaded models.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from service import __version__, pii
from service.config import Settings
from service.language import LanguageIdentifier, LanguageResult
from service.encoder import E5File, read_e5_file
from service.schemas import CommentIn, CommentResult, LanguageOut, SentenceSentiment, SentimentOut, ThemeOut
from service.segmentation import Unit
from service.themes import ThemeComponents, themes_available
from service.text_validation import InvalidText, validate_text

log = logging.getLogger(__name__)


class SentimentStage(Protocol):
    version: str

    def transform(self, texts: Sequence[str], languages: Sequence[str]) -> list[SentimentOut]: ...


class ThemeStage(Protocol):
    version: str
    components: ThemeComponents

    def transform(
        self, texts: Sequence[str], languages: Sequence[str], sentiments: Sequence[SentimentOut | None],
        units: Sequence[Sequence[Unit]] | None = None, vectors: np.ndarray | None = None,
        components: ThemeComponents | None = None,
    ) -> list[list[ThemeOut]]: ...


@dataclass
class ThemeInputs:
    """What fitting themes on a batch needs, computed in the analysis pass (no second encoding).

    Aligned with the usable comments, in request order: ``indices`` are their positions.
    """

    indices: list[int]
    texts: list[str]
    languages: list[str]
    units: list[list[Unit]]
    vectors: np.ndarray                      # language-centred unit vectors, one per flattened unit
    unit_sentiments: list[SentenceSentiment] | None


def _language_out(r: LanguageResult) -> LanguageOut:
    return LanguageOut(code=r.code, confidence=min(1.0, max(0.0, r.confidence)), source=r.source,
                       hint_conflict=r.hint_conflict)


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
        if not (settings.models_dir / "langid").is_dir():
            raise FileNotFoundError(
                f"no shipped models in {settings.models_dir} (expected langid/, sentiment/, themes/): set "
                "TOUCHPOINTS_MODELS_DIR to the repository's models/ folder, or install the package with "
                "`pip install .`, which ships them inside it (service/_models)")
        language = LanguageIdentifier(
            languages=settings.languages,
            min_letters=settings.langid_min_letters,
            min_confidence=settings.langid_min_confidence,
            model_dir=settings.models_dir / "langid",
            lingua_high_accuracy=not settings.langid_low_memory,
        ).fit()
        themes_on = themes_available(settings.themes_path)
        file = read_e5_file() if themes_on or (settings.sentiment_path / "config.json").exists() else None
        sentiment = _load_sentiment(settings, file, shared_pass=themes_on)
        return cls(settings, language, sentiment, _load_themes(settings, file, getattr(sentiment, "shared", None)))

    # -- status -----------------------------------------------------------------------
    def components(self, themes: ThemeComponents | None = None) -> dict[str, str]:
        """The model versions; ``themes``: the taxonomy a call assigned with (a tenant's), if not the shipped one."""
        return {
            "service": __version__,
            "language": self.language.version if self.language.is_fitted else "not loaded",
            "sentiment": self.sentiment.version if self.sentiment else "not loaded",
            "themes": themes.version if themes is not None else self.themes.version if self.themes else "not loaded",
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
        self, comments: Sequence[CommentIn], reasons: Sequence[str | None] | None = None,
        redact: bool | None = None, themes: ThemeComponents | None = None,
    ) -> list[CommentResult]:
        """Analyse a batch; invalid comments come back with status 'error' and a reason.

        ``reasons`` (from :meth:`validate`) lets a caller that already validated skip doing it twice.
        ``redact`` (default ``settings.redact_pii``) and ``themes``: see :meth:`analyze_with_inputs`.
        """
        return self.analyze_with_inputs(comments, reasons, unit_sentiment=False, redact=redact, themes=themes)[0]

    def analyze_with_inputs(
        self, comments: Sequence[CommentIn], reasons: Sequence[str | None] | None = None, unit_sentiment: bool = True,
        redact: bool | None = None, themes: ThemeComponents | None = None,
    ) -> tuple[list[CommentResult], ThemeInputs | None]:
        """Like :meth:`analyze`, also returning the theme units and vectors (None without a theme stage).

        ``unit_sentiment`` scores every clause too (theme-level sentiment of reports); plain
        analysis skips it. With ``redact`` (default ``settings.redact_pii``) the personal data of each
        usable comment is replaced by placeholders (:mod:`service.pii`) first: only the redacted text
        is analysed, all offsets and ``inputs.texts`` refer to it, and each result carries it with
        the number of replaced spans. ``themes``: the taxonomy to assign touchpoints with (a tenant's, with its
        additions); default the shipped one.
        """
        if reasons is None:
            reasons = self.validate(comments)
        elif len(reasons) != len(comments):
            raise ValueError("reasons must align with comments")
        if redact is None:
            redact = self.settings.redact_pii
        good = [i for i, r in enumerate(reasons) if r is None]
        texts = [comments[i].text for i in good]
        redactions = [pii.redact(t) for t in texts] if redact else None
        if redactions is not None:
            texts = [r.text for r in redactions]
        langs = self.language.transform(texts, [comments[i].language for i in good])
        codes = [r.code for r in langs]
        sentiments: list[SentimentOut | None] = [None] * len(good)
        inputs: ThemeInputs | None = None
        segmenter = self.themes.components.segmenter if self.themes is not None else None
        sentences = segmenter.sentences(texts) if segmenter is not None else None  # split once, for both stages
        units = segmenter.transform(texts, sentences) if segmenter is not None else None
        unit_sents: list[SentenceSentiment] | None = None
        raw: np.ndarray | None = None
        if self.sentiment is not None and texts:
            if units is not None and getattr(self.sentiment, "shared", None) is not None:
                outs, unit_sents, raw = self.sentiment.transform_with_units(  # type: ignore[attr-defined]
                    texts, codes, units, unit_sentiment=unit_sentiment, sentences=sentences)
                sentiments = list(outs)
            else:
                sentiments = list(self.sentiment.transform(texts, codes))
        assigned: list[list[ThemeOut]] = [[] for _ in good]
        if self.themes is not None and units is not None:
            embedder = self.themes.components.embedder
            ulangs = [codes[u.comment] for us in units for u in us]
            vectors = (embedder.centering_.transform(raw, ulangs) if raw is not None
                       else embedder.transform([u.text for us in units for u in us], ulangs))
            if texts:
                assigned = self.themes.transform(texts, codes, sentiments, units, vectors, components=themes)
            inputs = ThemeInputs(good, texts, codes, units, vectors, unit_sents)

        results: list[CommentResult] = [
            CommentResult(id=c.id, status="error", error=r, metadata=c.metadata) for c, r in zip(comments, reasons)
        ]
        for j, i in enumerate(good):
            c = comments[i]
            results[i] = CommentResult(
                id=c.id,
                language=_language_out(langs[j]),
                sentiment=sentiments[j],
                themes=assigned[j],
                metadata=c.metadata,
                redacted=redactions[j].count if redactions is not None else None,
                redacted_text=texts[j] if redactions is not None else None,
            )
        return results, inputs


def _load_sentiment(settings: Settings, file: E5File | None, shared_pass: bool) -> SentimentStage | None:
    path = settings.sentiment_path
    if not (path / "config.json").exists():
        log.warning("no sentiment model at %s; sentiment fields will be null", path)
        return None
    from service.sentiment import load_scorer  # noqa: PLC0415 - heavy import (torch) only when needed

    return load_scorer(path, settings, file, shared_pass=shared_pass)


def _load_themes(settings: Settings, file: E5File | None, encoder: object | None) -> ThemeStage | None:
    if not themes_available(settings.themes_path):
        log.warning("no theme taxonomy / language means at %s; theme fields will be empty", settings.themes_path)
        return None
    from service.themes import ThemeAssigner  # noqa: PLC0415

    return ThemeAssigner(ThemeComponents.load(settings, file, encoder))  # type: ignore[arg-type]
