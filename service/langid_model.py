"""A character n-gram Naive Bayes language model trained on in-domain survey/review text.

Why: general-purpose detectors are trained on web/Wikipedia text and are near chance on
one- or two-word comments among sv/da/no. Character n-grams of customer comments in the
configured languages ("kundtjänst", "levering", "toimitus") separate them far better
(see README, measured by ``python -m training.eval_langid``). Features come from a
stateless HashingVectorizer, so the artefact is only the NB log-probabilities: a small
``.npz`` with no pickle, loadable by any numpy/scikit-learn version.

Speed: a word's score is the same wherever it occurs, so the artefact also carries the scores of
every word of the word-frequency lexicon (``service/langid_lexicon.py``; exactly what hashing
the word gives) and the service looks them up through the lexicon's own word index; only
words outside it are hashed (and then kept in a bounded cache).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from sklearn.feature_extraction.text import HashingVectorizer
from sklearn.naive_bayes import MultinomialNB

ARTEFACT = "charngram_nb.npz"
_WORD_CACHE_SIZE = 200_000  # distinct words kept (about 5 floats each)
_LETTER_RUN = re.compile(r"[^\W\d_]+")


def letter_words(text: str) -> list[str]:
    """Lower-cased runs of letters: what the model scores. Punctuation, digits and emoji say more
    about a text's genre than its language ("Takk!" in subtitles made "Tak!" Norwegian)."""
    return _LETTER_RUN.findall(text.lower())


class CharNgramLanguageModel:
    """fit/predict_proba over a fixed set of language codes; input is raw text (scored by its letter runs)."""

    def __init__(self, ngram_range: tuple[int, int] = (1, 4), n_features: int = 2**18, alpha: float = 0.01,
                 tokens: str = "letters") -> None:
        self.ngram_range = tuple(ngram_range)
        self.n_features = n_features
        self.alpha = alpha
        # 'letters': words are letter runs (letter_words); 'whitespace': whitespace-split raw
        # tokens, punctuation included (artefacts trained before the letter runs).
        self.tokens = tokens
        self.classes_: list[str] = []
        self._log_prob: np.ndarray | None = None  # (n_classes, n_features) float32
        self._log_prior: np.ndarray | None = None
        self._word_cache: dict[str, np.ndarray] = {}
        self._log_prob_t: np.ndarray | None = None
        # Precomputed word scores (the lexicon's words): the artefact's table and the digest of
        # the word list it is aligned with; attach_vocab makes them usable.
        self._table: np.ndarray | None = None
        self._table_digest = ""
        self._vocab: dict[str, int] | None = None

    @property
    def _vectorizer(self) -> HashingVectorizer:
        return self._hasher(np.float64)

    def _hasher(self, dtype: type) -> HashingVectorizer:
        return HashingVectorizer(
            analyzer="char_wb", ngram_range=self.ngram_range, n_features=self.n_features,
            alternate_sign=False, norm=None, lowercase=True, dtype=dtype,
        )

    def words(self, text: str) -> list[str]:
        """The lower-cased words the model scores a text by."""
        return letter_words(text) if self.tokens == "letters" else text.lower().split()

    def fit(self, texts: Sequence[str], labels: Sequence[str]) -> "CharNgramLanguageModel":
        docs = [" ".join(self.words(t)) for t in texts]
        nb = MultinomialNB(alpha=self.alpha).fit(self._vectorizer.transform(docs), labels)
        self.classes_ = [str(c) for c in nb.classes_]
        # Scored as stored (float16), so that a table built now matches hashing after loading.
        self._log_prob = nb.feature_log_prob_.astype(np.float16).astype(np.float32)
        self._log_prior = nb.class_log_prior_.astype(np.float32)
        self._log_prob_t = None
        return self

    def word_scores(self, words: Sequence[str]) -> np.ndarray:
        """(len(words), classes) float32 log likelihood of each word's character n-grams (hashed)."""
        if self._log_prob_t is None:
            self._log_prob_t = np.ascontiguousarray(self._log_prob.T)  # sparse @ dense: 10x faster
        if not words:
            return np.zeros((0, len(self.classes_)), dtype=np.float32)
        # float32 counts against the float32 table: a float64 product would convert the whole
        # (n_features x classes) table on every call, which cost more than the hashing.
        return np.asarray(self._hasher(np.float32).transform(words) @ self._log_prob_t, dtype=np.float32)

    def build_table(self, words: Sequence[str], digest: str) -> None:
        """Precompute the scores of ``words`` (a word list identified by ``digest``), saved with the model."""
        self._table, self._table_digest = self.word_scores(list(words)), digest

    def attach_vocab(self, index: dict[str, int], digest: str) -> bool:
        """Look words up in the precomputed table through ``index`` (word -> row) when the table was
        built for that word list (``digest``); False, and every word hashed, otherwise."""
        ok = self._table is not None and digest == self._table_digest and len(index) == len(self._table)
        self._vocab = index if ok else None
        return ok

    def joint_log_likelihood(self, texts: Sequence[str]) -> np.ndarray:
        """(n, classes) log prior + log likelihood of each text's character n-grams.

        char_wb n-grams never cross a word boundary, so a text's score is the sum of its
        words' (``words``) scores: a word is looked up in the precomputed table, or vectorised
        once and kept in a bounded cache, which is exact and makes repeated vocabulary cheap."""
        if self._log_prob is None:
            raise RuntimeError("model is not fitted")
        docs = [self.words(t) for t in texts]
        out = np.tile(self._log_prior, (len(docs), 1)).astype(np.float64)
        vocab = list(dict.fromkeys(w for words in docs for w in words))
        if not vocab:
            return out
        table = np.empty((len(vocab), len(self.classes_)), dtype=np.float32)
        known = self._vocab
        rows = np.fromiter((known.get(w, -1) for w in vocab), dtype=np.int64, count=len(vocab)) if known else \
            np.full(len(vocab), -1, dtype=np.int64)
        hit = rows >= 0
        if known:
            table[hit] = self._table[rows[hit]]
        cache = self._word_cache
        rest = [i for i in np.flatnonzero(~hit)]
        new = [vocab[i] for i in rest if vocab[i] not in cache]
        if new:
            if len(cache) + len(new) > _WORD_CACHE_SIZE:
                cache.clear()
            cache.update(zip(new, self.word_scores(new)))
        for i in rest:
            table[i] = cache[vocab[i]]
        index = {w: i for i, w in enumerate(vocab)}
        flat = np.fromiter((index[w] for words in docs for w in words), dtype=np.int64)
        lengths = np.array([len(words) for words in docs])
        nonempty = lengths > 0
        starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])[nonempty]
        out[nonempty] += np.add.reduceat(table.astype(np.float64)[flat], starts, axis=0)
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
                "n_features": self.n_features, "alpha": self.alpha, "tokens": self.tokens,
                "table_words_sha256": self._table_digest}
        arrays = {"log_prob": self._log_prob.astype(np.float16), "log_prior": self._log_prior}
        if self._table is not None:
            arrays["table"] = self._table
        path = directory / ARTEFACT
        np.savez_compressed(path, **arrays, meta=np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8))
        return path

    @classmethod
    def load(cls, directory: Path) -> "CharNgramLanguageModel":
        with np.load(directory / ARTEFACT, allow_pickle=False) as z:
            meta = json.loads(z["meta"].tobytes().decode())
            model = cls(tuple(meta["ngram_range"]), meta["n_features"], meta["alpha"], meta.get("tokens", "whitespace"))
            model.classes_ = meta["classes"]
            model._log_prob = z["log_prob"].astype(np.float32)
            model._log_prior = z["log_prior"].astype(np.float32)
            if "table" in z.files:
                model._table, model._table_digest = z["table"], meta.get("table_words_sha256", "")
        return model
