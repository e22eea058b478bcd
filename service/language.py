"""Language identification tuned for short survey comments.

Why not langdetect alone: on one- or two-word comments ("Bra service") it is close to a
coin flip between sv/da/no. The default ``ensemble`` backend decides among the configured
languages with an in-domain character n-gram model (``service/langid_model.py``, trained
on customer reviews by ``training/train_langid.py``), and asks lingua — a general detector
that also knows Norwegian, German, Dutch… (the *distractors*) — whether the text is in
none of them: if a distractor wins clearly, the comment is reported with that language's
own code (``no`` for Bokmål/Nynorsk) instead of being forced into sv/da. All parts are
deterministic (langdetect, kept as a measured baseline backend, runs with a fixed seed).
``python -m training.eval_langid`` measures every backend.
"""

from __future__ import annotations

import hashlib
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from service.config import DEFAULT_MODELS_DIR
from service.langid_model import ARTEFACT, CharNgramLanguageModel

DEFAULT_MODEL_DIR = DEFAULT_MODELS_DIR / "langid"
UND = "und"
Backend = Literal["lingua", "langdetect", "charngram", "ensemble"]

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
# NB posteriors are over-confident; this temperature makes 'und' thresholds meaningful.
_CHARNGRAM_TEMPERATURE = 4.0


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
        model_dir: Path | None = None,
        distractor_min_confidence: float = 0.6,
        distractor_min_letters: int = 12,
        lingua_high_accuracy: bool = True,
    ) -> None:
        unknown = [c for c in (*languages, *distractors) if c not in _LINGUA_NAMES]
        if unknown:
            raise ValueError(f"unsupported language codes: {unknown}")
        self.languages = tuple(languages)
        self.distractors = tuple(c for c in distractors if c not in self.languages)
        self.min_letters = min_letters
        self.min_confidence = min_confidence
        self.backend = backend
        self.model_dir = model_dir or DEFAULT_MODEL_DIR
        self.distractor_min_confidence = distractor_min_confidence
        self.distractor_min_letters = distractor_min_letters
        # lingua's low-accuracy (trigram) mode saves ~450 MiB RAM and ~7 s of start-up but
        # vetoes wrongly more often (held-out 'full' accuracy 0.977 vs 0.993): opt-in only.
        self.lingua_high_accuracy = lingua_high_accuracy
        self._lingua = None
        self._langdetect_factory = None
        self._charngram: CharNgramLanguageModel | None = None
        self._charngram_digest = ""
        self._charngram_cols: list[int] = []

    # -- fit ------------------------------------------------------------------------
    def fit(self, X: object = None, y: object = None) -> "LanguageIdentifier":
        """Load the detectors: lingua/langdetect models ship in their wheels, ours in models/langid."""
        if self.backend in ("lingua", "ensemble") and self._lingua is None:
            from lingua import Language, LanguageDetectorBuilder

            langs = [getattr(Language, _LINGUA_NAMES[c]) for c in (*self.languages, *self.distractors)]
            builder = LanguageDetectorBuilder.from_languages(*langs)
            if not self.lingua_high_accuracy:
                builder = builder.with_low_accuracy_mode()
            self._lingua = builder.with_preloaded_language_models().build()
        if self.backend == "langdetect" and self._langdetect_factory is None:
            from langdetect import detector_factory

            detector_factory.init_factory()
            detector_factory.DetectorFactory.seed = 0  # deterministic sampling
            self._langdetect_factory = detector_factory._factory
        if self.backend in ("charngram", "ensemble") and self._charngram is None:
            model = CharNgramLanguageModel.load(self.model_dir)
            missing = [c for c in self.languages if c not in model.classes_]
            if missing:
                raise ValueError(f"language model in {self.model_dir} was not trained for {missing}; "
                                 "retrain with training/train_langid.py or use backend='lingua'")
            self._charngram = model
            self._charngram_digest = hashlib.sha256((self.model_dir / ARTEFACT).read_bytes()).hexdigest()[:8]
            self._charngram_cols = [model.classes_.index(c) for c in self.languages]
        return self

    @property
    def version(self) -> str:
        """Backend plus a short hash of the shipped n-gram model, so responses name the exact model."""
        return f"{self.backend}:charngram-{self._charngram_digest}" if self._charngram_digest else self.backend

    @property
    def is_fitted(self) -> bool:
        need = {
            "lingua": [self._lingua], "langdetect": [self._langdetect_factory],
            "charngram": [self._charngram], "ensemble": [self._lingua, self._charngram],
        }[self.backend]
        return all(x is not None for x in need)

    # -- transform ------------------------------------------------------------------
    def transform(
        self, texts: Sequence[str], hints: Sequence[str | None] | None = None
    ) -> list[LanguageResult]:
        if not self.is_fitted:
            self.fit()
        hints = list(hints) if hints is not None else [None] * len(texts)
        if len(hints) != len(texts):
            raise ValueError("hints must align with texts")
        # The n-gram model is vectorised: score the whole batch in one matrix product.
        local: list[dict[str, float] | None] = [None] * len(texts)
        if self._charngram is not None and texts:
            proba = self._charngram.predict_proba(list(texts), temperature=_CHARNGRAM_TEMPERATURE)
            sub = proba[:, self._charngram_cols]
            sub = sub / sub.sum(axis=1, keepdims=True)
            local = [{c: float(v) for c, v in zip(self.languages, row)} for row in sub]
        return [self._identify(t, h, loc) for t, h, loc in zip(texts, hints, local)]

    def predict(self, texts: Sequence[str]) -> list[str]:
        return [r.code for r in self.transform(texts)]

    # -- internals ------------------------------------------------------------------
    def _lingua_scores(self, text: str) -> dict[str, float]:
        """lingua's probabilities over configured + distractor languages, Bokmål/Nynorsk folded to 'no'."""
        folded: dict[str, float] = {}
        for cv in self._lingua.compute_language_confidence_values(text):
            code = cv.language.iso_code_639_1.name.lower()
            code = _REPORTED_CODE.get(code, code)
            folded[code] = folded.get(code, 0.0) + cv.value
        return folded

    def _langdetect_scores(self, text: str) -> dict[str, float]:
        from langdetect.lang_detect_exception import LangDetectException

        detector = self._langdetect_factory.create()
        detector.append(text)
        try:
            probs = detector.get_probabilities()
        except LangDetectException:
            return {}
        return {_REPORTED_CODE.get(p.lang, p.lang): p.prob for p in probs}

    def _scores(self, text: str, letters: int, local: dict[str, float] | None) -> dict[str, float]:
        """Probability per reported code (configured languages, 'no', other distractors).

        ``local`` is the in-domain n-gram model's distribution over configured languages.
        """
        if self.backend == "lingua":
            return self._lingua_scores(text)
        if self.backend == "langdetect":
            return self._langdetect_scores(text)
        if self.backend == "charngram":
            return local or {}
        # ensemble: lingua vetoes only when a non-configured language wins clearly on enough text.
        general = self._lingua_scores(text)
        top, top_p = max(general.items(), key=lambda kv: (kv[1], kv[0]))
        if (top not in self.languages and top_p >= self.distractor_min_confidence
                and letters >= self.distractor_min_letters):
            return general
        return local or {}

    def _identify(self, text: str, hint: str | None, local: dict[str, float] | None) -> LanguageResult:
        letters = count_letters(text)
        hint = hint.lower().strip() if hint else None
        if letters < self.min_letters:
            # Emoji-only, digits, punctuation: nothing to detect. A valid hint is trusted.
            if hint in self.languages:
                return LanguageResult(hint, 1.0, "hint")
            return LanguageResult(UND, 1.0, "rule")
        scores = self._scores(text, letters, local)
        if not scores:
            return LanguageResult(UND, 0.0, "detected")
        ranked = sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))
        top, top_p = ranked[0]
        rounded = {c: round(v, 4) for c, v in ranked[:5]}
        if hint in self.languages:
            hint_p = scores.get(hint, 0.0)
            # A hint wins unless the text clearly says otherwise.
            if top == hint or hint_p >= 0.5 * top_p or top_p < self.min_confidence:
                return LanguageResult(hint, round(hint_p, 4), "hint", rounded)
        if top_p < self.min_confidence:
            return LanguageResult(UND, round(top_p, 4), "detected", rounded)
        return LanguageResult(top, round(top_p, 4), "detected", rounded)
