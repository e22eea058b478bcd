"""ThemeModel: touchpoint themes and sub-themes of comment clauses, built from separable stages.

Stages (constructor arguments, BERTopic-style; each is a plain object with ``fit``/``predict``):
embedding (``ThemeEmbedder``: language-centred e5 vectors) -> grouping of near-identical comments
(``AgglomerativeThemes`` with a tight threshold) -> taxonomy mapping of each group (``TaxonomyMapper``)
-> clustering of what the taxonomy does not cover (clusters whose centroid maps to a touchpoint join
it, the rest become discovered themes) -> sub-clustering inside each theme (the second level,
touchpoint -> sub-theme) -> representation (``ClassTfidfKeywords``).

Units are the whole comment plus its clauses (``service/segmentation.py``), so one comment carries several themes,
and theme sentiment is the sentiment of the clauses that carry the theme. Vectors may be passed in (the analysis pipeline
computes them in the same encoder pass as sentiment; batch jobs store them), so re-fitting with other
settings never re-encodes. Edits (rename, merge, split, keyword themes, moved comments) change the fitted
model and survive ``to_state``/``from_state``, so later assignments keep them: a keyword theme is a rule
on the comment's text (new comments that match join it), a moved comment is a pin on that comment's key
(a batch job's row), applied after the vectors have been assigned.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from sklearn.cluster import KMeans

from service.themes.clustering import AgglomerativeThemes, WardThemes, even_sample
from service.themes.embedding import ThemeEmbedder, unit_rows
from service.themes.mapping import Hit, TaxonomyMapper
from service.themes.representation import ClassTfidfKeywords, keyword_label
from service.segmentation import ClauseSegmenter, Unit

STATE_FORMAT = 1
RULE_ONLY = 2.0  # radius no cosine reaches: a keyword theme is joined by its rule, never by a vector


def phrase_pattern(phrase: str) -> re.Pattern[str]:
    """Where a keyword theme's phrase matches: at the start of a word, any case ("kassa" finds "Kassan",
    "kassajonossa", not "matkassa"), so inflected Finnish and Swedish forms are found without stemming."""
    return re.compile(r"(?<!\w)" + re.escape(phrase.strip().lower()))


@dataclass(frozen=True)
class KeywordRule:
    theme: int                      # index of the keyword theme
    phrase: str
    language: str | None = None     # None: any language


@dataclass
class Theme:
    theme_id: str
    label: str
    labels: dict[str, str]
    touchpoint: str | None          # taxonomy key; None for a discovered theme (and its sub-themes)
    parent: int | None              # index of the top-level theme; None = top level
    centroid: np.ndarray            # unit vector (mean of member clauses)
    radius: float                   # cosine a new clause needs to join (discovered themes, sub-themes)
    keywords: dict[str, list[str]] = field(default_factory=dict)
    sample: np.ndarray | None = None  # member vectors (bounded), what split re-clusters
    merged_into: int | None = None  # set by merge: assignments go to that theme instead
    edited: bool = False            # renamed/merged/split by a person

    @property
    def discovered(self) -> bool:
        return self.touchpoint is None


@dataclass(frozen=True)
class UnitHit:
    theme: int                      # top-level theme index
    sub: int | None                 # sub-theme index, when one fits
    confidence: float


@dataclass(frozen=True)
class CommentTheme:
    theme: int
    sub: int | None
    confidence: float
    units: tuple[int, ...]          # indices (into the flattened units) that carry the theme


def flatten(units: Sequence[Sequence[Unit]]) -> list[Unit]:
    return [u for us in units for u in us]


class ThemeModel:
    """``fit(texts, languages)`` finds themes; ``predict(...)`` assigns new comments to them."""

    def __init__(self, embedder: ThemeEmbedder | None, mapper: TaxonomyMapper | None,
                 grouping: AgglomerativeThemes | None, clustering: AgglomerativeThemes | WardThemes | None,
                 subclustering: AgglomerativeThemes | WardThemes | None,
                 keywords: ClassTfidfKeywords | None = None, segmenter: ClauseSegmenter | None = None,
                 min_theme_size: int = 3, min_theme_share: float = 0.005, max_sample: int = 200,
                 map_clusters: bool = True, cluster_member_floor: float = 0.67) -> None:
        self.embedder = embedder
        self.mapper = mapper
        self.grouping = grouping
        self.clustering = clustering
        self.subclustering = subclustering
        self.keywords = keywords
        self.segmenter = segmenter
        self.min_theme_size = min_theme_size
        self.min_theme_share = min_theme_share
        self.max_sample = max_sample
        self.map_clusters = map_clusters
        self.cluster_member_floor = cluster_member_floor
        self.rules_: list[KeywordRule] = []
        self.moves_: dict[str, dict[int, int]] = {}  # comment key -> {from top-level theme: to theme}

    # -- inputs ---------------------------------------------------------------------------
    def _units(self, texts: Sequence[str], units: Sequence[Sequence[Unit]] | None) -> list[list[Unit]]:
        if units is not None:
            if len(units) != len(texts):
                raise ValueError("units must align with texts")
            return [list(u) for u in units]
        return (self.segmenter or ClauseSegmenter()).transform(texts)

    def _vectors(self, texts: Sequence[str], units: Sequence[Sequence[Unit]], flat: Sequence[Unit],
                 languages: Sequence[str], vectors: np.ndarray | None) -> np.ndarray:
        if vectors is not None:
            if len(vectors) != len(flat):
                raise ValueError(f"{len(vectors)} vectors for {len(flat)} units")
            return np.asarray(vectors, dtype=np.float32)
        if self.embedder is None:
            raise ValueError("no vectors given and no embedding stage")
        return self.embedder.transform_units(texts, units, languages)

    def min_size(self, n_comments: int) -> int:
        return max(self.min_theme_size, math.ceil(self.min_theme_share * n_comments))

    # -- fitting --------------------------------------------------------------------------
    def fit(self, texts: Sequence[str], languages: Sequence[str], units: Sequence[Sequence[Unit]] | None = None,
            vectors: np.ndarray | None = None) -> "ThemeModel":
        """Sets ``themes_``, ``units_``, ``vectors_``, ``unit_hits_`` (per unit) and ``n_comments_``.

        Whole comments decide the main theme: they are grouped into tight clusters (``grouping``),
        and each cluster goes to the touchpoint its members' mean mapping score points to, so the
        translations of one comment, which sit in one cluster, get one touchpoint. What maps to no
        touchpoint is clustered again (``clustering``) into discovered themes. Clauses of multi-clause
        comments are mapped one by one and add the other themes a comment mentions.
        """
        if len(texts) != len(languages):
            raise ValueError("texts and languages must have the same length")
        if not texts:
            raise ValueError("cannot find themes in zero comments")
        if self.clustering is None:
            raise ValueError("a model without a clustering stage (ThemeModel.stored) cannot be fitted")
        per_comment = self._units(texts, units)
        flat = flatten(per_comment)
        X = self._vectors(texts, per_comment, flat, languages, vectors)
        ulangs = [languages[u.comment] for u in flat]
        utexts = [u.text for u in flat]
        n_min = self.min_size(len(texts))
        self.n_comments_ = len(texts)
        self.themes_: list[Theme] = []
        hits: list[list[UnitHit]] = [[] for _ in flat]
        whole = np.array([i for i, u in enumerate(flat) if u.whole], dtype=int)
        parts = np.array([i for i, u in enumerate(flat) if not u.whole], dtype=int)

        # 1. taxonomy mapping: tight clusters of whole comments vote with their mean score; clauses alone
        if self.mapper is not None:
            self.themes_ = self._touchpoint_themes(X.shape[1])
            S = self.mapper.scores(X, utexts, ulangs)
            Sw = S[whole]
            if self.grouping is not None and len(whole) > 1:
                self.grouping.min_size = 1
                groups = self.grouping.fit(X[whole]).labels_
                for g in np.unique(groups[groups >= 0]):
                    Sw[groups == g] = S[whole][groups == g].mean(axis=0)
            for i, row in zip(whole.tolist() + parts.tolist(),
                              self.mapper.hits(Sw) + self.mapper.hits(S[parts])):
                hits[i] = [UnitHit(h.touchpoint, None, h.confidence) for h in row]

        # 2. whole comments the taxonomy does not cover: cluster; clusters that map to a touchpoint join it
        rest = np.array([i for i in whole if not hits[i]], dtype=int)
        self.clustering.min_size = n_min
        self.clustering.fit(X[rest])
        labels = self.clustering.labels_
        cluster_hits = (self._cluster_hits(labels, Sw[np.searchsorted(whole, rest)])  # Sw's rows of ``rest``
                        if self.mapper is not None and self.map_clusters else [])
        found: list[int] = []
        for c in range(len(self.clustering.centroids_)):
            members = rest[labels == c]
            if cluster_hits and cluster_hits[c]:
                for i in members:
                    hits[i] = [UnitHit(cluster_hits[c][0].touchpoint, None, cluster_hits[c][0].confidence)]
                continue
            idx = len(self.themes_)
            found.append(idx)
            self.themes_.append(Theme(f"new-{len(found)}", "", {}, None, None, self.clustering.centroids_[c],
                                      float(self.clustering.radius_[c])))
            sims = X[members] @ self.clustering.centroids_[c]
            for i, sim in zip(members, sims):
                hits[i] = [UnitHit(idx, None, float(np.clip(sim, 0.0, 1.0)))]
        if found:  # clauses the taxonomy does not cover may belong to a discovered theme
            C = np.stack([self.themes_[j].centroid for j in found])
            R = np.array([self.themes_[j].radius for j in found])
            for i in parts:
                if not hits[i]:
                    sims = X[i] @ C.T
                    k = int(sims.argmax())
                    if sims[k] >= R[k]:
                        hits[i] = [UnitHit(found[k], None, float(min(1.0, sims[k])))]

        # 3. centroids and member samples, then sub-themes inside each theme (from its whole comments)
        primary = np.array([h[0].theme if h else -1 for h in hits])
        tops = list(range(len(self.themes_)))
        for t in tops:
            members = np.flatnonzero(primary == t)
            if len(members):
                self._set_members(t, X[members])
        sub_of = np.full(len(flat), -1)
        if self.subclustering is not None:
            self.subclustering.min_size = n_min
            for t in tops:
                members = np.flatnonzero(primary == t)
                if len(members) < 2 * n_min:
                    continue
                self.subclustering.fit(X[members])
                if len(self.subclustering.centroids_) < 2:
                    continue
                for c in range(len(self.subclustering.centroids_)):
                    idx = len(self.themes_)
                    self.themes_.append(Theme(f"{self.themes_[t].theme_id}.{c + 1}", "", {}, self.themes_[t].touchpoint,
                                              t, self.subclustering.centroids_[c], float(self.subclustering.radius_[c])))
                    chosen = members[self.subclustering.labels_ == c]
                    sub_of[chosen] = idx
                    self._set_members(idx, X[chosen])

        self.units_ = flat
        self.vectors_ = X
        self.unit_hits_ = [[UnitHit(h.theme, int(sub_of[i]) if j == 0 and sub_of[i] >= 0 else None, h.confidence)
                            for j, h in enumerate(row)] for i, row in enumerate(hits)]
        self._represent(utexts, ulangs, primary, sub_of)
        return self

    def _cluster_hits(self, labels: np.ndarray, member_scores: np.ndarray) -> list[list[Hit]]:
        """Per discovered cluster, the touchpoint it joins ([] = none): the one its centroid maps to, when its
        members' own mean score for that touchpoint reaches ``cluster_member_floor`` x the calibrated threshold.

        A centroid's cosines are inflated over its members' (the mean of unit vectors is re-normalised: a loose
        cluster of weak matches clears a threshold calibrated on single comments), so the centroid alone pulls
        mixed clusters into broad touchpoints; the floor keeps those as discovered themes.
        """
        assert self.mapper is not None
        floor = self.cluster_member_floor * self.mapper.calibration_.threshold
        out = []
        for c, hits in enumerate(self.mapper.predict(self.clustering.centroids_)):
            ok = bool(hits) and float(member_scores[labels == c, hits[0].touchpoint].mean()) >= floor
            out.append(hits if ok else [])
        return out

    def _touchpoint_themes(self, dim: int) -> list[Theme]:
        assert self.mapper is not None
        return [Theme(tp.key.replace("_", "-"), tp.label, dict(tp.labels), tp.key, None, np.zeros(dim, np.float32), 0.0)
                for tp in self.mapper.taxonomy.touchpoints]

    def for_taxonomy(self, dim: int) -> "ThemeModel":
        """A model with only the taxonomy's touchpoints (no data): real-time assignment before any fit."""
        if self.mapper is None:
            raise ValueError("a taxonomy model needs a mapper")
        self.themes_, self.n_comments_ = self._touchpoint_themes(dim), 0
        return self

    def _set_members(self, t: int, V: np.ndarray) -> None:
        theme = self.themes_[t]
        theme.centroid = unit_rows(V.mean(axis=0, keepdims=True))[0]
        theme.sample = V[even_sample(len(V), self.max_sample)].astype(np.float16)

    def _represent(self, texts: Sequence[str], languages: Sequence[str], primary: np.ndarray, sub_of: np.ndarray) -> None:
        kw = self.keywords or ClassTfidfKeywords()
        top_kw = kw.fit_transform(texts, languages, primary.tolist())
        sub_kw = kw.fit_transform(texts, languages, sub_of.tolist())
        for t, theme in enumerate(self.themes_):
            theme.keywords = (sub_kw if theme.parent is not None else top_kw).get(t, {})
            if theme.touchpoint is not None and theme.parent is None:
                continue  # the taxonomy's labels
            words = {lang: keyword_label(theme.keywords, lang) for lang in theme.keywords}
            words = {lang: w for lang, w in words.items() if w}
            main = max(words, key=lambda lang: (len(theme.keywords[lang]), lang == "en"), default=None)
            head = self.themes_[theme.parent] if theme.parent is not None else None
            if head is not None:
                theme.labels = {lang: f"{head.labels.get(lang, head.label)}: {w}" for lang, w in words.items()}
                theme.label = f"{head.label}: {words[main]}" if main else f"{head.label} ({theme.theme_id})"
            else:
                theme.labels = words
                theme.label = f"New: {words[main]}" if main else f"New theme {theme.theme_id}"

    # -- assignment -----------------------------------------------------------------------
    def canonical(self, t: int) -> int:
        while self.themes_[t].merged_into is not None:
            t = self.themes_[t].merged_into  # type: ignore[assignment]
        return t

    def touchpoint_themes(self) -> dict[int, int]:
        """The mapper's touchpoint index -> this model's theme of it. By key, not position: a taxonomy that
        gained touchpoints after the fit (``ThemeComponents.with_additions``) still fits the model, and its
        new touchpoints reach the model only where a theme was given their key (``add_touchpoint``)."""
        assert self.mapper is not None
        index = {key: t for t, key in enumerate(self.mapper.taxonomy.keys)}
        out: dict[int, int] = {}
        for j, th in enumerate(self.themes_):
            if th.touchpoint is not None and th.parent is None and th.touchpoint in index:
                out.setdefault(index[th.touchpoint], j)  # the theme made for it first (a merge may copy its key)
        return out

    def sub_for(self, top: int, v: np.ndarray) -> int | None:
        """The sub-theme of top-level theme ``top`` that vector ``v`` falls in, if any (the assignment rule)."""
        subs = [j for j, th in enumerate(self.themes_) if th.parent == top and th.merged_into is None]
        if not subs:
            return None
        sims = np.array([float(v @ self.themes_[j].centroid) for j in subs])
        k = int(sims.argmax())
        return subs[k] if sims[k] >= self.themes_[subs[k]].radius else None

    def predict_units(self, X: np.ndarray, texts: Sequence[str], languages: Sequence[str]) -> list[list[UnitHit]]:
        """Per clause vector: its themes, best first ([] = none fits)."""
        out: list[list[UnitHit]] = [[] for _ in range(len(X))]
        if self.mapper is not None:
            of_touchpoint = self.touchpoint_themes()
            for i, hits in enumerate(self.mapper.predict(X, texts, languages)):
                out[i] = [UnitHit(self.canonical(of_touchpoint[h.touchpoint]), None, h.confidence) for h in hits
                          if h.touchpoint in of_touchpoint]
        found = [j for j, th in enumerate(self.themes_)
                 if th.discovered and th.parent is None and th.merged_into is None and th.radius < RULE_ONLY]
        if found:
            C = np.stack([self.themes_[j].centroid for j in found])
            R = np.array([self.themes_[j].radius for j in found])
            sims = X @ C.T
            for i in range(len(X)):
                if out[i]:
                    continue
                k = int(sims[i].argmax())
                if sims[i, k] >= R[k]:
                    out[i] = [UnitHit(self.canonical(found[k]), None, float(min(1.0, sims[i, k])))]
        for i, hits in enumerate(out):
            seen: dict[int, UnitHit] = {}
            for h in hits:
                if h.theme not in seen:
                    seen[h.theme] = UnitHit(h.theme, self.sub_for(h.theme, X[i]), h.confidence)
            out[i] = list(seen.values())
        return out

    def comment_themes(self, units: Sequence[Unit], hits: Sequence[Sequence[UnitHit]],
                       n_comments: int) -> list[list[CommentTheme]]:
        """Per comment: the whole comment's main theme first, then the other themes of its units by confidence."""
        by: list[dict[int, list]] = [{} for _ in range(n_comments)]
        main: list[int | None] = [None] * n_comments
        for i, (u, row) in enumerate(zip(units, hits)):
            for j, h in enumerate(row):
                top = self.canonical(h.theme)
                sub = self.canonical(h.sub) if h.sub is not None else None
                if u.whole and j == 0:
                    main[u.comment] = top
                cur = by[u.comment].get(top)
                if cur is None:
                    by[u.comment][top] = [h.confidence, sub, [i]]
                else:
                    if h.confidence > cur[0]:
                        cur[0], cur[1] = h.confidence, sub if sub is not None else cur[1]
                    cur[2].append(i)
        return [sorted((CommentTheme(t, s, c, tuple(us)) for t, (c, s, us) in row.items()),
                       key=lambda x: (x.theme != main[k], -x.confidence, x.theme)) for k, row in enumerate(by)]

    def predict(self, texts: Sequence[str], languages: Sequence[str], units: Sequence[Sequence[Unit]] | None = None,
                vectors: np.ndarray | None = None, keys: Sequence[str] | None = None) -> list[list[CommentTheme]]:
        """``keys`` name the comments (a job's rows) so that comments moved by hand stay where they were put."""
        per_comment = self._units(texts, units)
        flat = flatten(per_comment)
        X = self._vectors(texts, per_comment, flat, languages, vectors)
        hits = self.predict_units(X, [u.text for u in flat], [languages[u.comment] for u in flat])
        return self.apply_edits(self.comment_themes(flat, hits, len(texts)), texts, languages, flat, keys)

    def apply_edits(self, rows: list[list[CommentTheme]], texts: Sequence[str], languages: Sequence[str],
                    units: Sequence[Unit], keys: Sequence[str] | None = None) -> list[list[CommentTheme]]:
        """Keyword themes (their rules, first) and moved comments (``keys``) over the vectors' assignment."""
        if not self.rules_ and not (self.moves_ and keys is not None):
            return rows
        of_comment: dict[int, list[int]] = {}
        for k, u in enumerate(units):
            of_comment.setdefault(u.comment, []).append(k)
        patterns = [(r, phrase_pattern(r.phrase)) for r in self.rules_]
        out = []
        for i, row in enumerate(rows):
            lowered = texts[i].lower()
            for rule, pat in reversed(patterns):  # the first rule ends up first: the comment's main theme
                if (rule.language is None or rule.language == languages[i]) and pat.search(lowered):
                    t = self.canonical(rule.theme)
                    mine = [k for k in of_comment.get(i, []) if not units[k].whole and pat.search(units[k].text.lower())]
                    mine = mine or [k for k in of_comment.get(i, []) if units[k].whole]
                    row = [CommentTheme(t, None, 1.0, tuple(mine)), *(c for c in row if self.canonical(c.theme) != t)]
            moved = self.moves_.get(keys[i]) if keys is not None else None
            if moved:
                for src, dst in moved.items():
                    src, dst = self.canonical(src), self.canonical(dst)
                    has_dst = any(self.canonical(c.theme) == dst for c in row)
                    row = [c if self.canonical(c.theme) != src else CommentTheme(dst, None, 1.0, c.units)
                           for c in row if not (has_dst and self.canonical(c.theme) == src)]
            out.append(row)
        return out

    # -- edits (kept by to_state, so later assignments follow them) ------------------------
    def index_of(self, theme_id: str) -> int:
        for j, th in enumerate(self.themes_):
            if th.theme_id == theme_id and th.merged_into is None:
                return j
        raise KeyError(theme_id)

    def rename(self, theme_id: str, label: str, labels: dict[str, str] | None = None) -> Theme:
        theme = self.themes_[self.index_of(theme_id)]
        theme.label, theme.labels, theme.edited = label, dict(labels or {}), True
        return theme

    def merge(self, theme_ids: Sequence[str], label: str | None = None) -> Theme:
        """The first theme absorbs the others (same level; sub-themes of the same parent)."""
        idx = [self.index_of(t) for t in dict.fromkeys(theme_ids)]
        if len(idx) < 2:
            raise ValueError("merge needs at least two different themes")
        parents = {self.themes_[j].parent for j in idx}
        if len(parents) != 1:
            raise ValueError("only themes of the same level (and the same parent) can be merged")
        keep = self.themes_[idx[0]]
        weights, cents = [], []
        for j in idx:
            th = self.themes_[j]
            n = len(th.sample) if th.sample is not None else 1
            weights.append(n)
            cents.append(th.centroid)
            if j != idx[0]:
                th.merged_into = idx[0]
                for s in self.themes_:
                    if s.parent == j:
                        s.parent = idx[0]
        keep.centroid = unit_rows((np.array(weights)[:, None] * np.stack(cents)).sum(axis=0, keepdims=True))[0]
        keep.radius = min(self.themes_[j].radius for j in idx)
        samples = [self.themes_[j].sample for j in idx if self.themes_[j].sample is not None]
        if samples:
            both = np.concatenate(samples)
            keep.sample = both[even_sample(len(both), self.max_sample)]
        keep.touchpoint = keep.touchpoint if keep.touchpoint is not None else next(
            (self.themes_[j].touchpoint for j in idx if self.themes_[j].touchpoint is not None), None)
        if label:
            keep.label, keep.labels = label, {}
        keep.edited = True
        return keep

    def split(self, theme_id: str, n: int = 2) -> list[Theme]:
        """Re-cluster a theme's stored members into ``n`` sub-themes (a sub-theme splits into siblings)."""
        j = self.index_of(theme_id)
        theme = self.themes_[j]
        if theme.sample is None or len(theme.sample) < 2 * n:
            raise ValueError(f"theme {theme_id!r} has too few stored members to split into {n}")
        V = theme.sample.astype(np.float32)
        labels = KMeans(n_clusters=n, n_init=4, random_state=0).fit_predict(V)
        parent = theme.parent if theme.parent is not None else j
        if theme.parent is not None:
            theme.merged_into = parent  # the sub-theme is replaced by its parts
        else:
            for s in self.themes_:  # the old sub-themes are replaced by the new ones
                if s.parent == j and s.merged_into is None:
                    s.merged_into = j
        new = []
        for c in range(n):
            members = V[labels == c]
            cent = unit_rows(members.mean(axis=0, keepdims=True))[0]
            base = f"{self.themes_[parent].theme_id}.s"
            k = 1 + sum(1 for th in self.themes_ if th.theme_id.startswith(base))
            # radius -1: a split partitions its theme, every member goes to its nearest part
            th = Theme(f"{base}{k}", f"{theme.label} ({c + 1}/{n})", {}, theme.touchpoint, parent, cent,
                       -1.0, {}, members.astype(np.float16), None, True)
            self.themes_.append(th)
            new.append(th)
        return new

    def add_keyword_theme(self, phrase: str, label: str | None = None, language: str | None = None) -> Theme:
        """A new top-level theme of every comment whose text has ``phrase`` (optionally in one language)."""
        phrase = " ".join(phrase.split())
        if len(phrase) < 2:
            raise ValueError("a keyword needs at least two characters")
        dim = self.themes_[0].centroid.shape[0] if self.themes_ else 0
        k = 1 + sum(1 for th in self.themes_ if th.theme_id.startswith("kw-"))
        where = f" ({language})" if language else ""
        th = Theme(f"kw-{k}", label or f"“{phrase}”{where}", {}, None, None, np.zeros(dim, np.float32), RULE_ONLY,
                   {}, None, None, True)
        self.themes_.append(th)
        self.rules_.append(KeywordRule(len(self.themes_) - 1, phrase, language))
        return th

    def move(self, keys: Sequence[str], from_id: str, to_id: str) -> Theme:
        """Comments ``keys`` leave top-level theme ``from_id`` (a sub-theme: its theme) for top-level ``to_id``."""
        src, dst = self.index_of(from_id), self.index_of(to_id)
        src = self.themes_[src].parent if self.themes_[src].parent is not None else src
        if self.themes_[dst].parent is not None:
            raise ValueError("comments are moved to a theme, not a sub-theme")
        if src == dst:
            raise ValueError("choose another theme than the comments' own")
        if not keys:
            raise ValueError("choose at least one comment to move")
        for key in keys:
            self.moves_.setdefault(str(key), {})[src] = dst
        self.themes_[dst].edited = True
        return self.themes_[dst]

    def add_touchpoint(self, key: str, label: str, theme_id: str | None = None) -> Theme:
        """Make a taxonomy touchpoint ``key`` (already in the mapper's taxonomy) one of this model's themes:
        the discovered top-level theme ``theme_id`` becomes it, or (None) a new theme is added for it.
        Comments the mapper gives the touchpoint are assigned to that theme from then on."""
        if self.mapper is None or key not in self.mapper.taxonomy.keys:
            raise ValueError(f"{key!r} is not a touchpoint of the loaded taxonomy")
        if any(th.touchpoint == key and th.merged_into is None for th in self.themes_):
            raise ValueError(f"this model already has a theme for the touchpoint {key!r}")
        if theme_id is not None:
            th = self.themes_[self.index_of(theme_id)]
            if th.parent is not None or not th.discovered:
                raise ValueError("only a discovered theme (not a sub-theme) can be added to the taxonomy")
            th.touchpoint, th.label, th.labels, th.edited = key, label, {}, True
            return th
        dim = self.themes_[0].centroid.shape[0] if self.themes_ else 0
        th = Theme(key.replace("_", "-"), label, {}, key, None, np.zeros(dim, np.float32), 0.0, {}, None, None, True)
        self.themes_.append(th)
        return th

    # -- persistence ------------------------------------------------------------------------
    def to_state(self) -> tuple[dict, dict[str, np.ndarray]]:
        """(JSON-ready description, arrays): what the database stores for a fitted model."""
        meta = {"format": STATE_FORMAT, "n_comments": self.n_comments_, "themes": [
            {"theme_id": t.theme_id, "label": t.label, "labels": t.labels, "touchpoint": t.touchpoint,
             "parent": t.parent, "radius": t.radius, "keywords": t.keywords, "merged_into": t.merged_into,
             "edited": t.edited, "n_sample": 0 if t.sample is None else int(len(t.sample))}
            for t in self.themes_],
            "rules": [[r.theme, r.phrase, r.language] for r in self.rules_],
            "moves": {k: {str(a): b for a, b in m.items()} for k, m in self.moves_.items()}}
        arrays = {"centroids": np.stack([t.centroid for t in self.themes_]).astype(np.float32)
                  if self.themes_ else np.zeros((0, 0), np.float32)}
        samples = [t.sample for t in self.themes_ if t.sample is not None]
        arrays["samples"] = np.concatenate(samples).astype(np.float16) if samples else np.zeros((0, 0), np.float16)
        return meta, arrays

    @classmethod
    def stored(cls, meta: dict, arrays: dict[str, np.ndarray]) -> "ThemeModel":
        """The fitted themes of a stored model without any stage: enough to report on assignments made
        elsewhere (the Ray driver's report), without loading an encoder; it cannot fit or embed."""
        return cls(embedder=None, mapper=None, grouping=None, clustering=None, subclustering=None).load_state(meta, arrays)

    def load_state(self, meta: dict, arrays: dict[str, np.ndarray]) -> "ThemeModel":
        if meta.get("format") != STATE_FORMAT:
            raise ValueError(f"unsupported theme model format {meta.get('format')!r}")
        self.n_comments_ = int(meta["n_comments"])
        self.themes_, offset = [], 0
        for j, t in enumerate(meta["themes"]):
            n = int(t["n_sample"])
            sample = arrays["samples"][offset:offset + n] if n else None
            offset += n
            self.themes_.append(Theme(t["theme_id"], t["label"], dict(t["labels"]), t["touchpoint"], t["parent"],
                                      arrays["centroids"][j].astype(np.float32), float(t["radius"]),
                                      {k: list(v) for k, v in t["keywords"].items()}, sample, t["merged_into"],
                                      bool(t["edited"])))
        self.rules_ = [KeywordRule(int(t), str(p), lang) for t, p, lang in meta.get("rules", [])]
        self.moves_ = {str(k): {int(a): int(b) for a, b in m.items()} for k, m in meta.get("moves", {}).items()}
        if self.mapper is not None:  # touchpoint themes are assigned through the taxonomy, by key
            missing = sorted({t.touchpoint for t in self.themes_ if t.touchpoint is not None}
                             - set(self.mapper.taxonomy.keys))
            if missing:
                raise ValueError(f"this theme model was fitted with another taxonomy (no {', '.join(missing)}); "
                                 "fit it again")
        return self
