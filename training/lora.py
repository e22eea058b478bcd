"""LoRA adapters (Hu et al. 2021) on the fine-tuned layers, for the per-CPU-hour budget comparison.

Training only: a low-rank update ``B @ A * alpha / rank`` beside each frozen linear weight of the
adapted layers, and nothing else in those layers moves. ``merge_adapters`` folds every update into
its weight, so the saved folder is a plain top-``trainable_layers`` model that the service loads
like any other (no adapter code at inference).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from service.sentiment.network import SentimentNet

# Every linear map of a BERT layer: the attention projections and the feed-forward pair.
TARGETS: tuple[str, ...] = (
    "attention.self.query", "attention.self.key", "attention.self.value",
    "attention.output.dense", "intermediate.dense", "output.dense",
)


class LoRALinear(nn.Module):
    """``base(x) + x A^T B^T * scale``; B starts at zero, so the adapted net starts as the pretrained one."""

    def __init__(self, base: nn.Linear, rank: int, alpha: float) -> None:
        super().__init__()
        self.base = base
        self.scale = alpha / rank
        self.lora_a = nn.Parameter(torch.empty(rank, base.in_features))
        self.lora_b = nn.Parameter(torch.zeros(base.out_features, rank))
        nn.init.kaiming_uniform_(self.lora_a, a=math.sqrt(5))  # as nn.Linear (and peft) initialise A

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.base(x) + (x @ self.lora_a.T @ self.lora_b.T) * self.scale

    def merged(self) -> nn.Linear:
        with torch.no_grad():
            self.base.weight += (self.lora_b @ self.lora_a) * self.scale
        return self.base


def _parent(module: nn.Module, path: str) -> tuple[nn.Module, str]:
    *parents, name = path.split(".")
    for part in parents:
        module = getattr(module, part)
    return module, name


def add_adapters(net: SentimentNet, rank: int, alpha: float) -> int:
    """Wrap every linear map of the trainable layers; freeze the rest of them. Returns the adapter parameters."""
    if rank < 1:
        raise ValueError(f"the LoRA rank must be at least 1, got {rank}")
    count = 0
    for layer in net.backbone.encoder.layer[net.split :]:
        for p in layer.parameters():
            p.requires_grad = False
        for path in TARGETS:
            parent, name = _parent(layer, path)
            adapter = LoRALinear(getattr(parent, name), rank, alpha)
            setattr(parent, name, adapter)
            count += adapter.lora_a.numel() + adapter.lora_b.numel()
    return count


def merge_adapters(net: SentimentNet) -> None:
    """Fold each adapter into its weight and unwrap it: the net is then a plain fine-tuned SentimentNet."""
    for layer in net.backbone.encoder.layer[net.split :]:
        for path in TARGETS:
            parent, name = _parent(layer, path)
            adapter = getattr(parent, name)
            if isinstance(adapter, LoRALinear):
                setattr(parent, name, adapter.merged())
