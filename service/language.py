"""Language identification tuned for short survey comments.

Why not a general detector alone: on one- or two-word comments ("Bra", "Godt", "ok") lingua and
langdetect are close to a coin flip between sv/da/no. The default ``ensemble`` backend combines
three models' probabilities with a calibrated combiner (``service/langid_combiner.py``):

* lingua over the configured languages + Norwegian (what the combiner weighs), and, for texts of
  at least ``distractor_min_letters`` letters, over every candidate including the other
  *distractors* (German, Dutch… that a Nordic survey receives but does not analyse): first in
  trigram-only mode as a cheap screen, then in full when the screen points there (lingua's cost
  grows with every candidate language);
* the in-domain character n-gram model (``service/langid_model.py``), which knows sv/da/fi/en
  review/comment text and Norwegian; where it is very sure on a long fi/en text, lingua over the
  configured languages is skipped;
* the word-frequency lexicon (``service/langid_lexicon.py``): whole words that Danish and
  Norwegian (or Swedish) spell differently ("tak"/"takk", "mig"/"meg").

Among sv/da/fi/en/no the combiner decides; a non-Nordic distractor (de, nl, …), which no
held-out data can calibrate, is reported when lingua gives it at least
``distractor_min_confidence`` on at least ``distractor_min_letters`` letters. A per-comment
``language`` hint is a prior (``hint_prior`` log-odds); when the text still says otherwise the
result is the detected language with ``hint_conflict=True``. Without a hint, a Norwegian
decision prior (fitted: keep Norwegian out of sv/da at least as often as lingua does) applies;
with one, the hint prior replaces it. ``und`` for fewer than ``min_letters`` letters
(emoji-only, numbers), for a one-word answer that is a frequent word of several configured
languages ("ok", "super", "nej"), or a calibrated top posterior below the shipped threshold.
All parts are deterministic (langdetect, a measured baseline backend, runs with a fixed seed).
``python -m training.eval_langid`` measures every backend.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np

from service.config import DEFAULT_MODELS_DIR
from service.langid_combiner import CLASSES, COMBINER_ARTEFACT, Combiner, load_combiner, one_word, subset
from service.langid_lexicon import LEXICON_ARTEFACT, WordLexicon
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
_NORWEGIAN = ("nb", "nn")
# The charngram backend's NB posteriors are over-confident; this temperature makes its 'und'
# threshold meaningful (the ensemble's combiner learns its own scale instead).
_CHARNGRAM_TEMPERATURE = 4.0
_BASELINE_MIN_CONFIDENCE = 0.35
# A text goes to lingua over every candidate only when trigram-only lingua gives the non-Nordic
# distractors at least this much: lingua's cost grows with the number of candidate languages.
_SCREEN_MIN_CONFIDENCE = 0.5
# lingua over sv/da/fi/en/no is skipped for texts this long on which the n-gram model's top two
# log posteriors are this far apart and its top language is not one Norwegian is confused with.
_SKIP_LINGUA_MIN_LETTERS = 20
_SKIP_LINGUA_MIN_MARGIN = 40.0
# ... and for texts this long on which the n-gram model (margin >= 10 nats) and the lexicon (>= 6)
# agree on a language that is not Nordic: on the calibration split the n-gram model's language is
# right on 99.8% of such texts (23% of them, against 13% by the rule above).
_SKIP_AGREE_MIN_LETTERS = 8
_SKIP_AGREE_MARGINS = (10.0, 6.0)
# ... also for Swedish (calibration split: 1,777 such texts, every one Swedish, none Norwegian;
# Danish, 99.8% and one Norwegian text among them, keeps lingua).
_SKIP_AGREE_EXCLUDED = ("da", "no")
_NORDIC = ("sv", "da", "no")


@dataclass(frozen=True)
class LanguageResult:
    """One comment's language: ``code`` is a configured language, ``und`` or another code.

    ``source`` is 'hint' when the caller's hint was taken, 'rule' for text with nothing to detect;
    ``hint_conflict`` is True when a valid hint was given and the text clearly says otherwise
    (``code`` is then the detected language)."""

    code: str
    confidence: float
    source: Literal["detected", "hint", "rule"] = "detected"
    scores: dict[str, float] = field(default_factory=dict)
    hint_conflict: bool = False


def count_letters(text: str) -> int:
    """Unicode letters (categories L*: exactly what ``str.isalpha`` accepts)."""
    return sum(map(str.isalpha, text))


_CODES: dict[object, str] = {}


def _lingua_code(language: object) -> str:
    code = _CODES.get(language)
    if code is None:
        code = language.iso_code_639_1.name.lower()
        code = _CODES[language] = _REPORTED_CODE.get(code, code)
    return code


class LanguageIdentifier:
    """fit/transform stage: texts (+ optional hints) -> :class:`LanguageResult` per text."""

    def __init__(
        self,
        languages: Sequence[str] = ("sv", "da", "fi", "en"),
        distractors: Sequence[str] = DEFAULT_DISTRACTORS,
        min_letters: int = 2,
        min_confidence: float | None = None,
        backend: Backend = "ensemble",
        model_dir: Path | str | None = None,
        distractor_min_confidence: float = 0.8,
        distractor_min_letters: int = 12,
        lingua_high_accuracy: bool = True,
        hint_prior: float = 2.0,
        norwegian_prior: bool = True,
    ) -> None:
        unknown = [c for c in (*languages, *distractors) if c not in _LINGUA_NAMES]
        if unknown:
            raise ValueError(f"unsupported language codes: {unknown}")
        self.languages = tuple(languages)
        self.distractors = tuple(c for c in distractors if c not in self.languages)
        self.min_letters = min_letters
        # None: the combiner's calibrated threshold (ensemble) or 0.35 (baseline backends).
        self.min_confidence = min_confidence
        self.backend = backend
        self.model_dir = Path(model_dir) if model_dir else DEFAULT_MODEL_DIR
        self.distractor_min_confidence = distractor_min_confidence
        self.distractor_min_letters = distractor_min_letters
        # lingua's low-accuracy (trigram) mode needs far less RAM and start-up time; the combiner
        # has its own weights for it (README: accuracy and memory of each mode).
        self.lingua_high_accuracy = lingua_high_accuracy
        self.hint_prior = hint_prior
        # False: no Norwegian decision prior (more sv/da recall, Norwegian forced into sv/da more often).
        self.norwegian_prior = norwegian_prior
        self._lingua = None        # configured + distractors
        self._lingua_core = None   # configured + Norwegian (ensemble: the combiner's input)
        self._lingua_screen = None  # every candidate, trigrams only (ensemble: other-distractor screen)
        self._langdetect_factory = None
        self._charngram: CharNgramLanguageModel | None = None
        self._lexicon: WordLexicon | None = None
        self._combiner: Combiner | None = None
        self._classes: list[str] = []
        self._others: tuple[str, ...] = ()
        self._digest = ""

    # -- fit ------------------------------------------------------------------------
    def _build_lingua(self, codes: Sequence[str], low_accuracy: bool = False):
        from lingua import Language, LanguageDetectorBuilder

        builder = LanguageDetectorBuilder.from_languages(*[getattr(Language, _LINGUA_NAMES[c]) for c in codes])
        if low_accuracy or not self.lingua_high_accuracy:
            builder = builder.with_low_accuracy_mode()
        return builder.with_preloaded_language_models().build()

    def fit(self, X: object = None, y: object = None) -> "LanguageIdentifier":
        """Load the detectors: lingua/langdetect models ship in their wheels, ours in models/langid."""
        self.fit_features()
        if self.backend == "ensemble" and self._combiner is None:
            combiner, digest = load_combiner(self.model_dir, "high" if self.lingua_high_accuracy else "low")
            missing = [c for c in self._classes if c not in combiner.classes]
            if missing:
                raise ValueError(f"{self.model_dir / COMBINER_ARTEFACT} was not fitted for {missing}; refit with "
                                 "training/fit_langid_combiner.py or use backend='lingua'")
            self._combiner = subset(combiner, self._classes)
            self._digest += f"+combiner-{digest}"
        return self

    def fit_features(self) -> "LanguageIdentifier":
        """Everything but the combiner: what :meth:`features` needs (training fits the combiner on it)."""
        if self.backend in ("lingua", "ensemble") and self._lingua is None:
            self._lingua = self._build_lingua((*self.languages, *self.distractors))
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
            self._digest = "charngram-" + hashlib.sha256((self.model_dir / ARTEFACT).read_bytes()).hexdigest()[:8]
        if self.backend == "ensemble" and self._lingua_core is None:
            unknown = [c for c in self.languages if c not in CLASSES]
            if unknown:
                raise ValueError(f"the ensemble covers {CLASSES[:-1]}, not {unknown}; use backend='lingua'")
            norwegian = tuple(c for c in self.distractors if c in _NORWEGIAN)
            self._classes = [c for c in CLASSES if c in self.languages or (c == "no" and norwegian)]
            missing = [c for c in self._classes if c not in self._charngram.classes_]
            if missing:
                raise ValueError(f"language model in {self.model_dir} was not trained for {missing}; "
                                 "retrain with training/train_langid.py")
            self._lexicon = WordLexicon.load(self.model_dir)
            # The n-gram model's precomputed word scores, found through the lexicon's word index
            # (exact; words outside it are hashed): none when the two were built apart.
            self._charngram.attach_vocab(self._lexicon.index, self._lexicon.words_digest)
            self._digest += "+lexicon-" + hashlib.sha256((self.model_dir / LEXICON_ARTEFACT).read_bytes()).hexdigest()[:8]
            self._others = tuple(c for c in self.distractors if c not in _NORWEGIAN)
            self._lingua_core = self._build_lingua((*self.languages, *norwegian)) if self._others else self._lingua
            self._lingua_screen = self._lingua
            if self._others and self.lingua_high_accuracy:
                self._lingua_screen = self._build_lingua((*self.languages, *self.distractors), low_accuracy=True)
        return self

    @property
    def version(self) -> str:
        """Backend plus short hashes of the shipped models, so responses name the exact model."""
        return f"{self.backend}:{self._digest}" if self._digest else self.backend

    @property
    def is_fitted(self) -> bool:
        need = {
            "lingua": [self._lingua], "langdetect": [self._langdetect_factory],
            "charngram": [self._charngram], "ensemble": [self._lingua, self._charngram, self._combiner],
        }[self.backend]
        return all(x is not None for x in need)

    # -- transform ------------------------------------------------------------------
    def transform(
        self, texts: Sequence[str], hints: Sequence[str | None] | None = None
    ) -> list[LanguageResult]:
        if not self.is_fitted:
            self.fit()
        texts = list(texts)
        hints = list(hints) if hints is not None else [None] * len(texts)
        if len(hints) != len(texts):
            raise ValueError("hints must align with texts")
        hints = [h.lower().strip() if h else None for h in hints]
        if self.backend == "ensemble":
            return self._transform_ensemble(texts, hints)
        local: list[dict[str, float] | None] = [None] * len(texts)
        if self.backend == "charngram" and texts:
            # Vectorised: score the whole batch in one matrix product.
            cols = [self._charngram.classes_.index(c) for c in self.languages]
            proba = self._charngram.predict_proba(texts, temperature=_CHARNGRAM_TEMPERATURE)[:, cols]
            proba = proba / proba.sum(axis=1, keepdims=True)
            local = [{c: float(v) for c, v in zip(self.languages, row)} for row in proba]
        return [self._identify_baseline(t, h, loc) for t, h, loc in zip(texts, hints, local)]

    def predict(self, texts: Sequence[str]) -> list[str]:
        return [r.code for r in self.transform(texts)]

    # -- ensemble ---------------------------------------------------------------------
    def features(self, texts: Sequence[str]) -> dict[str, np.ndarray]:
        """What the combiner sees, per text: letters, lingua's probabilities over its classes
        (``lingua``; uniform where skipped) and over the other distractors (``others``; zero unless
        screened in), the n-gram model's log posterior (``ngram``) and the word lexicon's
        (``lexicon``). Shared with
        training/fit_langid_combiner.py, so the combiner is fitted on exactly this."""
        n, classes, others = len(texts), self._classes, self._others
        letters = np.array([count_letters(t) for t in texts], dtype=int)
        model = self._charngram
        jll = model.joint_log_likelihood(texts) if n else np.zeros((0, len(model.classes_)))
        jll = jll - jll.max(axis=1, keepdims=True)
        ngram = (jll - np.log(np.exp(jll).sum(axis=1, keepdims=True)))[:, [model.classes_.index(c) for c in classes]]
        # Every word a listed sv/da/fi/en word ("Nopea toimitus"): no screen, which in trigram mode
        # took that for Estonian (README: language identification).
        lexicon, listed = self._lexicon.evidence(texts, classes, self.languages if others else None)
        if listed is None:
            listed = np.ones(n, dtype=bool)
        top2 = np.sort(ngram, axis=1)[:, -2:] if len(classes) > 1 else np.zeros((n, 2))
        lex2 = np.sort(lexicon, axis=1)[:, -2:] if len(classes) > 1 else np.zeros((n, 2))
        # The n-gram model is cheap; lingua is the cost. On long text the n-gram model is rarely
        # wrong when this sure, so lingua over sv/da/fi/en/no is skipped there (README: speed).
        # Not where Norwegian is the question (n-gram top sv/da/no; with the lexicon agreeing, da/no):
        # lingua knows Norwegian better.
        top = ngram.argmax(axis=1)
        top_code = np.array(classes)[top] if n else np.array([], dtype=str)
        clear = ~np.isin(top_code, _NORDIC)
        skip = clear & (letters >= _SKIP_LINGUA_MIN_LETTERS) & (top2[:, 1] - top2[:, 0] >= _SKIP_LINGUA_MIN_MARGIN)
        skip |= (~np.isin(top_code, _SKIP_AGREE_EXCLUDED) & (letters >= _SKIP_AGREE_MIN_LETTERS) & (top == lexicon.argmax(axis=1))
                 & (top2[:, 1] - top2[:, 0] >= _SKIP_AGREE_MARGINS[0]) & (lex2[:, 1] - lex2[:, 0] >= _SKIP_AGREE_MARGINS[1]))
        col = {c: i for i, c in enumerate(classes)}
        ocol = {c: i for i, c in enumerate(others)}
        lingua = np.zeros((n, len(classes)))   # renormalised over classes by the combiner
        lingua[skip] = 1.0
        other = np.zeros((n, len(others)))
        # In low-memory mode the screen is lingua over every candidate in the same (trigram) mode:
        # its values over the core languages, renormalised, are the core detector's (lingua scores
        # each language alone), so a screened text needs one lingua call, not two.
        shared = self._lingua_screen is self._lingua and self._lingua_core is not self._lingua
        for i, text in enumerate(texts):
            if letters[i] < self.min_letters:
                continue
            screened = not listed[i] and letters[i] >= self.distractor_min_letters
            screen = self._lingua_screen.compute_language_confidence_values(text) if screened else ()
            if not skip[i]:
                core = [cv for cv in screen if _lingua_code(cv.language) in col] if shared else ()
                if not any(cv.value > 0.0 for cv in core):  # not shared, or every core language ruled out
                    core = self._lingua_core.compute_language_confidence_values(text)
                for cv in core:
                    code = _lingua_code(cv.language)
                    if code in col:
                        lingua[i, col[code]] += cv.value
            if not screened:
                continue
            # Other distractors: a cheap trigram screen, confirmed by lingua over every candidate.
            if sum(cv.value for cv in screen if _lingua_code(cv.language) in ocol) < _SCREEN_MIN_CONFIDENCE:
                continue
            confirm = screen if self._lingua_screen is self._lingua else self._lingua.compute_language_confidence_values(text)
            for cv in confirm:
                code = _lingua_code(cv.language)
                if code in ocol:
                    other[i, ocol[code]] += cv.value
        return {"letters": letters, "lingua": lingua, "others": other, "ngram": ngram, "lingua_skipped": skip,
                "lexicon": lexicon, "words": [one_word(t) for t in texts]}

    def _transform_ensemble(self, texts: list[str], hints: list[str | None]) -> list[LanguageResult]:
        if not texts:
            return []
        comb = self._combiner
        threshold = comb.min_posterior if self.min_confidence is None else self.min_confidence
        return self.decide(comb, self.features(texts), hints, threshold)

    def decide(self, comb: Combiner, f: dict[str, np.ndarray], hints: Sequence[str | None] | None = None,
               threshold: float = 0.0) -> list[LanguageResult]:
        """Results from :meth:`features` and a combiner (training/fit_langid_combiner.py tunes on this)."""
        classes, n = self._classes, len(f["letters"])
        hints = [h if h in self.languages else None for h in (hints if hints is not None else [None] * n)]
        scores = comb.scores(f, with_prior=False)
        for i, hint in enumerate(hints):
            if hint in classes:
                # The caller's expectation is a prior; it replaces the Norwegian decision prior,
                # which stands in for not knowing what to expect.
                scores[i, classes.index(hint)] += self.hint_prior
        # 'und' is decided on the calibrated posterior (how sure the two models are together),
        # the language on the posterior with the Norwegian decision prior.
        sure = (Combiner.softmax(scores) if n else scores).max(axis=1, initial=0.0)
        if self.norwegian_prior:
            unhinted = np.array([h not in classes for h in hints], dtype=bool)
            prior = comb.scores(f, with_prior=True) - comb.scores(f, with_prior=False)
            scores = scores + prior * unhinted[:, None]
        post = Combiner.softmax(scores) if n else scores
        order = np.argsort(-post, axis=1, kind="stable")[:, :5]
        gate = (f["letters"] >= self.distractor_min_letters) & (f["others"].sum(axis=1) >= self.distractor_min_confidence)
        shared = set(comb.shared_words)
        ambiguous = [w in shared for w in f["words"]] if shared else [False] * n
        # Plain Python numbers, rounded once for the whole batch (per-text numpy scalars are slow).
        order_l, post_l, sure_l = order.tolist(), np.round(post, 4).tolist(), np.round(sure, 4).tolist()
        below, letters_l, gate_l = (sure < threshold).tolist(), f["letters"].tolist(), gate.tolist()
        out = []
        for i, hint in enumerate(hints):
            if letters_l[i] < self.min_letters:
                # Emoji-only, digits, punctuation: nothing to detect. A valid hint is trusted.
                out.append(LanguageResult(hint, 1.0, "hint") if hint else LanguageResult(UND, 1.0, "rule"))
                continue
            if gate_l[i]:  # lingua over every candidate: clearly a non-Nordic distractor
                other = f["others"][i]
                j = int(other.argmax())
                rounded = {c: round(float(v), 4) for c, v in zip(self._others, other) if v >= 1e-4}
                out.append(LanguageResult(self._others[j], round(float(other[j]), 4), "detected", rounded,
                                          hint_conflict=hint is not None))
                continue
            p, ranked = post_l[i], order_l[i]
            top, top_p = classes[ranked[0]], p[ranked[0]]
            rounded = {classes[k]: p[k] for k in ranked}
            if hint and (top == hint or below[i] or ambiguous[i]):
                out.append(LanguageResult(hint, p[classes.index(hint)], "hint", rounded))
            elif ambiguous[i]:  # a frequent word of several configured languages
                out.append(LanguageResult(UND, top_p, "rule", rounded))
            elif below[i]:
                out.append(LanguageResult(UND, sure_l[i], "detected", rounded))
            else:
                out.append(LanguageResult(top, top_p, "detected", rounded, hint_conflict=hint is not None))
        return out

    # -- baseline backends ------------------------------------------------------------
    def lingua_scores(self, text: str) -> dict[str, float]:
        """lingua's probabilities over configured + distractor languages, Bokmål/Nynorsk folded to 'no'."""
        folded: dict[str, float] = {}
        for cv in self._lingua.compute_language_confidence_values(text):
            code = _lingua_code(cv.language)
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

    def _identify_baseline(self, text: str, hint: str | None, local: dict[str, float] | None) -> LanguageResult:
        """lingua / langdetect / charngram alone: argmax, 'und' below a fixed threshold."""
        letters = count_letters(text)
        valid_hint = hint if hint in self.languages else None
        if letters < self.min_letters:
            if valid_hint:
                return LanguageResult(valid_hint, 1.0, "hint")
            return LanguageResult(UND, 1.0, "rule")
        if self.backend == "lingua":
            scores = self.lingua_scores(text)
        elif self.backend == "langdetect":
            scores = self._langdetect_scores(text)
        else:
            scores = local or {}
        if not scores or max(scores.values()) <= 0.0:
            return LanguageResult(UND, 0.0, "detected")
        ranked = sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))
        top, top_p = ranked[0]
        rounded = {c: round(v, 4) for c, v in ranked[:5]}
        threshold = _BASELINE_MIN_CONFIDENCE if self.min_confidence is None else self.min_confidence
        if valid_hint:
            hint_p = scores.get(valid_hint, 0.0)
            if top == valid_hint or hint_p >= 0.5 * top_p or top_p < threshold:
                return LanguageResult(valid_hint, round(hint_p, 4), "hint", rounded)
            return LanguageResult(top, round(top_p, 4), "detected", rounded, hint_conflict=True)
        if top_p < threshold:
            return LanguageResult(UND, round(top_p, 4), "detected", rounded)
        return LanguageResult(top, round(top_p, 4), "detected", rounded)
