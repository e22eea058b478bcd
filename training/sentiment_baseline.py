"""Reference models the transformer must beat, trained on exactly the same training rows.

* ``BagOfWordsBaseline``: TF-IDF word 1-2-grams + logistic regression (balanced classes).
* ``LengthOnlyBaseline``: logistic regression on log text length per source - the data README
  warns that length alone predicts the label on binary review sets, so the card shows it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline

from training.sentiment_data import Example


class BagOfWordsBaseline:
    def __init__(self, C: float = 4.0, seed: int = 0) -> None:
        self.pipeline: Pipeline = make_pipeline(
            TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True, lowercase=True, max_features=300_000),
            LogisticRegression(C=C, max_iter=2000, class_weight="balanced", random_state=seed),
        )

    def fit(self, examples: Sequence[Example]) -> "BagOfWordsBaseline":
        self.pipeline.fit([e.text for e in examples], [e.label for e in examples])
        return self

    def predict(self, texts: Sequence[str]) -> list[str]:
        return list(self.pipeline.predict(list(texts)))


class LengthOnlyBaseline:
    """One tiny classifier per source: how far does text length alone get on that source?"""

    def __init__(self) -> None:
        self.models: dict[str, LogisticRegression | str] = {}

    @staticmethod
    def _x(examples: Sequence[Example]) -> np.ndarray:
        return np.log1p([[len(e.text)] for e in examples])

    def fit(self, examples: Sequence[Example]) -> "LengthOnlyBaseline":
        for source in {e.source for e in examples}:
            rows = [e for e in examples if e.source == source]
            labels = {e.label for e in rows}
            self.models[source] = (
                LogisticRegression().fit(self._x(rows), [e.label for e in rows]) if len(labels) > 1 else rows[0].label
            )
        return self

    def predict(self, examples: Sequence[Example]) -> list[str]:
        out: list[str] = []
        for e in examples:
            m = self.models.get(e.source, "neutral")
            out.append(m if isinstance(m, str) else str(m.predict(self._x([e]))[0]))
        return out
