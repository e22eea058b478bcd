"""One encoder pass for sentiment and themes.

The sentiment model fine-tuned only e5's top layers, so its lower layers are still the pretrained
ones. A batch runs those once; the fine-tuned top gives sentiment logits and a pretrained copy of the
same top layers (``FrozenTop``) gives the theme vectors, each only for the strings that need it.
Themes therefore cost the top half of an encoder pass, not a second full pass, and no second copy of
the 250k-token embedding table is held in memory.

Each text runs once; sentence and clause scores and vectors are pooled from its token states
(``service.encoder.spans``), or, with ``units="separate"`` in the scorer, each is its own text.
Two engines compute the three parts (lower, sentiment top, theme top): torch (the reference) and
ONNX Runtime (``onnx_engine.py``: the same graphs exported from these modules, faster on CPU).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

import numpy as np
import torch

from service.encoder import E5File, FrozenTop
from service.encoder.spans import WHOLE, Span, span_pass
from service.malloc_arenas import release_freed_heap
from service.sentiment.coalesce import Coalescer
from service.sentiment.model import LABELS, SentimentModel, softmax


class Engine(Protocol):
    """The three parts of the pass on numpy arrays (ids, mask: int64 (batch, tokens)); the tops return
    token states (len(rows), tokens, hidden), pooled by the caller (whole text or spans)."""

    name: str

    def lower(self, ids: np.ndarray, mask: np.ndarray) -> object: ...

    def sentiment_tokens(self, hidden: object, mask: np.ndarray, rows: list[int]) -> np.ndarray: ...

    def theme_tokens(self, hidden: object, mask: np.ndarray, rows: list[int]) -> np.ndarray: ...


class TorchEngine:
    """The torch modules themselves: fp32 (the reference) or, with ``dtype=torch.bfloat16``, the weights and
    activations in bfloat16 (fp32 accumulation inside each matrix product), ~2.5x faster on CPUs with native bf16
    matrix units (AMX, AVX512-BF16) and much slower on those without (``native_bf16``)."""

    def __init__(self, model: SentimentModel, top: FrozenTop, dtype: torch.dtype = torch.float32) -> None:
        self.net = model.model.eval()
        self.top = top
        self.dtype = dtype
        self.name = "torch" if dtype == torch.float32 else "torch-bf16"
        if dtype != torch.float32:  # in place: no second copy of the weights
            self.net.to(dtype)
            self.top.to(dtype)

    def lower(self, ids: np.ndarray, mask: np.ndarray) -> torch.Tensor:
        with torch.inference_mode():
            return self.net.lower(torch.from_numpy(ids), torch.from_numpy(mask))

    def sentiment_tokens(self, hidden: torch.Tensor, mask: np.ndarray, rows: list[int]) -> np.ndarray:
        with torch.inference_mode():
            return self.net.upper_tokens(hidden[rows], torch.from_numpy(mask[rows])).float().numpy()

    def theme_tokens(self, hidden: torch.Tensor, mask: np.ndarray, rows: list[int]) -> np.ndarray:
        with torch.inference_mode():
            return self.top.tokens(hidden[rows], torch.from_numpy(mask[rows])).float().numpy()


def native_bf16() -> bool:
    """Whether this CPU multiplies bfloat16 matrices in hardware (oneDNN's own check)."""
    return bool(torch.backends.mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_bf16_supported())


class SharedPass:
    """``run(texts, proba_spans, vector_spans)``: calibrated probabilities and raw theme vectors, per
    text one row per requested span (``WHOLE`` or character [start, end)), from one encoder pass."""

    def __init__(self, model: SentimentModel, file: E5File, batch_size: int = 64, engine: Engine | None = None,
                 coalesce_texts: int = 0) -> None:
        self.model = model
        self.top = FrozenTop(file, model.model.split)
        self.batch_size = batch_size
        self.engine = engine or TorchEngine(model, self.top)
        head = model.model.classifier  # applied to pooled states in numpy (dropout is off at inference)
        self.head_weight = head.weight.detach().float().numpy().T.copy()
        self.head_bias = head.bias.detach().float().numpy().copy()
        # concurrent callers' texts run as one batch of up to this many strings (``coalesce.py``); 0: each alone
        self.coalescer = Coalescer(self._run, coalesce_texts, on_idle=release_freed_heap) if coalesce_texts else None

    @property
    def dim(self) -> int:
        return int(self.top.config.hidden_size)

    def run(self, texts: Sequence[str], proba_spans: Sequence[Sequence[Span] | None],
            vector_spans: Sequence[Sequence[Span] | None]) -> tuple[list[np.ndarray | None], list[np.ndarray | None]]:
        """Per text (None where nothing was asked): probabilities (spans, labels) and vectors (spans, hidden)."""
        if len(proba_spans) != len(texts) or len(vector_spans) != len(texts):
            raise ValueError("one span list (or None) per text")
        if self.coalescer is not None:
            return self.coalescer(texts, proba_spans, vector_spans)
        return self._run(texts, proba_spans, vector_spans)

    def _run(self, texts: Sequence[str], proba_spans: Sequence[Sequence[Span] | None],
             vector_spans: Sequence[Sequence[Span] | None]) -> tuple[list[np.ndarray | None], list[np.ndarray | None]]:
        def states(ids: np.ndarray, mask: np.ndarray, rows: Mapping[str, list[int]]) -> dict[str, np.ndarray]:
            hidden = self.engine.lower(ids, mask)
            out = {}
            if "proba" in rows:
                out["proba"] = self.engine.sentiment_tokens(hidden, mask, rows["proba"])
            if "vector" in rows:
                out["vector"] = self.engine.theme_tokens(hidden, mask, rows["vector"])
            return out

        pooled = span_pass(texts, {"proba": proba_spans, "vector": vector_spans}, self.model.tokenizer,
                           self.model.max_length, states, self.batch_size)
        proba = [None if p is None else softmax((p @ self.head_weight + self.head_bias).astype(np.float64),
                                                self.model.temperature) for p in pooled["proba"]]
        return proba, pooled["vector"]

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
        """Whole-text probabilities, (n, labels)."""
        proba = self.run(texts, [[WHOLE]] * len(texts), [None] * len(texts))[0]
        return np.vstack(proba) if texts else np.zeros((0, len(LABELS)))

    def encode_spans(self, texts: Sequence[str], spans: Sequence[Sequence[Span] | None]) -> list[np.ndarray | None]:
        """Theme vectors of spans, one pass per text (the ``ThemeEmbedder`` encoder protocol)."""
        return self.run(texts, [None] * len(texts), spans)[1]

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Whole-text theme vectors, (n, hidden) (the ``ThemeEmbedder`` encoder protocol)."""
        vectors = self.run(texts, [None] * len(texts), [[WHOLE]] * len(texts))[1]
        return np.vstack(vectors).astype(np.float32) if texts else np.zeros((0, self.dim), np.float32)
