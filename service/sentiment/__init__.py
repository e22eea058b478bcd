"""Transformer sentiment stage: ``load_scorer`` is what ``service.pipeline`` calls at start-up."""

from __future__ import annotations

from pathlib import Path

import torch

from service.config import Settings
from service.encoder import E5File, read_e5_file
from service.sentiment.engines import resolve_engine, use_engine
from service.sentiment.model import SentimentModel
from service.sentiment.scorer import SentimentScorer, model_version
from service.sentiment.shared_pass import SharedPass

__all__ = ["SentimentScorer", "load_scorer"]


def load_scorer(path: Path, settings: Settings, backbone_file: E5File | None = None,
                shared_pass: bool = False) -> SentimentScorer:
    """Load the shipped model from a local folder once (never from a hub).

    ``shared_pass`` adds the pretrained top layers, so the same pass also yields theme vectors;
    ``settings.inference_engine`` picks that pass's engine (``service.sentiment.engines``).
    """
    if settings.torch_threads:
        torch.set_num_threads(settings.torch_threads)
    backbone_file = backbone_file or read_e5_file()
    model = SentimentModel.load(path, backbone_file)
    version = model_version(path)
    shared = None
    if shared_pass or resolve_engine(settings.inference_engine) != "torch":
        shared = SharedPass(model, backbone_file, settings.inference_batch_size,
                            coalesce_texts=settings.inference_coalesce_texts)
        use_engine(shared, settings.inference_engine, version, settings.torch_threads, settings.inference_cache_dir)
    return SentimentScorer(
        model, version, batch_size=settings.inference_batch_size,
        max_sentences=settings.sentiment_max_sentences, shared=shared, units=settings.inference_units,
    )
