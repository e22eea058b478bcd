"""One encoder pass for sentiment and themes.

The sentiment model fine-tuned only e5's top layers, so its lower layers are still the pretrained
ones. A batch runs those once; the fine-tuned top gives sentiment logits and a pretrained copy of the
same top layers (``FrozenTop``) gives the theme vectors, each only for the strings that need it.
Themes therefore cost the top half of an encoder pass, not a second full pass, and no second copy of
the 250k-token embedding table is held in memory.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from service.encoder import E5File, FrozenTop, length_sorted_batches, padded
from service.sentiment.model import LABELS, SentimentModel, softmax


class SharedPass:
    """``run(texts, want_proba, want_vector)`` -> (calibrated probabilities, raw mean-pooled theme vectors)."""

    def __init__(self, model: SentimentModel, file: E5File, batch_size: int = 64) -> None:
        self.model = model
        self.top = FrozenTop(file, model.model.split)
        self.batch_size = batch_size

    @property
    def dim(self) -> int:
        return int(self.top.config.hidden_size)

    def run(self, texts: Sequence[str], want_proba: Sequence[bool], want_vector: Sequence[bool]) -> tuple[np.ndarray, np.ndarray]:
        """Rows not wanted stay zero. Length-sorted batches, results in input order."""
        n = len(texts)
        proba = np.zeros((n, len(LABELS)), dtype=np.float64)
        vectors = np.zeros((n, self.dim), dtype=np.float32)
        if n == 0:
            return proba, vectors
        ids = self.model.encode(texts)
        logits = np.zeros((n, len(LABELS)), dtype=np.float32)
        net = self.model.model
        net.eval()
        with torch.inference_mode():
            for batch in length_sorted_batches([len(x) for x in ids], self.batch_size):
                input_ids, mask = padded(ids, batch, self.model.tokenizer.pad)
                hidden = net.lower(input_ids, mask)
                rows_p = [k for k, i in enumerate(batch) if want_proba[i]]
                rows_v = [k for k, i in enumerate(batch) if want_vector[i]]
                if rows_p:
                    logits[[batch[k] for k in rows_p]] = net.upper(hidden[rows_p], mask[rows_p]).float().numpy()
                if rows_v:
                    vectors[[batch[k] for k in rows_v]] = self.top(hidden[rows_v], mask[rows_v]).numpy()
        wanted = np.asarray(want_proba, dtype=bool)
        proba[wanted] = softmax(logits[wanted].astype(np.float64), self.model.temperature)
        return proba, vectors

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Theme vectors only (the ``ThemeEmbedder`` encoder protocol)."""
        return self.run(texts, [False] * len(texts), [True] * len(texts))[1]
