"""ThemeModel: seeded spherical k-means over multilingual concept features (scikit-learn).

Why this shape: concept features are shared by all four languages, so a translation lands on the
same vector; seeding k-means with one centroid per well-supported touchpoint (or unclaimed concept)
makes the number of themes automatic, the result deterministic, and each theme nameable. Comments
with no lexicon hit fall back to their nearest clustered neighbours in char n-gram space; what is
still left is clustered on its own words (``discovery.py``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import sparse
from sklearn.cluster import KMeans
from sklearn.feature_extraction.text import TfidfVectorizer

from service.themes.discovery import ResidualDiscovery
from service.themes.lexicon import ConceptVectorizer, Match, l2_normalize
from service.themes.taxonomy import Taxonomy


@dataclass(frozen=True)
class ThemeParams:
    """Knobs for fitting and assignment; defaults come from ``service.config.Settings`` (themes_*)."""

    min_theme_size: int = 3
    min_theme_share: float = 0.01
    max_themes: int = 30
    min_confidence: float = 0.3
    secondary_ratio: float = 0.75
    max_themes_per_comment: int = 3
    fallback_min_similarity: float = 0.3
    fallback_neighbours: int = 5
    fallback_max_reference: int = 8000
    taxonomy_prior: float = 0.5
    member_min_similarity: float = 0.05
    # one seeded step: scored like 100 iterations on the eval sets, without drifting into mixed clusters on big dumps
    kmeans_max_iter: int = 1
    discover_residual: bool = True
    discovery_min_cohesion: float = 0.3
    discovery_min_similarity: float = 0.25
    discovery_max_k: int = 8
    random_state: int = 0

    def min_size(self, n: int) -> int:
        return max(self.min_theme_size, math.ceil(self.min_theme_share * n))


@dataclass
class Theme:
    theme_id: str
    label: str
    touchpoint: str | None
    group: str
    centroid: np.ndarray  # unit vector in concept space (zeros for a residual theme)
    residual: int | None = None  # index into ResidualDiscovery.themes for vocabulary-discovered themes


@dataclass(frozen=True)
class Assignment:
    theme: int
    confidence: float


class ThemeModel:
    """fit(texts, languages) learns themes; predict(texts, languages) assigns without re-clustering."""

    def __init__(self, taxonomy: Taxonomy, params: ThemeParams | None = None) -> None:
        self.taxonomy = taxonomy
        self.params = params or ThemeParams()
        self.vectorizer = ConceptVectorizer(taxonomy.lexicon)
        self.themes: list[Theme] = []
        self.n_themes_auto: int | None = None
        self.matches_: list[list[Match]] = []
        self.assignments_: list[list[Assignment]] = []
        self._char: TfidfVectorizer | None = None
        self._char_X: sparse.csr_matrix | None = None
        self._char_theme: np.ndarray | None = None
        self.discovery: ResidualDiscovery | None = None

    @property
    def version(self) -> str:
        return f"lexicon-{self.taxonomy.lexicon.version}+taxonomy-{self.taxonomy.version}"

    # -- building themes ----------------------------------------------------------------
    @classmethod
    def from_taxonomy(cls, taxonomy: Taxonomy, params: ThemeParams | None = None) -> "ThemeModel":
        """One theme per touchpoint, centroid = its concepts' weights; for real-time use with no data."""
        model = cls(taxonomy, params)
        w = taxonomy.lexicon.weights
        for tp in taxonomy.touchpoints:
            v = np.zeros(len(w))
            for c in tp.concepts:
                v[taxonomy.lexicon.index[c]] = w[taxonomy.lexicon.index[c]]
            v /= max(np.linalg.norm(v), 1e-12)
            model.themes.append(Theme(tp.key, tp.label, tp.key, tp.key, v))
        return model

    @classmethod
    def from_centroids(
        cls, taxonomy: Taxonomy, themes: Sequence[tuple[str, str, str | None, dict[str, float]]],
        params: ThemeParams | None = None,
    ) -> "ThemeModel":
        """Rebuild a fitted model from a report's (theme_id, label, touchpoint, centroid) rows."""
        model = cls(taxonomy, params)
        idx = taxonomy.lexicon.index
        for theme_id, label, touchpoint, centroid in themes:
            if not centroid:
                continue  # discovered from residual vocabulary: only reusable through the fitted model
            v = np.zeros(len(idx))
            for c, x in centroid.items():
                if c not in idx:
                    raise ValueError(f"theme {theme_id!r}: unknown concept {c!r} in centroid")
                v[idx[c]] = float(x)
            if not np.isfinite(v).all() or np.linalg.norm(v) == 0:
                raise ValueError(f"theme {theme_id!r}: centroid must be finite and not all zero")
            group = touchpoint if touchpoint in taxonomy.by_key else f"new:{taxonomy.lexicon.ids[int(v.argmax())]}"
            model.themes.append(Theme(theme_id, label, touchpoint, group, v / np.linalg.norm(v)))
        if not model.themes:
            raise ValueError("no theme with a concept centroid to assign to")
        return model

    def fit(self, texts: Sequence[str], languages: Sequence[str], n_themes: int | None = None) -> "ThemeModel":
        """Find themes in ``texts``; ``n_themes`` forces the count (merging or splitting), None = automatic.

        Sets ``themes``, ``assignments_`` (per comment, best first; empty = unassigned) and ``matches_``.
        """
        p = self.params
        n = len(texts)
        if n == 0:
            raise ValueError("cannot cluster zero comments")
        if n_themes is not None and not 1 <= n_themes <= p.max_themes:
            raise ValueError(f"n_themes must be between 1 and {p.max_themes}")
        raw, self.matches_ = self.vectorizer.transform_with_matches(texts, languages)
        X = l2_normalize(raw)
        covered = np.flatnonzero(X.any(axis=1))
        self.themes = []
        if covered.size:
            centroids, groups = self._seed(raw[covered], X[covered], n)
            self.n_themes_auto = len(centroids)
            k = min(n_themes or len(centroids), p.max_themes)
            labels = self._kmeans(X[covered], centroids)
            while len(np.unique(labels)) > k:
                labels = self._merge_closest(X[covered], labels)
            while len(np.unique(labels)) < k:
                split = self._bisect(X[covered], labels)
                if split is None:
                    break
                labels = split
            cluster_theme = self._make_themes(X[covered], labels)
            member_of = np.full(n, -1)
            member_of[covered] = [cluster_theme[c] for c in labels]
        else:
            self.n_themes_auto = 0
            member_of = np.full(n, -1)
        self.assignments_ = self._assign_members(X, member_of)
        self._fit_fallback(texts)
        self.assignments_ = self._apply_fallback(texts, self.assignments_)
        if n_themes is None:  # a requested count is exact: vocabulary discovery only adds themes in auto mode
            self._discover(texts, n)
            self.n_themes_auto = len(self.themes)
        return self

    def _discover(self, texts: Sequence[str], n_total: int) -> None:
        """Cluster what is still unassigned on its own words; tight clusters become discovered themes."""
        p = self.params
        self.discovery = None
        rest = [i for i, a in enumerate(self.assignments_) if not a]
        if not p.discover_residual or not rest:
            return
        disc = ResidualDiscovery(p.min_size(n_total), p.discovery_max_k, p.discovery_min_cohesion,
                                 p.discovery_min_similarity, p.random_state).fit([texts[i] for i in rest])
        if not disc.themes:
            return
        self.discovery = disc
        first = len(self.themes)
        seen = {t.theme_id for t in self.themes}
        for j, rt in enumerate(disc.themes):
            theme_id = base = "new-" + rt.terms[0]
            k = 2
            while theme_id in seen:
                theme_id, k = f"{base}-{k}", k + 1
            seen.add(theme_id)
            zero = np.zeros(len(self.taxonomy.lexicon.ids))
            self.themes.append(Theme(theme_id, "Discovered: " + " / ".join(rt.terms), None, "residual", zero, j))
        for i, hit in zip(rest, disc.predict([texts[i] for i in rest])):
            if hit is not None:
                self.assignments_[i] = [Assignment(first + hit[0], hit[1])]

    def _seed(self, raw: np.ndarray, X: np.ndarray, n_total: int) -> tuple[np.ndarray, list[str]]:
        """One centroid per group (touchpoint or unclaimed concept) that dominates enough comments."""
        mass = raw @ self.taxonomy.membership
        dominant = mass.argmax(axis=1)  # ties -> first group in taxonomy order (deterministic)
        counts = np.bincount(dominant, minlength=len(self.taxonomy.groups))
        min_size = min(self.params.min_size(n_total), max(1, len(X)))
        order = sorted((g for g in range(len(counts)) if counts[g] >= min_size), key=lambda g: (-counts[g], g))
        if not order:  # tiny input: every present group is a seed
            order = sorted(np.unique(dominant).tolist(), key=lambda g: (-counts[g], g))
        cents = np.stack([X[dominant == g].mean(axis=0) for g in order])
        return l2_normalize(cents), [self.taxonomy.groups[g] for g in order]

    def _kmeans(self, X: np.ndarray, init: np.ndarray) -> np.ndarray:
        if len(init) == 1:
            return np.zeros(len(X), dtype=int)
        km = KMeans(n_clusters=len(init), init=init, n_init=1, random_state=self.params.random_state,
                    max_iter=self.params.kmeans_max_iter)
        return km.fit_predict(X)

    @staticmethod
    def _merge_closest(X: np.ndarray, labels: np.ndarray) -> np.ndarray:
        """Merge the two clusters whose union costs least (Ward): asked for fewer themes than auto."""
        ids = np.unique(labels)
        sizes = np.array([(labels == c).sum() for c in ids], dtype=float)
        means = np.stack([X[labels == c].mean(axis=0) for c in ids])
        best, pair = np.inf, (0, 1)
        for a in range(len(ids)):
            for b in range(a + 1, len(ids)):
                cost = sizes[a] * sizes[b] / (sizes[a] + sizes[b]) * float(((means[a] - means[b]) ** 2).sum())
                if cost < best - 1e-12:
                    best, pair = cost, (a, b)
        out = labels.copy()
        out[labels == ids[pair[1]]] = ids[pair[0]]
        return out

    def _bisect(self, X: np.ndarray, labels: np.ndarray) -> np.ndarray | None:
        """Split the least coherent splittable cluster in two (asked for more themes than auto)."""
        best, best_sse = None, 0.0
        for c in np.unique(labels):
            m = X[labels == c]
            if len(np.unique(m.round(6), axis=0)) < 2:
                continue
            sse = float(((m - m.mean(axis=0)) ** 2).sum())
            if sse > best_sse:
                best, best_sse = c, sse
        if best is None:
            return None
        idx = np.flatnonzero(labels == best)
        sub = KMeans(n_clusters=2, n_init=4, random_state=self.params.random_state).fit_predict(X[idx])
        out = labels.copy()
        out[idx[sub == 1]] = labels.max() + 1
        return out

    def _make_themes(self, X: np.ndarray, labels: np.ndarray) -> dict[int, int]:
        """Name each cluster (taxonomy label, or the concept it is about); returns cluster -> theme index."""
        tax = self.taxonomy
        clusters = sorted(np.unique(labels).tolist(), key=lambda c: (-(labels == c).sum(), c))
        draft = []
        for c in clusters:
            cent = l2_normalize(X[labels == c].mean(axis=0, keepdims=True))[0]
            mass = cent @ tax.membership
            order = np.argsort(-mass, kind="stable")
            group = tax.groups[int(order[0])]
            # a merged theme (fewer themes asked for) is named after every group carrying real weight
            extra = [tax.groups[int(j)] for j in order[1:3] if mass[j] >= 0.5 * mass[order[0]]]
            draft.append((group, cent, " / ".join(tax.group_label(g) for g in [group, *extra])))
        base = [lab for _, _, lab in draft]
        ids_seen: dict[str, int] = {}
        for i, (group, cent, _) in enumerate(draft):
            label = base[i]
            if base.count(label) > 1:  # several themes on one touchpoint: name each by its strongest concept
                top = [tax.lexicon.label(tax.lexicon.ids[j]) for j in np.argsort(-cent, kind="stable")[:2] if cent[j] > 0]
                label = f"{label}: " + " + ".join([t for t in top if t != label] or top[:1])
            slug = group.replace("new:", "new-").replace("_", "-")
            ids_seen[slug] = ids_seen.get(slug, 0) + 1
            theme_id = slug if ids_seen[slug] == 1 else f"{slug}-{ids_seen[slug]}"
            self.themes.append(Theme(theme_id, label, tax.touchpoint_of(group), group, cent))
        return {c: i for i, c in enumerate(clusters)}

    def _assign_members(self, X: np.ndarray, member_of: np.ndarray) -> list[list[Assignment]]:
        """Fitted comments keep the cluster k-means put them in (merged themes included) when they share
        any concept with it; other close themes follow as secondary. Themes left with no member are dropped."""
        while True:
            base = self._assign_concepts(X)
            C = self._centroids()
            out: list[list[Assignment]] = []
            for i, t in enumerate(member_of):
                sim = float(X[i] @ C[t]) if t >= 0 else 0.0
                if sim >= self.params.member_min_similarity:
                    rest = [a for a in base[i] if a.theme != t][: self.params.max_themes_per_comment - 1]
                    out.append([Assignment(int(t), min(1.0, sim)), *rest])
                else:
                    out.append(base[i])
            used = sorted({a[0].theme for a in out if a})
            if len(used) == len(self.themes):
                return out
            remap = {old: new for new, old in enumerate(used)}
            self.themes = [self.themes[i] for i in used]
            member_of = np.array([remap.get(int(t), -1) for t in member_of])

    # -- assignment ---------------------------------------------------------------------
    def _prior(self, group: str) -> np.ndarray:
        """The group's concepts at their lexicon weights: what any comment on this touchpoint may look like."""
        lex = self.taxonomy.lexicon
        v = np.zeros(len(lex.ids))
        for ci, g in enumerate(self.taxonomy.concept_group):
            if g == group:
                v[ci] = lex.weights[ci]
        return v / max(float(np.linalg.norm(v)), 1e-12)

    def _centroids(self) -> np.ndarray:
        """Assignment centroids: data centroid blended with the theme's touchpoint prior, so a new comment
        about the same touchpoint through another concept ("paket" for a theme built on "leverans") still fits."""
        if not self.themes:
            return np.zeros((0, len(self.taxonomy.lexicon.ids)))
        rows = [t.centroid + self.params.taxonomy_prior * self._prior(t.group) for t in self.themes]
        return l2_normalize(np.stack(rows))

    def _residual_offset(self) -> int:
        return next((i for i, t in enumerate(self.themes) if t.residual is not None), len(self.themes))

    def _assign_concepts(self, X: np.ndarray) -> list[list[Assignment]]:
        p = self.params
        sims = X @ self._centroids().T
        for j, t in enumerate(self.themes):
            if t.residual is not None:
                sims[:, j] = -1.0  # reached only through their own vocabulary
        out: list[list[Assignment]] = []
        for row in sims:
            if row.size == 0 or row.max() < p.min_confidence:
                out.append([])
                continue
            order = np.argsort(-row, kind="stable")[: p.max_themes_per_comment]
            best = row[order[0]]
            out.append([Assignment(int(j), float(min(1.0, row[j]))) for j in order
                        if row[j] >= p.min_confidence and row[j] >= p.secondary_ratio * best])
        return out

    def _fit_fallback(self, texts: Sequence[str]) -> None:
        """Remember char n-grams of comments that got a theme, to place lexicon-less comments later."""
        primary = np.array([a[0].theme if a else -1 for a in self.assignments_])
        keep = np.flatnonzero(primary >= 0)
        self._char = self._char_X = self._char_theme = None
        if keep.size == 0:
            return
        if keep.size > self.params.fallback_max_reference:  # even, deterministic sample of reference comments
            keep = keep[np.linspace(0, keep.size - 1, self.params.fallback_max_reference).astype(int)]
        self._char = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True, lowercase=True,
                                     max_features=100_000, dtype=np.float32)
        self._char_X = self._char.fit_transform([texts[i] for i in keep]).tocsr()
        self._char_theme = primary[keep]

    def _apply_fallback(self, texts: Sequence[str], assigned: list[list[Assignment]]) -> list[list[Assignment]]:
        p = self.params
        todo = [i for i, a in enumerate(assigned) if not a]
        if not todo or self._char is None:
            return assigned
        out = list(assigned)
        for start in range(0, len(todo), 256):  # dense similarity block stays ~256 x n_fitted floats
            chunk = todo[start:start + 256]
            sims = (self._char.transform([texts[i] for i in chunk]) @ self._char_X.T).toarray()
            for row_i, i in enumerate(chunk):
                row = sims[row_i]
                nn = np.argsort(-row, kind="stable")[: p.fallback_neighbours]
                if row[nn[0]] < p.fallback_min_similarity:
                    continue  # nothing close enough: stays unassigned
                votes: dict[int, float] = {}
                for j in nn:
                    if row[j] >= p.fallback_min_similarity:
                        votes[int(self._char_theme[j])] = votes.get(int(self._char_theme[j]), 0.0) + float(row[j])
                if votes:
                    theme = min(votes, key=lambda t: (-votes[t], t))
                    out[i] = [Assignment(theme, float(row[nn[0]]))]
        return out

    def predict(self, texts: Sequence[str], languages: Sequence[str]) -> list[list[Assignment]]:
        """Assign comments to the existing themes (no re-clustering): nearest centroid(s), else char n-gram neighbours."""
        X = l2_normalize(self.vectorizer.transform(texts, languages))
        out = self._apply_fallback(texts, self._assign_concepts(X))
        rest = [i for i, a in enumerate(out) if not a]
        if self.discovery is not None and rest:
            first = self._residual_offset()
            for i, hit in zip(rest, self.discovery.predict([texts[i] for i in rest])):
                if hit is not None:
                    out[i] = [Assignment(first + hit[0], hit[1])]
        return out
