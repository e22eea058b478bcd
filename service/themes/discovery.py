"""Discovery of themes the lexicon has no words for: k-means over word TF-IDF of the leftover comments.

Why: a seeded lexicon only finds what it was seeded with. Comments it cannot read (product-specific
words, "will come back", a banking app's "top-up") would otherwise all end up unassigned; here they
are clustered on their own vocabulary, and only tight, large-enough clusters become themes.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from sklearn.cluster import KMeans
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics import silhouette_score
from sklearn.preprocessing import normalize


@lru_cache(maxsize=1)
def stop_words() -> frozenset[str]:
    """sv/da/fi/en function words from spaCy's lists, read from their files: importing spaCy costs seconds."""
    spec = importlib.util.find_spec("spacy")  # locates the package without importing it
    words: set[str] = set()
    for root in (spec.submodule_search_locations or []) if spec else []:
        for lang in ("sv", "da", "fi", "en"):
            path = Path(root) / "lang" / lang / "stop_words.py"
            if path.exists():
                ns: dict[str, object] = {}
                exec(compile(path.read_text(encoding="utf-8"), str(path), "exec"), ns)  # plain STOP_WORDS = set(...)
                words.update(str(w).lower() for w in ns.get("STOP_WORDS", ()))  # type: ignore[union-attr]
    return frozenset(words)


@dataclass
class ResidualTheme:
    terms: list[str]           # top terms, best first (the label)
    centroid: np.ndarray       # unit vector in the residual TF-IDF space
    cohesion: float            # mean cosine of members to the centroid


class ResidualDiscovery:
    """fit(texts) finds tight word clusters; predict(texts) places new comments in them (or nowhere)."""

    def __init__(self, min_size: int, max_k: int = 8, min_cohesion: float = 0.3, min_similarity: float = 0.25,
                 random_state: int = 0, max_fit: int = 3000) -> None:
        self.min_size = min_size
        self.max_k = max_k
        self.min_cohesion = min_cohesion
        self.min_similarity = min_similarity
        self.random_state = random_state
        self.max_fit = max_fit
        self.themes: list[ResidualTheme] = []
        self._vec: TfidfVectorizer | None = None

    def fit(self, texts: Sequence[str]) -> "ResidualDiscovery":
        self.themes, self._vec = [], None
        if len(texts) < 2 * self.min_size:
            return self
        if len(texts) > self.max_fit:  # an even, deterministic sample bounds the k-means/silhouette cost
            step = len(texts) / self.max_fit
            texts = [texts[int(i * step)] for i in range(self.max_fit)]
        vec = TfidfVectorizer(token_pattern=r"(?u)\b[^\W\d_]{3,}\b", stop_words=sorted(stop_words()), min_df=2,
                              sublinear_tf=True, dtype=np.float64)  # no max_df: the residual may be one topic
        try:
            X = vec.fit_transform(texts)
        except ValueError:  # no term occurs twice: nothing shared to discover
            return self
        keep = np.flatnonzero(X.getnnz(axis=1) > 0)
        if len(keep) < 2 * self.min_size:
            return self
        Xk = normalize(X[keep])
        labels = self._choose_clusters(Xk)
        if labels is None:
            return self
        terms = vec.get_feature_names_out()
        labels = self._merge_similar(Xk, labels)
        for c in np.unique(labels):
            members = Xk[labels == c]
            if members.shape[0] < self.min_size:
                continue
            cent = np.asarray(members.mean(axis=0)).ravel()
            cent /= max(np.linalg.norm(cent), 1e-12)
            sims = members @ cent
            cohesion = float(np.mean(sims))
            if cohesion < self.min_cohesion or int((sims >= self.min_similarity).sum()) < self.min_size:
                continue
            top = [str(terms[j]) for j in np.argsort(-cent, kind="stable")[:3] if cent[j] > 0]
            self.themes.append(ResidualTheme(top, cent, round(cohesion, 4)))
        self.themes.sort(key=lambda t: (-t.cohesion, t.terms))
        self._vec = vec if self.themes else None
        return self

    def _choose_clusters(self, Xk: object) -> np.ndarray | None:
        """One cluster if the residual is a single tight topic, else k-means with the best silhouette."""
        n = Xk.shape[0]
        whole = np.asarray(Xk.mean(axis=0)).ravel()
        whole /= max(float(np.linalg.norm(whole)), 1e-12)
        if float(np.mean(Xk @ whole)) >= 0.5:
            return np.zeros(n, dtype=int)
        n_distinct = len({tuple(np.round(r.toarray().ravel(), 6)) for r in Xk}) if n <= 500 else n
        best: tuple[float, np.ndarray] | None = None
        for k in range(2, min(self.max_k, n // self.min_size, n_distinct) + 1):
            labels = KMeans(n_clusters=k, n_init=3, random_state=self.random_state).fit_predict(Xk)
            if len(np.unique(labels)) < 2:
                continue
            s = float(silhouette_score(Xk, labels, metric="cosine", sample_size=min(n, 2000),
                                       random_state=self.random_state))
            if best is None or s > best[0] + 1e-9:
                best = (s, labels)
        return None if best is None else best[1]

    @staticmethod
    def _merge_similar(X: object, labels: np.ndarray, min_cos: float = 0.5) -> np.ndarray:
        """k-means must split even a single-topic residual in two; re-join clusters whose centroids agree."""
        labels = labels.copy()
        while True:
            ids = np.unique(labels)
            cents = np.stack([np.asarray(X[labels == c].mean(axis=0)).ravel() for c in ids])
            cents /= np.maximum(np.linalg.norm(cents, axis=1, keepdims=True), 1e-12)
            sims = cents @ cents.T
            np.fill_diagonal(sims, -1.0)
            a, b = np.unravel_index(int(sims.argmax()), sims.shape)
            if len(ids) < 2 or sims[a, b] < min_cos:
                return labels
            labels[labels == ids[max(a, b)]] = ids[min(a, b)]

    def predict(self, texts: Sequence[str]) -> list[tuple[int, float] | None]:
        """(theme index, cosine) per text, None when no discovered theme is close enough."""
        if self._vec is None or not texts:
            return [None] * len(texts)
        X = normalize(self._vec.transform(texts))
        sims = np.asarray(X @ np.stack([t.centroid for t in self.themes]).T)
        out: list[tuple[int, float] | None] = []
        for row in sims:
            j = int(row.argmax())
            out.append((j, float(row[j])) if row[j] >= self.min_similarity else None)
        return out

    def top_terms(self, text_indices: Sequence[int], texts: Sequence[str], n: int) -> list[str]:
        """Most frequent discovered-vocabulary words among some texts (per-language keywords)."""
        if self._vec is None or not text_indices:
            return []
        X = self._vec.transform([texts[i] for i in text_indices])
        score = np.asarray((X > 0).sum(axis=0)).ravel()
        terms = self._vec.get_feature_names_out()
        order = sorted((j for j in np.flatnonzero(score)), key=lambda j: (-score[j], terms[j]))
        return [str(terms[j]) for j in order[:n]]
