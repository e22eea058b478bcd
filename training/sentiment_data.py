"""Labelled sentiment examples from ../shared/data, split deterministically by dataset + id.

Every source is mapped to three classes (negative / neutral / positive). Texts are
de-duplicated across *all* sources (case- and whitespace-insensitive) before splitting, so
the same sentence can never sit in train and test (SemEval editions and the Swedish
Trustpilot sets overlap). Only rows whose split is 'train' may ever be used for fitting.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from training.data import read_tsv, split_of

LABELS: tuple[str, str, str] = ("negative", "neutral", "positive")
LANGS: tuple[str, ...] = ("sv", "da", "fi", "en")

Row = dict[str, str]


@dataclass(frozen=True)
class Example:
    text: str
    lang: str
    label: str  # one of LABELS
    source: str  # dataset name (+ sub-set), used for reporting and weighting
    key: str  # dataset + id: the split key
    split: str  # train | dev | test


def _map(value: str, table: dict[str, str]) -> str | None:
    return table.get(value.strip().lower())


_POLARITY = {"negative": "negative", "neutral": "neutral", "positive": "positive"}
_SHORT = {"neg": "negative", "neu": "neutral", "pos": "positive"}
_BINARY = {"0": "negative", "1": "positive"}


def _trustpilot_sv(row: Row) -> tuple[str, str, str, str] | None:
    label = _map(row["label3"], _POLARITY)
    return (row["text"], "sv", label, "trustpilot_sv_2025") if label and row["lang_heuristic"] == "sv" else None


def _trustpilot_sv_neutral(row: Row) -> tuple[str, str, str, str] | None:
    return (row["text"], "sv", "neutral", "trustpilot_sv_neutral_2023") if row["lang_heuristic"] == "sv" else None


def _swe_emoji(row: Row) -> tuple[str, str, str, str] | None:
    label = _map(row["label"], _SHORT)
    return (row["text"], "sv", label, "swe_sentiment_emoji") if label else None


def _trustpilot_da(row: Row) -> tuple[str, str, str, str] | None:
    label = _map(row["label3"], _POLARITY)
    return (row["text"], "da", label, "trustpilot_da_sentida") if label else None


def _da_valence(name: str) -> Callable[[Row], tuple[str, str, str, str] | None]:
    def parse(row: Row) -> tuple[str, str, str, str] | None:
        label = _map(row["label"], _POLARITY)
        return (row["text"], "da", label, name) if label else None

    return parse


def _xed(row: Row) -> tuple[str, str, str, str] | None:
    """fi/en native (+ neutral sets) and fi projected; 'ambiguous' (mixed/other emotions) is dropped."""
    lang, annotation = row["lang"], row["annotation"]
    if lang not in ("fi", "en") or (annotation == "projected" and lang != "fi"):
        return None
    label = _map(row["polarity"], _POLARITY)
    if not label:
        return None
    sub = "projected" if annotation == "projected" else "native"
    return row["text"], lang, label, f"xed_{lang}_{sub}"


def _scandisent(row: Row) -> tuple[str, str, str, str] | None:
    label = _map(row["label"], _BINARY)
    return (row["text"], "en", label, "scandisent_mt") if label else None


def _semeval(row: Row) -> tuple[str, str, str, str] | None:
    """Single-polarity sentences only: 'mixed', 'conflict', 'none' and unlabelled rows are not 3-class gold."""
    label = _map(row["sentence_polarity"], _POLARITY)
    return (row["text"], "en", label, "semeval_absa_en") if label else None


# (file, parser, id column(s)) in priority order: the first occurrence of a duplicate text wins.
SOURCES: list[tuple[str, Callable[[Row], tuple[str, str, str, str] | None], tuple[str, ...]]] = [
    ("trustpilot_sv_2025/trustpilot_sv_2025.tsv", _trustpilot_sv, ("id",)),
    ("trustpilot_sv_neutral_2023/trustpilot_sv_neutral_2023.tsv", _trustpilot_sv_neutral, ("id",)),
    ("swe_sentiment_emoji/swe_sentiment_emoji.tsv", _swe_emoji, ("id",)),
    ("trustpilot_da_sentida/trustpilot_da_sentida.tsv", _trustpilot_da, ("id",)),
    ("sam_da_social/sam_da_social.tsv", _da_valence("sam_da_social"), ("id",)),
    ("lcc_sentiment_da/lcc_sentiment_da.tsv", _da_valence("lcc_sentiment_da"), ("id",)),
    ("europarl_sentiment_da/europarl_sentiment_da.tsv", _da_valence("europarl_sentiment_da"), ("id",)),
    ("xed_emotion/xed_emotion.tsv", _xed, ("id",)),
    ("scandisent_mt/scandisent_mt_en.tsv", _scandisent, ("id",)),
    ("semeval_absa_en/semeval_absa_en_sentences.tsv", _semeval, ("edition", "domain", "split", "sentence_id")),
]

# Sources whose labels are too noisy to measure against: their dev/test rows are dropped.
TRAIN_ONLY: frozenset[str] = frozenset({"xed_fi_projected"})

_WS = re.compile(r"\s+")


def normalise(text: str) -> str:
    return _WS.sub(" ", text).strip().lower()


def iter_examples(max_rows_per_source: int | None = None) -> Iterator[Example]:
    """All usable examples, de-duplicated by normalised text, with their hash split.

    ``max_rows_per_source`` keeps the first N usable rows of each source file (for fast tests).
    """
    seen: set[str] = set()
    for relpath, parse, id_cols in SOURCES:
        dataset = relpath.split("/")[0]
        taken = 0
        for row in read_tsv(relpath):
            if max_rows_per_source is not None and taken >= max_rows_per_source:
                break
            parsed = parse(row)
            if parsed is None:
                continue
            text, lang, label, source = parsed
            norm = normalise(text)
            if not norm or norm in seen:
                continue
            seen.add(norm)
            key = f"{dataset}:{':'.join(row[c] for c in id_cols)}"
            split = split_of(key)
            if source in TRAIN_ONLY and split != "train":
                continue  # noisy labels: used for fitting, never for selection or measurement
            taken += 1
            yield Example(text.strip(), lang, label, source, key, split)


def load_examples(max_rows_per_source: int | None = None) -> dict[str, list[Example]]:
    """Examples grouped by split ('train', 'dev', 'test')."""
    out: dict[str, list[Example]] = {"train": [], "dev": [], "test": []}
    for ex in iter_examples(max_rows_per_source):
        out[ex.split].append(ex)
    return out


def describe(examples: list[Example]) -> dict[str, dict[str, int]]:
    """source -> label -> count, for logs and the model card."""
    counts: dict[str, Counter[str]] = {}
    for ex in examples:
        counts.setdefault(ex.source, Counter())[ex.label] += 1
    return {s: dict(sorted(c.items())) for s, c in sorted(counts.items())}


def counted(description: dict[str, dict[str, int]] | None) -> int | None:
    """Rows in a ``describe`` result (None when there is none)."""
    return sum(sum(labels.values()) for labels in description.values()) if description else None
