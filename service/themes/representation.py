"""The representation stage: what a person reads about a theme.

- keywords per language by class-based TF-IDF (c-TF-IDF, as in BERTopic): a word scores high when it
  is frequent in this theme's clauses and rare across the other themes of that language;
- the most central clauses per language (closest to the theme centroid);
- a short label: the taxonomy's label (in each of its languages) for a touchpoint theme, the top
  keywords for a discovered theme or sub-theme.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np
from sklearn.feature_extraction.text import CountVectorizer

from service.config import LANGUAGES


@lru_cache(maxsize=1)
def stop_words() -> frozenset[str]:
    """Function words from spaCy's lists, read from their files: importing spaCy costs seconds."""
    spec = importlib.util.find_spec("spacy")  # locates the package without importing it
    words: set[str] = set()
    for root in (spec.submodule_search_locations or []) if spec else []:
        for lang in LANGUAGES:
            path = Path(root) / "lang" / lang / "stop_words.py"
            if path.exists():
                ns: dict[str, object] = {}
                exec(compile(path.read_text(encoding="utf-8"), str(path), "exec"), ns)  # plain STOP_WORDS = set(...)
                words.update(str(w).lower() for w in ns.get("STOP_WORDS", ()))  # type: ignore[union-attr]
    return frozenset(words)


class ClassTfidfKeywords:
    """``fit_transform(texts, languages, classes)`` -> {class: {language: [keywords]}}."""

    def __init__(self, n_keywords: int = 5, min_df: int = 2, max_docs_per_class: int = 2000) -> None:
        self.n_keywords = n_keywords
        self.min_df = min_df
        self.max_docs_per_class = max_docs_per_class

    def fit_transform(self, texts: Sequence[str], languages: Sequence[str],
                      classes: Sequence[int]) -> dict[int, dict[str, list[str]]]:
        out: dict[int, dict[str, list[str]]] = {}
        langs = np.asarray(list(languages), dtype=object)
        cls = np.asarray(list(classes))
        for lang in sorted(set(langs.tolist())):
            rows = np.flatnonzero((langs == lang) & (cls >= 0))
            labels = sorted(set(cls[rows].tolist()))
            if not labels:
                continue
            docs = []
            for c in labels:  # one document per class; a bounded sample of its clauses
                members = rows[cls[rows] == c][: self.max_docs_per_class]
                docs.append(" ".join(texts[i] for i in members))
            vec = CountVectorizer(token_pattern=r"(?u)\b[^\W\d_]{3,}\b", stop_words=sorted(stop_words()),
                                  lowercase=True, min_df=1)
            try:
                tf = vec.fit_transform(docs).toarray().astype(np.float64)
            except ValueError:  # nothing but stop words
                continue
            terms = vec.get_feature_names_out()
            # c-TF-IDF: tf per class, normalised by class length, times log(1 + mean words per class / word frequency)
            freq = tf.sum(axis=0)
            idf = np.log1p(tf.sum() / len(labels) / np.maximum(freq, 1.0))
            w = tf / np.maximum(tf.sum(axis=1, keepdims=True), 1.0) * idf
            df_ok = tf >= self.min_df if len(texts) >= 20 else tf > 0
            for j, c in enumerate(labels):
                order = [t for t in np.argsort(-w[j], kind="stable") if df_ok[j, t] and w[j, t] > 0][: self.n_keywords]
                if order:
                    out.setdefault(c, {})[lang] = [str(terms[t]) for t in order]
        return out


def central(X: np.ndarray, members: np.ndarray, centroid: np.ndarray, languages: Sequence[str],
            per_language: int) -> dict[str, list[tuple[int, float]]]:
    """Per language, the ``per_language`` members closest to ``centroid``: (row, cosine), best first."""
    sims = np.asarray(X[members], dtype=np.float32) @ centroid
    out: dict[str, list[tuple[int, float]]] = {}
    for k in np.argsort(-sims, kind="stable"):
        lang = languages[members[k]]
        picked = out.setdefault(lang, [])
        if len(picked) < per_language:
            picked.append((int(members[k]), float(sims[k])))
    return dict(sorted(out.items()))


def keyword_label(keywords: dict[str, list[str]], language: str, n: int = 2) -> str | None:
    words = keywords.get(language) or []
    return " / ".join(words[:n]) if words else None
