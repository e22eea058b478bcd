"""One encoder pass for sentiment and themes.

The sentiment model fine-tuned only e5's top layers, so its lower layers are still the pretrained
ones. A batch runs those once; the fine-tuned top gives sentiment logits and a pretrained copy of the
same top layers (``FrozenTop``) gives the theme vectors, each only for the strings that need it.
Themes therefore cost the top half of an encoder pass, not a second full pass, and no second copy of
the 250k-token embedding table is held in memory.

Two engines compute the three parts (lower, sentiment top, theme top): torch (the reference) and
ONNX Runtime (``onnx_engine.py``: the same graphs exported from these modules, faster on CPU).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np
import torch

from service.encoder import E5File, FrozenTop, length_sorted_batches, padded
from service.sentiment.model import LABELS, SentimentModel, softmax


class Engine(Protocol):
    """The three parts of the pass on numpy arrays (ids, mask: int64 (batch, tokens))."""

    name: str

    def lower(self, ids: np.ndarray, mask: np.ndarray) -> object: ...

    def logits(self, hidden: object, mask: np.ndarray, rows: list[int]) -> np.ndarray: ...

    def vectors(self, hidden: object, mask: np.ndarray, rows: list[int]) -> np.ndarray: ...


class TorchEngine:
    name = "torch"

    def __init__(self, model: SentimentModel, top: FrozenTop) -> None:
        self.net = model.model.eval()
        self.top = top

    def lower(self, ids: np.ndarray, mask: np.ndarray) -> torch.Tensor:
        with torch.inference_mode():
            return self.net.lower(torch.from_numpy(ids), torch.from_numpy(mask))

    def logits(self, hidden: torch.Tensor, mask: np.ndarray, rows: list[int]) -> np.ndarray:
        with torch.inference_mode():
            return self.net.upper(hidden[rows], torch.from_numpy(mask[rows])).float().numpy()

    def vectors(self, hidden: torch.Tensor, mask: np.ndarray, rows: list[int]) -> np.ndarray:
        with torch.inference_mode():
            return self.top(hidden[rows], torch.from_numpy(mask[rows])).numpy()


class SharedPass:
    """``run(texts, want_proba, want_vector)`` -> (calibrated probabilities, raw mean-pooled theme vectors)."""

    def __init__(self, model: SentimentModel, file: E5File, batch_size: int = 64, engine: Engine | None = None) -> None:
        self.model = model
        self.top = FrozenTop(file, model.model.split)
        self.batch_size = batch_size
        self.engine = engine or TorchEngine(model, self.top)

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
        for batch in length_sorted_batches([len(x) for x in ids], self.batch_size):
            input_ids, mask = (t.numpy() for t in padded(ids, batch, self.model.tokenizer.pad))
            hidden = self.engine.lower(input_ids, mask)
            rows_p = [k for k, i in enumerate(batch) if want_proba[i]]
            rows_v = [k for k, i in enumerate(batch) if want_vector[i]]
            if rows_p:
                logits[[batch[k] for k in rows_p]] = self.engine.logits(hidden, mask, rows_p)
            if rows_v:
                vectors[[batch[k] for k in rows_v]] = self.engine.vectors(hidden, mask, rows_v)
        wanted = np.asarray(want_proba, dtype=bool)
        proba[wanted] = softmax(logits[wanted].astype(np.float64), self.model.temperature)
        return proba, vectors

    def release_torch(self) -> None:
        """Drop the torch copies of the weights once another engine holds them (~0.4 GB less RSS).

        After this, only ``run``/``predict_proba``/``encode`` work; the torch model cannot score any more.
        """
        if isinstance(self.engine, TorchEngine):
            raise ValueError("the torch engine needs its weights")
        self.model.model.backbone.embeddings = None
        self.model.model.backbone.encoder.layer = None
        self.top.layers = None

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        return self.run(texts, [True] * len(texts), [False] * len(texts))[0]

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Theme vectors only (the ``ThemeEmbedder`` encoder protocol)."""
        return self.run(texts, [False] * len(texts), [True] * len(texts))[1]
