"""Per-language comment texts for training and evaluating language ID, split by id hash."""

from __future__ import annotations

import random
from collections.abc import Callable

from training.data import read_tsv, split_of

Row = dict[str, str]
# language -> [(dataset file, row filter)]; reviews and comments close to survey answers.
SOURCES: dict[str, list[tuple[str, Callable[[Row], bool]]]] = {
    "sv": [("trustpilot_sv_2025/trustpilot_sv_2025.tsv", lambda r: r.get("lang_heuristic") == "sv"),
           ("trustpilot_sv_neutral_2023/trustpilot_sv_neutral_2023.tsv", lambda r: r.get("lang_heuristic") == "sv")],
    "da": [("trustpilot_da_sentida/trustpilot_da_sentida.tsv", lambda r: True),
           ("sam_da_social/sam_da_social.tsv", lambda r: True)],
    "fi": [("xed_emotion/xed_emotion.tsv", lambda r: r["lang"] == "fi" and r["annotation"] == "native")],
    "en": [("semeval_absa_en/semeval_absa_en_sentences.tsv", lambda r: True),
           ("bitext_customer_support_en/bitext_customer_support_en.tsv", lambda r: True)],
}


def texts_for(lang: str, split: str, limit: int | None = None, seed: int = 13, min_words: int = 1) -> list[str]:
    """Texts of ``lang`` in ``split`` ('train'/'dev'/'test'), shuffled deterministically."""
    pool: list[str] = []
    for relpath, keep in SOURCES[lang]:
        for i, row in enumerate(read_tsv(relpath)):
            key = f"{relpath}:{row.get('id') or row.get('sentence_id') or i}"
            if keep(row) and split_of(key) == split and len(row["text"].split()) >= min_words:
                pool.append(row["text"])
    random.Random(seed).shuffle(pool)
    return pool[:limit] if limit else pool


def crop(text: str, bucket: tuple[int, int] | None, rng: random.Random) -> str:
    """A random run of 1..n words: what short survey answers look like."""
    if bucket is None:
        return text
    words = text.split()
    k = min(len(words), rng.randint(*bucket))
    start = rng.randint(0, len(words) - k)
    return " ".join(words[start : start + k])
