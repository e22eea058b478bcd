"""The clustering stages, both hierarchical, so results are deterministic (no random starts).

- ``AgglomerativeThemes``: average linkage on cosine distance cut at a distance threshold; used with
  a tight threshold to form groups of near-identical comments (e.g. one comment's translations).
- ``WardThemes``: Ward linkage, cut top-down wherever a cluster is cohesive enough (mean cosine of
  members to their centroid >= ``min_cohesion``), so the number of themes is automatic and does not
  grow with the input size; ``n_clusters`` fixes it instead. The tree is built on the input minus its
  own mean (re-normalised): what all comments of a dump share (its domain, "customer support") is
  not what tells its themes apart, and cohesion then means the same on any dump and inside a theme
  (sub-themes). Ward beat average linkage (one giant cluster) and k-means on the dev sets.

Memory is bounded by ``max_fit``: larger inputs are fitted on an even sample and the rest is placed
by ``predict``, so 100k comments cost the same as ``max_fit`` of them.
"""

from __future__ import annotations

import numpy as np
from scipy.cluster.hierarchy import fcluster, linkage, to_tree
from sklearn.cluster import AgglomerativeClustering

from service.themes.embedding import unit_rows


def even_sample(n: int, k: int) -> np.ndarray:
    """k evenly spaced indices of range(n) (all of them when n <= k): deterministic, order-preserving."""
    return np.arange(n) if n <= k else np.linspace(0, n - 1, k).round().astype(int)


class AgglomerativeThemes:
    """``fit(X)`` -> ``centroids_``, ``radius_`` (per cluster, the cosine a new row needs to join), ``labels_``.

    Clusters smaller than ``min_size`` are dropped (their rows get -1). ``n_clusters`` fixes the count
    instead of ``distance_threshold``.
    """

    def __init__(self, distance_threshold: float = 0.55, n_clusters: int | None = None, min_size: int = 3,
                 max_fit: int = 4000, radius_quantile: float = 0.02) -> None:
        self.distance_threshold = distance_threshold
        self.n_clusters = n_clusters
        self.min_size = min_size
        self.max_fit = max_fit
        self.radius_quantile = radius_quantile

    def fit(self, X: np.ndarray) -> "AgglomerativeThemes":
        X = np.asarray(X, dtype=np.float32)
        self.centroids_ = np.zeros((0, X.shape[1] if X.ndim == 2 else 0), dtype=np.float32)
        self.radius_ = np.zeros(0, dtype=np.float32)
        self.labels_ = np.full(len(X), -1)
        if len(X) < max(2, self.min_size):
            return self
        fit_idx = even_sample(len(X), self.max_fit)
        self._finish(X, fit_idx, self._cluster(X[fit_idx]))
        return self

    def _cluster(self, X: np.ndarray) -> np.ndarray:
        k = None if self.n_clusters is None else min(self.n_clusters, len(X))
        algo = AgglomerativeClustering(n_clusters=k, metric="cosine", linkage="average",
                                       distance_threshold=None if k else self.distance_threshold)
        return algo.fit_predict(X)

    def _finish(self, X: np.ndarray, fit_idx: np.ndarray, raw: np.ndarray) -> None:
        """Centroids and radii of the clusters of at least ``min_size``; labels for every row of X."""
        sizes = np.bincount(raw)
        keep = [c for c in np.argsort(-sizes, kind="stable") if sizes[c] >= self.min_size]
        cents, radii = [], []
        for c in keep:
            members = X[fit_idx[raw == c]]
            cent = unit_rows(members.mean(axis=0, keepdims=True))[0]
            cents.append(cent)
            radii.append(float(np.quantile(members @ cent, self.radius_quantile)))
        if cents:
            self.centroids_ = np.stack(cents).astype(np.float32)
            self.radius_ = np.array(radii, dtype=np.float32)
        self.labels_, _ = self.predict(X)
        if len(fit_idx) == len(X):  # the fitted rows keep the cluster the algorithm gave them
            remap = {c: j for j, c in enumerate(keep)}
            self.labels_ = np.array([remap.get(int(c), -1) for c in raw])

    def predict(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(cluster per row or -1, cosine to that cluster's centroid)."""
        if len(X) == 0 or len(self.centroids_) == 0:
            return np.full(len(X), -1), np.zeros(len(X), dtype=np.float32)
        sims = np.asarray(X, dtype=np.float32) @ self.centroids_.T
        best = sims.argmax(axis=1)
        top = sims[np.arange(len(X)), best]
        return np.where(top >= self.radius_[best], best, -1), top


class WardThemes(AgglomerativeThemes):
    """Ward tree cut by cohesion (or into ``n_clusters``); same fitted attributes as ``AgglomerativeThemes``."""

    def __init__(self, min_cohesion: float = 0.35, n_clusters: int | None = None, min_size: int = 3,
                 max_fit: int = 4000, radius_quantile: float = 0.02) -> None:
        super().__init__(0.0, n_clusters, min_size, max_fit, radius_quantile)
        self.min_cohesion = min_cohesion

    def _cluster(self, X: np.ndarray) -> np.ndarray:
        X = unit_rows(X - X.mean(axis=0, keepdims=True))
        Z = linkage(X.astype(np.float64), method="ward")
        if self.n_clusters is not None:
            return fcluster(Z, t=min(self.n_clusters, len(X)), criterion="maxclust") - 1
        labels = np.zeros(len(X), dtype=int)
        stack, next_label = [to_tree(Z)], 0
        while stack:
            node = stack.pop()
            members = np.array(node.pre_order())
            cent = unit_rows(X[members].mean(axis=0, keepdims=True))[0]
            cohesive = float(np.mean(X[members] @ cent)) >= self.min_cohesion
            if cohesive or node.is_leaf() or len(members) < 2 * self.min_size:
                labels[members] = next_label
                next_label += 1
            else:
                stack += [node.get_right(), node.get_left()]
        return labels
