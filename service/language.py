"""Language identification tuned for short survey comments.

Why not langdetect alone: on one- or two-word comments ("Bra service") it is close to a
coin flip between sv/da/no. We use lingua (n-gram models of 1-5 characters, built for
short text, deterministic) restricted to the configured languages plus a set of
*distractor* languages. Distractors exist so that Norwegian or German text is not
silently forced into sv/da: if a distractor wins, the comment is reported with that
language's own code (``no`` for Bokmål/Nynorsk) or ``und``. langdetect is kept as a
second opinion for longer texts, where it is strong, with a fixed seed so results are
reproducible. ``training/eval_langid.py`` measures each backend.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

UND = "und"
Backend = Literal["lingua", "langdetect", "ensemble"]

# ISO 639-1 codes the service can be configured for, mapped to lingua names.
_LINGUA_NAMES = {
    "sv": "SWEDISH", "da": "DANISH", "fi": "FINNISH", "en": "ENGLISH",
    "nb": "BOKMAL", "nn": "NYNORSK", "de": "GERMAN", "nl": "DUTCH", "is": "ICELANDIC",
    "et": "ESTONIAN", "fr": "FRENCH", "es": "SPANISH", "it": "ITALIAN", "pl": "POLISH",
    "pt": "PORTUGUESE",
}
# Languages a Nordic survey plausibly receives that we do not analyse.
DEFAULT_DISTRACTORS = ("nb", "nn", "de", "nl", "is", "et", "fr", "es", "it", "pl", "pt")
# Codes reported for distractors (Bokmål and Nynorsk are both "no" to a survey user).
_REPORTED_CODE = {"nb": "no", "nn": "no"}
# Below this many letters langdetect is unreliable and is ignored in the ensemble.
_LANGDETECT_MIN_LETTERS = 25


@dataclass(frozen=True)
class LanguageResult:
    """One comment's language: ``code`` is a configured language, ``und`` or another code."""

    code: str
    confidence: float
    source: Literal["detected", "hint", "rule"] = "detected"
    scores: dict[str, float] = field(default_factory=dict)


def count_letters(text: str) -> int:
    return sum(1 for ch in text if unicodedata.category(ch).startswith("L"))


class LanguageIdentifier:
    """fit/transform stage: texts (+ optional hints) -> :class:`LanguageResult` per text."""

    def __init__(
        self,
        languages: Sequence[str] = ("sv", "da", "fi", "en"),
        distractors: Sequence[str] = DEFAULT_DISTRACTORS,
        min_letters: int = 2,
        min_confidence: float = 0.35,
        backend: Backend = "ensemble",
    ) -> None:
        unknown = [c for c in (*languages, *distractors) if c not in _LINGUA_NAMES]
        if unknown:
            raise ValueError(f"unsupported language codes: {unknown}")
        self.languages = tuple(languages)
        self.distractors = tuple(c for c in distractors if c not in self.languages)
        self.min_letters = min_letters
        self.min_confidence = min_confidence
        self.backend = backend
        self._lingua = None
        self._langdetect_factory = None

    # -- fit ------------------------------------------------------------------------
    def fit(self, X: object = None, y: object = None) -> "LanguageIdentifier":
        """Load the detectors (pre-trained models shipped inside the lingua/langdetect wheels)."""
        if self.backend in ("lingua", "ensemble") and self._lingua is None:
            from lingua import Language, LanguageDetectorBuilder

            langs = [getattr(Language, _LINGUA_NAMES[c]) for c in (*self.languages, *self.distractors)]
            self._lingua = (
                LanguageDetectorBuilder.from_languages(*langs).with_preloaded_language_models().build()
            )
        if self.backend in ("langdetect", "ensemble") and self._langdetect_factory is None:
            from langdetect.detector_factory import DetectorFactory, init_factory

            init_factory()
            DetectorFactory.seed = 0  # deterministic sampling
            from langdetect import detector_factory

            self._langdetect_factory = detector_factory._factory
        return self

    @property
    def is_fitted(self) -> bool:
        need_lingua = self.backend in ("lingua", "ensemble")
        need_ld = self.backend in ("langdetect", "ensemble")
        return (not need_lingua or self._lingua is not None) and (
            not need_ld or self._langdetect_factory is not None
        )

    # -- transform ------------------------------------------------------------------
    def transform(
        self, texts: Sequence[str], hints: Sequence[str | None] | None = None
    ) -> list[LanguageResult]:
        if not self.is_fitted:
            self.fit()
        hints = list(hints) if hints is not None else [None] * len(texts)
        if len(hints) != len(texts):
            raise ValueError("hints must align with texts")
        return [self._identify(t, h) for t, h in zip(texts, hints)]

    def predict(self, texts: Sequence[str]) -> list[str]:
        return [r.code for r in self.transform(texts)]

    # -- internals ------------------------------------------------------------------
    def _scores(self, text: str, letters: int) -> dict[str, float]:
        """Probability per candidate code (configured + distractors), summing to ~1."""
        candidates = (*self.languages, *self.distractors)
        lingua_scores: dict[str, float] = {}
        if self._lingua is not None:
            for cv in self._lingua.compute_language_confidence_values(text):
                lingua_scores[cv.language.iso_code_639_1.name.lower()] = cv.value
        ld_scores: dict[str, float] = {}
        if self._langdetect_factory is not None and (
            self.backend == "langdetect" or letters >= _LANGDETECT_MIN_LETTERS
        ):
            ld_scores = self._langdetect_probs(text, candidates)
        if not lingua_scores:
            return ld_scores
        if not ld_scores:
            return lingua_scores
        # Product of experts (geometric mean), smoothed so one zero does not veto.
        eps = 1e-3
        raw = {
            c: ((lingua_scores.get(c, 0.0) + eps) * (ld_scores.get(c, 0.0) + eps)) ** 0.5
            for c in candidates
        }
        total = sum(raw.values()) or 1.0
        return {c: v / total for c, v in raw.items()}

    def _langdetect_probs(self, text: str, candidates: Sequence[str]) -> dict[str, float]:
        from langdetect.lang_detect_exception import LangDetectException

        detector = self._langdetect_factory.create()
        detector.append(text)
        try:
            probs = detector.get_probabilities()
        except LangDetectException:
            return {}
        mapped: dict[str, float] = {}
        for p in probs:
            code = "nb" if p.lang == "no" else p.lang
            if code in candidates:
                mapped[code] = mapped.get(code, 0.0) + p.prob
        total = sum(mapped.values())
        return {c: v / total for c, v in mapped.items()} if total > 0 else {}

    def _identify(self, text: str, hint: str | None) -> LanguageResult:
        letters = count_letters(text)
        hint = hint.lower().strip() if hint else None
        if letters < self.min_letters:
            # Emoji-only, digits, punctuation: nothing to detect. A valid hint is trusted.
            if hint in self.languages:
                return LanguageResult(hint, 1.0, "hint")
            return LanguageResult(UND, 1.0, "rule")
        scores = self._scores(text, letters)
        if not scores:
            return LanguageResult(UND, 0.0, "detected")
        # Fold Bokmål+Nynorsk into one "no" score so Norwegian is not split and lost.
        folded: dict[str, float] = {}
        for code, value in scores.items():
            reported = _REPORTED_CODE.get(code, code)
            folded[reported] = folded.get(reported, 0.0) + value
        ranked = sorted(folded.items(), key=lambda kv: (-kv[1], kv[0]))
        top, top_p = ranked[0]
        rounded = {c: round(v, 4) for c, v in ranked[:5]}
        if hint in self.languages:
            # A hint wins unless the text clearly says otherwise.
            if top == hint or folded.get(hint, 0.0) >= 0.5 * top_p or top_p < self.min_confidence:
                return LanguageResult(hint, round(max(folded.get(hint, 0.0), top_p if top == hint else 0.0), 4), "hint", rounded)
        if top_p < self.min_confidence:
            return LanguageResult(UND, round(top_p, 4), "detected", rounded)
        return LanguageResult(top, round(top_p, 4), "detected", rounded)
