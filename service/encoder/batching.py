"""Length-sorted, right-padded batches: padding is wasted compute, the main cost of CPU inference."""

from __future__ import annotations

from collections.abc import Sequence

import torch


def length_sorted_batches(lengths: Sequence[int], batch_size: int) -> list[list[int]]:
    """Index batches of similar length: padding (wasted compute) is what makes CPU inference slow."""
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]


def padded(ids: Sequence[Sequence[int]], batch: Sequence[int], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(input_ids, attention_mask) for the rows ``batch``, right-padded to the longest."""
    width = max(len(ids[i]) for i in batch)
    input_ids = torch.full((len(batch), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(batch), width), dtype=torch.long)
    for row, i in enumerate(batch):
        input_ids[row, : len(ids[i])] = torch.tensor(ids[i])
        mask[row, : len(ids[i])] = 1
    return input_ids, mask
