"""Transformer sentiment stage: ``load_scorer`` is what ``service.pipeline`` calls at start-up."""

from __future__ import annotations

from pathlib import Path

import torch

from service.config import Settings
from service.sentiment.model import SentimentModel
from service.sentiment.scorer import SentimentScorer, model_version

__all__ = ["SentimentScorer", "load_scorer"]


def load_scorer(path: Path, settings: Settings) -> SentimentScorer:
    """Load the shipped model from a local folder once (never from a hub)."""
    if settings.torch_threads:
        torch.set_num_threads(settings.torch_threads)
    model = SentimentModel.load(path)
    return SentimentScorer(
        model, model_version(path), batch_size=settings.inference_batch_size, max_sentences=settings.sentiment_max_sentences
    )
