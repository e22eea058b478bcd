"""Span pooling: vectors of a comment's sentences and clauses from the comment's own token states.

Encoding each sentence and clause as its own string sends every character through the encoder two
or three times (comment, sentence, clause). Pooling instead runs the comment once and averages the
token states that fall inside each span (``token_range`` finds them from the tokenizer's anchors).
Span vectors then carry the comment's context; the sentiment card measures what that changes
(``training/eval_span_pooling.py``).
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Mapping, Sequence

import numpy as np

from service.encoder.batching import length_sorted_batches, padded
from service.encoder.tokenizer import E5Tokenizer

WHOLE: tuple[int, int] = (-1, -1)  # "the whole text": every real token (e5's mean pooling, the trained input)
Span = tuple[int, int]
# (ids, mask, rows per head) -> per head the token states of those rows of the batch, (rows, tokens, hidden)
StatesFn = Callable[[np.ndarray, np.ndarray, Mapping[str, list[int]]], Mapping[str, np.ndarray]]


def token_range(anchors: Sequence[int], span: tuple[int, int]) -> tuple[int, int] | None:
    """[first, last + 1) of the tokens whose anchor lies in ``span`` = [start, end); None if none does
    (a span truncated away, or only whitespace)."""
    positions = [i for i, a in enumerate(anchors) if a >= 0]
    values = [anchors[i] for i in positions]  # non-decreasing: tokens follow the text
    lo, hi = bisect_left(values, span[0]), bisect_left(values, span[1])
    return (positions[lo], positions[hi - 1] + 1) if hi > lo else None


def pool(states: np.ndarray, length: int, ranges: Sequence[tuple[int, int] | None]) -> np.ndarray:
    """Mean of ``states[a:b]`` per range (None = the whole ``states[:length]``); (len(ranges), hidden)."""
    out = np.empty((len(ranges), states.shape[-1]), dtype=np.float32)
    cumulative = None
    for k, r in enumerate(ranges):
        if r is None:
            out[k] = states[:length].mean(axis=0)
            continue
        if cumulative is None:
            cumulative = np.concatenate([np.zeros((1, states.shape[-1]), np.float64),
                                         np.cumsum(states[:length], axis=0, dtype=np.float64)])
        a, b = r
        out[k] = (cumulative[b] - cumulative[a]) / (b - a)
    return out


def span_pass(texts: Sequence[str], requests: Mapping[str, Sequence[Sequence[Span] | None]],
              tokenizer: E5Tokenizer, max_length: int, states: StatesFn,
              batch_size: int) -> dict[str, list[np.ndarray | None]]:
    """Per head (e.g. sentiment states, theme states) and text: one pooled row per requested span.

    ``requests[head][i]`` lists text i's spans (``WHOLE`` or character [start, end)), None if that head
    needs nothing from it; each text runs through the encoder once, in length-sorted batches. A span
    with no token of its own (truncated away) is encoded as its own string, so every span gets a row.
    """
    pad_id = tokenizer.pad
    if any(sp != WHOLE for r in requests.values() for spans in r if spans for sp in spans):
        encoded = tokenizer.encode_with_anchors(texts, max_length)
    else:  # whole texts only: no anchors needed (the common case; they cost a Python pass over every character)
        encoded = [(ids, []) for ids in tokenizer.encode(texts, max_length)]
    out: dict[str, list[np.ndarray | None]] = {h: [None] * len(texts) for h in requests}
    missing: dict[str, list[tuple[int, int]]] = {h: [] for h in requests}
    wanted = [i for i in range(len(texts)) if any(r[i] for r in requests.values())]
    for chunk in length_sorted_batches([len(encoded[i][0]) for i in wanted], batch_size):
        batch = [wanted[k] for k in chunk]
        ids, mask = (t.numpy() for t in padded([encoded[i][0] for i in batch], range(len(batch)), pad_id))
        rows = {h: [k for k, i in enumerate(batch) if r[i]] for h, r in requests.items()}
        result = states(ids, mask, {h: ks for h, ks in rows.items() if ks})
        for h, ks in rows.items():
            for row, k in enumerate(ks):
                i = batch[k]
                n_tokens, anchors = len(encoded[i][0]), encoded[i][1]
                ranges = []
                for j, span in enumerate(requests[h][i]):
                    r = None if span == WHOLE else token_range(anchors, span)
                    if r is None and span != WHOLE:
                        missing[h].append((i, j))
                    ranges.append(r)
                out[h][i] = pool(result[h][row], n_tokens, ranges)
    for h, where in missing.items():
        if where:
            alone = span_pass([texts[i][slice(*requests[h][i][j])] for i, j in where], {h: [[WHOLE]] * len(where)},
                              tokenizer, max_length, states, batch_size)[h]
            for (i, j), row in zip(where, alone):
                out[h][i][j] = row[0]  # type: ignore[index]
    return out
