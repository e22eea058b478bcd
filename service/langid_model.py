"""A character n-gram Naive Bayes language model trained on in-domain survey/review text.

Why: general-purpose detectors are trained on web/Wikipedia text and are near chance on
one- or two-word comments among sv/da/no. Character n-grams of customer comments in the
configured languages ("kundtjänst", "levering", "toimitus") separate them far better
(see README, measured by ``python -m training.eval_langid``). Features come from a
stateless HashingVectorizer, so the artefact is only the NB log-probabilities: a small
``.npz`` with no pickle, loadable by any numpy/scikit-learn version.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from sklearn.feature_extraction.text import HashingVectorizer
from sklearn.naive_bayes import MultinomialNB

ARTEFACT = "charngram_nb.npz"
_WORD_CACHE_SIZE = 200_000  # distinct words kept (about 5 floats each)


class CharNgramLanguageModel:
    """fit/predict_proba over a fixed set of language codes; input is lower-cased raw text."""

    def __init__(self, ngram_range: tuple[int, int] = (1, 4), n_features: int = 2**18, alpha: float = 0.01) -> None:
        self.ngram_range = tuple(ngram_range)
        self.n_features = n_features
        self.alpha = alpha
        self.classes_: list[str] = []
        self._log_prob: np.ndarray | None = None  # (n_classes, n_features) float32
        self._log_prior: np.ndarray | None = None
        self._word_cache: dict[str, np.ndarray] = {}
        self._log_prob_t: np.ndarray | None = None

    @property
    def _vectorizer(self) -> HashingVectorizer:
        return HashingVectorizer(
            analyzer="char_wb", ngram_range=self.ngram_range, n_features=self.n_features,
            alternate_sign=False, norm=None, lowercase=True,
        )

    def fit(self, texts: Sequence[str], labels: Sequence[str]) -> "CharNgramLanguageModel":
        nb = MultinomialNB(alpha=self.alpha).fit(self._vectorizer.transform(texts), labels)
        self.classes_ = [str(c) for c in nb.classes_]
        self._log_prob = nb.feature_log_prob_.astype(np.float32)
        self._log_prior = nb.class_log_prior_.astype(np.float32)
        return self

    def joint_log_likelihood(self, texts: Sequence[str]) -> np.ndarray:
        """(n, classes) log prior + log likelihood of each text's character n-grams.

        char_wb n-grams never cross a word boundary, so a text's score is the sum of its
        (lower-cased, whitespace-split) words' scores: each distinct word is vectorised once and
        kept in a bounded cache, which is exact and makes repeated survey vocabulary cheap."""
        if self._log_prob is None:
            raise RuntimeError("model is not fitted")
        docs = [t.lower().split() for t in texts]
        cache = self._word_cache
        new = list(dict.fromkeys(w for words in docs for w in words if w not in cache))
        if new:
            if len(cache) + len(new) > _WORD_CACHE_SIZE:
                cache.clear()
            if self._log_prob_t is None:
                self._log_prob_t = np.ascontiguousarray(self._log_prob.T)  # sparse @ dense: 10x faster
            scores = np.asarray(self._vectorizer.transform(new) @ self._log_prob_t, dtype=np.float32)
            cache.update(zip(new, scores))
        out = np.tile(self._log_prior, (len(docs), 1)).astype(np.float64)
        vocab = list(dict.fromkeys(w for words in docs for w in words))
        if vocab:
            index = {w: i for i, w in enumerate(vocab)}
            table = np.stack([cache[w] for w in vocab]).astype(np.float64)
            flat = np.fromiter((index[w] for words in docs for w in words), dtype=np.int64)
            lengths = np.array([len(words) for words in docs])
            nonempty = lengths > 0
            starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])[nonempty]
            out[nonempty] += np.add.reduceat(table[flat], starts, axis=0)
        return out

    def predict_proba(self, texts: Sequence[str], temperature: float = 1.0) -> np.ndarray:
        """Class probabilities; ``temperature`` > 1 softens NB's over-confident posteriors."""
        jll = self.joint_log_likelihood(texts) / temperature
        jll -= jll.max(axis=1, keepdims=True)
        p = np.exp(jll)
        return p / p.sum(axis=1, keepdims=True)

    def predict(self, texts: Sequence[str]) -> list[str]:
        return [self.classes_[i] for i in self.joint_log_likelihood(texts).argmax(axis=1)]

    # -- persistence --------------------------------------------------------------------
    def save(self, directory: Path) -> Path:
        directory.mkdir(parents=True, exist_ok=True)
        meta = {"classes": self.classes_, "ngram_range": list(self.ngram_range),
                "n_features": self.n_features, "alpha": self.alpha}
        path = directory / ARTEFACT
        np.savez_compressed(path, log_prob=self._log_prob.astype(np.float16), log_prior=self._log_prior,
                            meta=np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8))
        return path

    @classmethod
    def load(cls, directory: Path) -> "CharNgramLanguageModel":
        with np.load(directory / ARTEFACT) as z:
            meta = json.loads(z["meta"].tobytes().decode())
            model = cls(tuple(meta["ngram_range"]), meta["n_features"], meta["alpha"])
            model.classes_ = meta["classes"]
            model._log_prob = z["log_prob"].astype(np.float32)
            model._log_prior = z["log_prior"].astype(np.float32)
        return model
