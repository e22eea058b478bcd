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

import hashlib
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
        # Names this word list (the n-gram model's precomputed word scores are aligned with it).
        self.words_digest = hashlib.sha256("\n".join(words).encode("utf-8")).hexdigest()
        self._listed: dict[tuple[str, ...], np.ndarray] = {}

    def log_likelihood(self, texts: Sequence[str]) -> np.ndarray:
        """(n, classes): sum of log frequencies of each text's listed words (0 where none is listed)."""
        return self._evidence(texts, None)[0]

    def log_posterior(self, texts: Sequence[str], classes: Sequence[str]) -> np.ndarray:
        """(n, len(classes)) log posterior over ``classes`` under a uniform prior (uniform where no word is listed)."""
        return self.evidence(texts, classes)[0]

    def all_listed(self, texts: Sequence[str], classes: Sequence[str]) -> np.ndarray:
        """(n,) True where the text has words and every one is listed (above the floor) in one of
        ``classes``: such a text is no other language's, so the other-distractor screen is skipped."""
        return self._evidence(texts, classes)[1]

    def evidence(self, texts: Sequence[str], classes: Sequence[str],
                 listed_in: Sequence[str] | None = None) -> tuple[np.ndarray, np.ndarray | None]:
        """``log_posterior(texts, classes)`` and ``all_listed(texts, listed_in)`` from one pass over the words."""
        ll, listed = self._evidence(texts, listed_in)
        ll = ll[:, [self.classes.index(c) for c in classes]]
        ll = ll - ll.max(axis=1, keepdims=True)
        return ll - np.log(np.exp(ll).sum(axis=1, keepdims=True)), listed

    def _listed_mask(self, classes: tuple[str, ...]) -> np.ndarray:
        mask = self._listed.get(classes)
        if mask is None:
            cols = [self.classes.index(c) for c in classes]
            mask = self._listed[classes] = self.log_freq[:, cols].max(axis=1) > np.log(self.meta["floor"]) + 0.05  # float16 rounding
        return mask

    def _evidence(self, texts: Sequence[str], listed_in: Sequence[str] | None) -> tuple[np.ndarray, np.ndarray | None]:
        out = np.zeros((len(texts), len(self.classes)))
        mask = self._listed_mask(tuple(listed_in)) if listed_in is not None else None
        get = self.index.get
        rows = [[get(w, -1) for w in words_of(text)] for text in texts]
        flat = np.fromiter((j for r in rows for j in r), dtype=np.int64)
        lengths = np.fromiter(map(len, rows), dtype=np.int64, count=len(rows))
        text_of = np.repeat(np.arange(len(rows)), lengths)
        known = flat >= 0
        # Sum each text's listed words' rows (one scatter-add instead of a small sum per text).
        np.add.at(out, text_of[known], self.log_freq[flat[known]].astype(np.float64))
        listed = None
        if mask is not None:
            ok = np.where(known, mask[np.where(known, flat, 0)], False)
            bad = np.bincount(text_of[~ok], minlength=len(rows))
            listed = (lengths > 0) & (bad == 0)
        return out, listed

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
