"""Word-frequency lexicon: how often each whole word is written in each candidate language.

Why: Danish and Norwegian share most character n-grams, and the in-domain n-gram model saw
little Norwegian (subtitles only), so on one- and two-word answers it cannot tell "Tak" (da)
from "Takk" (no), or "mig" from "meg". Whole-word frequencies measured on large general corpora
can: "meg" is 150x more frequent in Norwegian than in Danish, "ind" is Danish only, "Fakturan"
Swedish only. The artefact (``models/langid/lexicon.npz``, built by
``training/build_langid_lexicon.py`` from the wordfreq package's lists) is every word of at least
1 per million tokens in one of the languages, with its log frequency per language (a floor where
a language's list does not have it). A text's score is the sum over its known words; unknown
words carry no evidence and are skipped. Plain arrays, no pickle.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np

LEXICON_ARTEFACT = "lexicon.npz"
_TOKEN = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)*")


def words_of(text: str) -> list[str]:
    """Lower-cased letter runs (apostrophes inside kept: "don't"), as the frequency lists count them."""
    return _TOKEN.findall(text.lower().replace("’", "'"))


class WordLexicon:
    """Log word frequencies per class; ``log_likelihood`` sums them over a text's known words."""

    def __init__(self, classes: Sequence[str], words: Sequence[str], log_freq: np.ndarray, meta: dict | None = None):
        self.classes = list(classes)
        self.index = {w: i for i, w in enumerate(words)}
        self.log_freq = np.asarray(log_freq, dtype=np.float32)  # (n_words, n_classes)
        self.meta = meta or {}

    def log_likelihood(self, texts: Sequence[str]) -> np.ndarray:
        """(n, classes): sum of log frequencies of each text's listed words (0 where none is listed)."""
        out = np.zeros((len(texts), len(self.classes)))
        index = self.index
        for i, text in enumerate(texts):
            rows = [j for j in map(index.get, words_of(text)) if j is not None]
            if rows:
                out[i] = self.log_freq[rows].sum(axis=0)
        return out

    def log_posterior(self, texts: Sequence[str], classes: Sequence[str]) -> np.ndarray:
        """(n, len(classes)) log posterior over ``classes`` under a uniform prior (uniform where no word is listed)."""
        ll = self.log_likelihood(texts)[:, [self.classes.index(c) for c in classes]]
        ll = ll - ll.max(axis=1, keepdims=True)
        return ll - np.log(np.exp(ll).sum(axis=1, keepdims=True))

    def all_listed(self, texts: Sequence[str], classes: Sequence[str]) -> np.ndarray:
        """(n,) True where the text has words and every one is listed (above the floor) in one of
        ``classes``: such a text is no other language's, so the other-distractor screen is skipped."""
        cols = [self.classes.index(c) for c in classes]
        listed = self.log_freq[:, cols].max(axis=1) > np.log(self.meta["floor"]) + 0.05  # float16 rounding
        out = np.zeros(len(texts), dtype=bool)
        for i, text in enumerate(texts):
            rows = [self.index.get(w) for w in words_of(text)]
            out[i] = bool(rows) and all(j is not None and listed[j] for j in rows)
        return out

    # -- persistence --------------------------------------------------------------------
    def save(self, directory: Path) -> Path:
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / LEXICON_ARTEFACT
        words = "\n".join(sorted(self.index, key=self.index.get)).encode("utf-8")
        meta = {**self.meta, "classes": self.classes}
        np.savez_compressed(path, words=np.frombuffer(words, dtype=np.uint8), log_freq=self.log_freq.astype(np.float16),
                            meta=np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8))
        return path

    @classmethod
    def load(cls, directory: Path) -> "WordLexicon":
        with np.load(directory / LEXICON_ARTEFACT, allow_pickle=False) as z:
            meta = json.loads(z["meta"].tobytes().decode())
            words = z["words"].tobytes().decode("utf-8").split("\n")
            return cls(meta.pop("classes"), words, z["log_freq"], meta)
