"""Pretrained (not fine-tuned) e5 sentence vectors: what themes compare and cluster.

Two ways to get the same vectors. ``SentenceEncoder`` runs the whole frozen encoder on its own
(evaluation, re-encoding a dump). ``FrozenTop`` holds only the pretrained copies of the layers the
sentiment model fine-tuned, so the analysis path runs the shared lower layers once and branches:
fine-tuned top -> sentiment, frozen top -> theme vectors (one pass for both, issue #10).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import torch
from torch import nn
from transformers.masking_utils import create_bidirectional_mask
from transformers.models.bert.modeling_bert import BertLayer

from service.encoder.batching import length_sorted_batches, padded
from service.encoder.backbone import backbone_config, backbone_state, build_backbone, mean_pool
from service.encoder.e5_file import E5File
from service.encoder.spans import Span, span_pass
from service.encoder.tokenizer import E5Tokenizer


class FrozenTop(nn.Module):
    """Layers ``start``.. of the pretrained encoder, run on token states from the shared lower layers."""

    def __init__(self, file: E5File, start: int) -> None:
        super().__init__()
        self.config = backbone_config(file, dropout=0.0)
        self.config._attn_implementation = "sdpa"  # what BertModel picks; standalone layers need it set
        self.start = start
        self.layers = nn.ModuleList(BertLayer(self.config) for _ in range(start, self.config.num_hidden_layers))
        state = backbone_state(file)
        prefix = "encoder.layer."
        own = {}
        for name, tensor in state.items():
            if name.startswith(prefix):
                index, rest = name[len(prefix):].split(".", 1)
                if int(index) >= start:
                    own[f"layers.{int(index) - start}.{rest}"] = tensor
        self.load_state_dict(own, strict=True)
        self.eval()

    def tokens(self, hidden: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """Token states after the pretrained top (batch, tokens, hidden)."""
        mask = create_bidirectional_mask(config=self.config, inputs_embeds=hidden, attention_mask=attention_mask)
        for layer in self.layers:
            hidden = layer(hidden, mask)
        return hidden

    def forward(self, hidden: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """Mean-pooled sentence vectors (batch, hidden)."""
        return mean_pool(self.tokens(hidden, attention_mask), attention_mask)


class SentenceEncoder:
    """The whole frozen encoder: ``encode(texts)`` -> float32 (n, 384) mean-pooled vectors, input order."""

    def __init__(self, file: E5File, max_length: int = 128, batch_size: int = 64) -> None:
        self.model = build_backbone(file, dropout=0.0)
        self.tokenizer = E5Tokenizer(file)
        self.max_length = max_length
        self.batch_size = batch_size

    @property
    def dim(self) -> int:
        return int(self.model.config.hidden_size)

    def encode_spans(self, texts: Sequence[str], spans: Sequence[Sequence[Span] | None]) -> list[np.ndarray | None]:
        """Per text, one vector per span (``WHOLE`` or character [start, end)) from one pass over it."""

        def states(ids: np.ndarray, mask: np.ndarray, rows: Mapping[str, list[int]]) -> dict[str, np.ndarray]:
            with torch.inference_mode():
                hidden = self.model(input_ids=torch.from_numpy(ids), attention_mask=torch.from_numpy(mask))
            return {h: hidden.last_hidden_state[ks].numpy() for h, ks in rows.items()}

        return span_pass(texts, {"v": spans}, self.tokenizer, self.max_length, states, self.batch_size)["v"]

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        ids = self.tokenizer.encode(texts, self.max_length)
        out = np.zeros((len(ids), self.dim), dtype=np.float32)
        with torch.inference_mode():
            for batch in length_sorted_batches([len(x) for x in ids], self.batch_size):
                input_ids, mask = padded(ids, batch, self.tokenizer.pad)
                hidden = self.model(input_ids=input_ids, attention_mask=mask).last_hidden_state
                out[batch] = mean_pool(hidden, mask).numpy()
        return out
