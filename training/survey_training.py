"""Hand-written survey answers for *training* sentiment: the in-domain rows the review sets lack.

The review sets label whole reviews by their stars, so short answers, plain facts and price complaints
in Swedish, Danish and Finnish have almost no examples ("Liian kallis" scored positive). The file holds
110 answers ("concepts") written once in sv/da/fi/en on 2026-12-04, after the evaluation sets, for
fitting only. A concept is in the train or the dev part in every language at once (hash of the
concept), so no translation of a dev answer is fitted. Rows too close to any evaluation text (the
hand-written sets, the issue's quoted examples in ``training.eval_sentiment``, the model's tests; character n-gram cosine >= ``MAX_EVAL_SIMILARITY``)
were removed from the file, whatever their label, and ``tests/test_survey_training.py`` keeps it so.
"""

from __future__ import annotations

import csv

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer

from training.data import REPO_ROOT, split_of
from training.sentiment_data import Example

SURVEY_TRAINING = REPO_ROOT / "training" / "data" / "survey_answers_training.tsv"
SOURCE = "survey_training"
DEV_SHARE = 1 / 3
MAX_EVAL_SIMILARITY = 0.6


def load_survey_training() -> dict[str, list[Example]]:
    """{'train': [...], 'dev': [...]}: the file's rows, split by concept."""
    with SURVEY_TRAINING.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t", quoting=csv.QUOTE_NONE))
    out: dict[str, list[Example]] = {"train": [], "dev": []}
    for r in rows:
        part = "dev" if split_of(f"{SOURCE}:{r['concept']}", dev=DEV_SHARE, test=0.0) == "dev" else "train"
        out[part].append(Example(r["text"], r["lang"], r["label"], SOURCE, f"{SOURCE}:{r['id']}", part))
    return out


def eval_similarity(texts: list[str], eval_texts: list[str]) -> np.ndarray:
    """Per text, the highest character 3-5-gram TF-IDF cosine to any evaluation text."""
    vec = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True).fit(list(texts) + list(eval_texts))
    return (vec.transform(texts) @ vec.transform(eval_texts).T).toarray().max(axis=1)
