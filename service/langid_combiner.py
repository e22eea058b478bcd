"""Calibrated combination of lingua's and the in-domain n-gram model's language probabilities.

Why: lingua (general, web-trained), the in-domain character n-gram model (reviews and
comments, ``service/langid_model.py``) and the word-frequency lexicon
(``service/langid_lexicon.py``) are each better in different places: lingua on out-of-domain
words, the n-gram model on survey-style sv/da/fi/en answers, the lexicon on whole words that
Danish and Norwegian spell differently ("tak"/"takk", "mig"/"meg"). A fixed veto rule between
them lost to plain lingua in several cells (issue #14). Instead, a small conditional logistic
regression, fitted by ``training/fit_langid_combiner.py`` on a calibration split none of the
models trained on, scores every candidate language ``c`` as

    s_c = a_c(len) * log p_lingua(c) + b_c(len) * log p_ngram(c) + d_c(len) * log p_lexicon(c)
          + bias_c(len) + prior_c(len)

where ``len`` is the number of letters and every length-dependent weight is piecewise linear in
log(letters) between fixed knots. ``prior_c`` is a decision prior for the distractor ('no'):
the smallest shift, chosen on the calibration split, that keeps Norwegian out of sv/da at least
as often as lingua restricted to the same candidates does. ``und`` when the top posterior is
below ``min_posterior`` or when the whole answer is one of ``shared_words``. The artefact is a few hundred numbers in JSON (no pickle).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

COMBINER_ARTEFACT = "combiner.json"
# Classes the combiner decides among: what both models know (lingua: all; n-gram: these five).
CLASSES = ("sv", "da", "fi", "en", "no")
KNOT_LETTERS = (2, 4, 8, 16, 32, 64, 128)
LINGUA_FLOOR = 1e-4   # lingua gives exact zeros to languages its rules exclude
NGRAM_FLOOR = -30.0   # n-gram (and lexicon) log posteriors are over-confident; the fit scales them
FEATURES = ("lingua", "ngram", "lexicon")


def length_basis(letters: np.ndarray, knots: tuple[int, ...] = KNOT_LETTERS) -> np.ndarray:
    """(n, len(knots)) hat-function weights of log(letters): piecewise-linear interpolation."""
    k = np.log(np.asarray(knots, dtype=float))
    x = np.clip(np.log(np.maximum(np.asarray(letters, dtype=float), 1.0)), k[0], k[-1])
    j = np.clip(np.searchsorted(k, x, side="right") - 1, 0, len(k) - 2)
    t = (x - k[j]) / (k[j + 1] - k[j])
    basis = np.zeros((len(x), len(k)))
    rows = np.arange(len(x))
    basis[rows, j] = 1.0 - t
    basis[rows, j + 1] = t
    return basis


def features(lingua: np.ndarray, ngram_logpost: np.ndarray, lexicon_logpost: np.ndarray) -> np.ndarray:
    """(n, C, 3) in FEATURES order: log lingua probability renormalised over the classes, n-gram
    log posterior, lexicon log posterior.

    Renormalising makes lingua's share independent of how many other candidates it scored."""
    p = np.maximum(lingua, 0.0)
    p = p / np.maximum(p.sum(axis=1, keepdims=True), 1e-12)
    return np.stack([np.log(np.maximum(p, LINGUA_FLOOR)), np.maximum(ngram_logpost, NGRAM_FLOOR),
                     np.maximum(lexicon_logpost, NGRAM_FLOOR)], axis=-1)


@dataclass
class Combiner:
    """weights[c][f][k]: feature f (FEATURES: lingua, n-gram, lexicon) of class c at knot k; bias[c][k]; prior[c][k]."""

    classes: list[str] = field(default_factory=lambda: list(CLASSES))
    knots: list[int] = field(default_factory=lambda: list(KNOT_LETTERS))
    weights: list[list[list[float]]] = field(default_factory=list)
    bias: list[list[float]] = field(default_factory=list)
    prior: list[list[float]] = field(default_factory=list)
    min_posterior: float = 0.4
    # One-word answers that are frequent words of two or more configured languages ("ok",
    # "super", "service", "perfekt", "nej"): truly ambiguous, 'und' unless the caller hints.
    shared_words: list[str] = field(default_factory=list)
    fitted_on: dict = field(default_factory=dict)

    def scores(self, f: dict[str, np.ndarray], with_prior: bool = True) -> np.ndarray:
        """(n, C) unnormalised log-scores from ``LanguageIdentifier.features`` (columns follow ``classes``)."""
        X = features(f["lingua"], f["ngram"], f["lexicon"])
        B = length_basis(f["letters"], tuple(self.knots))
        W = np.asarray(self.weights)   # (C, F, K)
        s = np.einsum("ncf,cfk,nk->nc", X, W, B) + B @ np.asarray(self.bias).T
        if with_prior:
            s = s + B @ np.asarray(self.prior).T
        return s

    @staticmethod
    def softmax(scores: np.ndarray) -> np.ndarray:
        z = scores - scores.max(axis=1, keepdims=True)
        e = np.exp(z)
        return e / e.sum(axis=1, keepdims=True)

    # -- persistence --------------------------------------------------------------------
    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "Combiner":
        return cls(**d)


def one_word(text: str) -> str:
    """The answer's single word, lower-cased and stripped of punctuation; '' if not one word."""
    words = text.split()
    return words[0].strip(_PUNCT).lower() if len(words) == 1 else ""


_PUNCT = ".,;:!?\"'()[]«»“”‘’-–—…*"


def save_combiners(directory: Path, combiners: dict[str, Combiner]) -> Path:
    """One JSON file, a combiner per lingua mode ('high' accuracy, 'low' memory)."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / COMBINER_ARTEFACT
    payload = {mode: c.to_dict() for mode, c in combiners.items()}
    path.write_text(json.dumps(payload, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    return path


def load_combiner(directory: Path, mode: str) -> tuple[Combiner, str]:
    """The combiner for ``mode`` and a short digest of the file (responses name the exact model)."""
    raw = (directory / COMBINER_ARTEFACT).read_bytes()
    payload = json.loads(raw)
    if mode not in payload:
        raise ValueError(f"{directory / COMBINER_ARTEFACT} has no combiner for lingua mode {mode!r}")
    return Combiner.from_dict(payload[mode]), hashlib.sha256(raw).hexdigest()[:8]


def subset(combiner: Combiner, classes: list[str]) -> Combiner:
    """The same combiner over fewer classes (a service configured for fewer languages)."""
    idx = [combiner.classes.index(c) for c in classes]
    pick = lambda rows: [rows[i] for i in idx]  # noqa: E731
    return Combiner(classes=list(classes), knots=list(combiner.knots), weights=pick(combiner.weights),
                    bias=pick(combiner.bias), prior=pick(combiner.prior), min_posterior=combiner.min_posterior,
                    shared_words=list(combiner.shared_words), fitted_on=combiner.fitted_on)
