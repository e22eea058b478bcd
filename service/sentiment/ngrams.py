"""Hashed word uni- and bigrams: the lexical input of the encoder's n-gram branch.

Sub-word attention alone under-uses rare but decisive review words ("refusionen", "reklamation",
"elendig") that a bag of n-grams picks up at once; the branch gives the encoder that signal
(fastText-style, Joulin et al. 2017). Hashing (CRC-32, stable across processes and platforms,
unlike ``hash()``) keeps the table a fixed size with no vocabulary file to ship.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Sequence

import torch

# Words, plus single non-space symbols so "!" and emoji count as tokens too.
_TOKEN = re.compile(r"\w+|[^\w\s]", re.UNICODE)


def ngram_tokens(text: str) -> list[str]:
    """Lower-cased word unigrams and adjacent-word bigrams."""
    words = _TOKEN.findall(text.lower())
    return words + [f"{a} {b}" for a, b in zip(words, words[1:])]


def hashed_ngrams(text: str, buckets: int) -> list[int]:
    """Bucket ids of ``ngram_tokens(text)``; never empty (an empty text maps to bucket 0)."""
    ids = [zlib.crc32(t.encode("utf-8")) % buckets for t in ngram_tokens(text)]
    return ids or [0]


def bag_tensors(bags: Sequence[Sequence[int]]) -> tuple[torch.Tensor, torch.Tensor]:
    """Flat ids + offsets, the input format of ``torch.nn.EmbeddingBag``."""
    offsets, flat, pos = [], [], 0
    for bag in bags:
        offsets.append(pos)
        flat.extend(bag)
        pos += len(bag)
    return torch.tensor(flat, dtype=torch.long), torch.tensor(offsets, dtype=torch.long)
