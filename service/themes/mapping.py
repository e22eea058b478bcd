"""Taxonomy mapping without keywords: a clause (or a cluster centroid) goes to the touchpoint whose
description and examples it is most similar to, when the calibrated similarity is high enough.

Score per touchpoint = ``centroid_weight`` x cosine to the touchpoint's prototype (mean of its
embedded description and examples) + the rest x the mean of the ``top_examples`` best example cosines
(one close example counts even when the touchpoint is broad), + ``prior_bonus`` when the clause names
one of the touchpoint's lexicon concepts. ``threshold`` and the confidence curve come from
``mapping.json``, fitted on the parallel dev set by ``training/calibrate_themes.py``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from service.themes.embedding import unit_rows
from service.themes.taxonomy import Taxonomy

MAPPING_FILE = "mapping.json"
Embed = Callable[[Sequence[str], Sequence[str]], np.ndarray]


@dataclass(frozen=True)
class Calibration:
    """Where a score becomes an assignment, and how a score reads as a probability (logistic fit on dev)."""

    threshold: float = 0.30
    slope: float = 20.0
    intercept: float = -6.0
    secondary_margin: float = 0.04

    @classmethod
    def load(cls, path: Path) -> "Calibration":
        if not path.exists():
            return cls()
        raw = json.loads(path.read_text())
        return cls(**{k: float(raw[k]) for k in asdict(cls()) if k in raw})

    def confidence(self, score: float) -> float:
        return 1.0 / (1.0 + math.exp(-(self.slope * score + self.intercept)))


@dataclass(frozen=True)
class Hit:
    touchpoint: int
    score: float
    confidence: float


def example_texts(touchpoints: Sequence[Any], start: int = 0) -> tuple[list[str], list[str], list[int]]:
    """What a touchpoint is embedded from: its description (English) and its example clauses per language;
    (texts, their languages, the index of the touchpoint each belongs to, counted from ``start``)."""
    texts: list[str] = []
    langs: list[str] = []
    owner: list[int] = []
    for k, tp in enumerate(touchpoints, start=start):
        if tp.description:
            texts.append(tp.description)
            langs.append("en")
            owner.append(k)
        for lang, examples in tp.examples.items():
            texts += list(examples)
            langs += [lang] * len(examples)
            owner += [k] * len(examples)
    return texts, langs, owner


class TaxonomyMapper:
    """``fit(embed)`` embeds the taxonomy; ``predict(X, texts, languages)`` -> per row, hits best first."""

    def __init__(self, taxonomy: Taxonomy, calibration: Calibration | None = None, centroid_weight: float = 0.5,
                 top_examples: int = 2, prior_bonus: float = 0.1, max_hits: int = 2) -> None:
        self.taxonomy = taxonomy
        self.calibration = calibration
        self.centroid_weight = centroid_weight
        self.top_examples = top_examples
        self.prior_bonus = prior_bonus
        self.max_hits = max_hits

    def fit(self, embed: Embed) -> "TaxonomyMapper":
        self.calibration_ = self.calibration or Calibration()
        texts, langs, owner = example_texts(self.taxonomy.touchpoints)
        V = embed(texts, langs)
        self.example_vectors_ = V.astype(np.float32)
        self.example_owner_ = np.array(owner)
        self.prototypes_ = unit_rows(np.stack([V[self.example_owner_ == t].mean(axis=0)
                                               for t in range(len(self.taxonomy.touchpoints))]))
        return self

    def extended(self, taxonomy: Taxonomy, vectors: np.ndarray, owner: Sequence[int]) -> "TaxonomyMapper":
        """A fitted mapper of ``taxonomy`` (this one's touchpoints + new ones at the end), given only the new
        touchpoints' embedded examples: ``vectors`` with ``owner`` = their touchpoint's index in ``taxonomy``."""
        n_old = len(self.taxonomy.touchpoints)
        new = sorted(set(owner))
        if new != list(range(n_old, len(taxonomy.touchpoints))):
            raise ValueError("every added touchpoint needs embedded examples (or its description)")
        out = TaxonomyMapper(taxonomy, self.calibration, self.centroid_weight, self.top_examples, self.prior_bonus,
                             self.max_hits)
        out.calibration_ = self.calibration_
        owner_arr = np.asarray(owner)
        out.example_vectors_ = np.concatenate([self.example_vectors_, vectors.astype(np.float32)])
        out.example_owner_ = np.concatenate([self.example_owner_, owner_arr])
        added = unit_rows(np.stack([vectors[owner_arr == t].mean(axis=0) for t in new]))
        out.prototypes_ = np.concatenate([self.prototypes_, added])
        return out

    def scores(self, X: np.ndarray, texts: Sequence[str] | None = None,
               languages: Sequence[str] | None = None) -> np.ndarray:
        """(rows, touchpoints) similarity scores; texts+languages enable the lexicon prior."""
        n_tp = len(self.taxonomy.touchpoints)
        if len(X) == 0:
            return np.zeros((0, n_tp), dtype=np.float32)
        proto = X @ self.prototypes_.T
        ex = X @ self.example_vectors_.T
        best = np.zeros_like(proto)
        for t in range(n_tp):
            cols = ex[:, self.example_owner_ == t]
            k = min(self.top_examples, cols.shape[1])
            best[:, t] = np.sort(cols, axis=1)[:, -k:].mean(axis=1)
        s = self.centroid_weight * proto + (1.0 - self.centroid_weight) * best
        if texts is not None and languages is not None and self.prior_bonus:
            s += self.prior_bonus * self.prior(texts, languages)
        return s.astype(np.float32)

    def prior(self, texts: Sequence[str], languages: Sequence[str]) -> np.ndarray:
        """1 where a text names a lexicon concept the touchpoint claims."""
        keys = {k: i for i, k in enumerate(self.taxonomy.keys)}
        out = np.zeros((len(texts), len(keys)), dtype=np.float32)
        lex = self.taxonomy.lexicon
        for i, (text, lang) in enumerate(zip(texts, languages)):
            for m in lex.match(text, lang or "und"):
                owner = self.taxonomy.concept_owner.get(m.concept)
                if owner is not None:
                    out[i, keys[owner]] = 1.0
        return out

    def hits(self, S: np.ndarray) -> list[list[Hit]]:
        """Per row: the best touchpoint over the threshold, plus others within ``secondary_margin`` of it."""
        cal = self.calibration_
        out: list[list[Hit]] = []
        for row in S:
            order = np.argsort(-row, kind="stable")[: self.max_hits]
            top = float(row[order[0]]) if len(order) else -1.0
            out.append([Hit(int(j), float(row[j]), cal.confidence(float(row[j]))) for j in order
                        if row[j] >= cal.threshold and row[j] >= top - cal.secondary_margin])
        return out

    def predict(self, X: np.ndarray, texts: Sequence[str] | None = None,
                languages: Sequence[str] | None = None) -> list[list[Hit]]:
        return self.hits(self.scores(X, texts, languages))
