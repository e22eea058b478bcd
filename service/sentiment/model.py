"""The sentiment model: tokenizer, network (``SentimentNet``) and calibration temperature.

One class serves both training-time evaluation and the API so that the numbers in the model
card are produced by exactly the code that answers requests. Everything is loaded from a local
folder only: nothing is ever fetched from a model hub.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from tokenizers import Tokenizer
from transformers import BertConfig

from service.sentiment.ngrams import bag_tensors, hashed_ngrams
from service.sentiment.network import SentimentNet

LABELS: tuple[str, str, str] = ("negative", "neutral", "positive")
TOKENIZER_FILE = "tokenizer.json"
CALIBRATION_FILE = "calibration.json"


def build_config(
    vocab_size: int,
    hidden_size: int = 256,
    num_layers: int = 4,
    num_heads: int = 4,
    intermediate_size: int = 768,
    max_length: int = 128,
    dropout: float = 0.1,
    ngram_buckets: int = 0,
    ngram_dim: int = 0,
) -> BertConfig:
    """A compact BERT config (+ n-gram branch size); sizes train in ~30 min on 2 CPU cores."""
    return BertConfig(
        ngram_buckets=ngram_buckets,
        ngram_dim=ngram_dim,
        vocab_size=vocab_size,
        hidden_size=hidden_size,
        num_hidden_layers=num_layers,
        num_attention_heads=num_heads,
        intermediate_size=intermediate_size,
        max_position_embeddings=max_length,
        hidden_dropout_prob=dropout,
        attention_probs_dropout_prob=dropout,
        type_vocab_size=1,
        pad_token_id=0,
        num_labels=len(LABELS),
        id2label=dict(enumerate(LABELS)),
        label2id={label: i for i, label in enumerate(LABELS)},
    )


def length_sorted_batches(lengths: Sequence[int], batch_size: int) -> list[list[int]]:
    """Index batches of similar length: padding (wasted compute) is what makes CPU inference slow."""
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]


def softmax(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    z = logits / temperature
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


class SentimentModel:
    """Tokenizer + encoder + temperature; ``predict_proba`` gives calibrated 3-class probabilities."""

    def __init__(self, tokenizer: Tokenizer, model: SentimentNet, temperature: float = 1.0) -> None:
        self.tokenizer = tokenizer
        self.model = model
        self.temperature = float(temperature)
        self.max_length = int(model.config.max_position_embeddings)
        self.tokenizer.no_truncation()  # encode() truncates head+tail itself
        self.tokenizer.no_padding()

    # -- persistence --------------------------------------------------------------------
    @classmethod
    def load(cls, path: Path) -> "SentimentModel":
        tokenizer = Tokenizer.from_file(str(path / TOKENIZER_FILE))
        model = SentimentNet.load(path)
        calibration = json.loads((path / CALIBRATION_FILE).read_text()) if (path / CALIBRATION_FILE).exists() else {}
        return cls(tokenizer, model, calibration.get("temperature", 1.0))

    def save(self, path: Path, fp16: bool = True, extra: dict | None = None) -> None:
        """Weights in fp16 safetensors (half the size; inference upcasts to fp32 on load)."""
        path.mkdir(parents=True, exist_ok=True)
        dtype = torch.float16 if fp16 else torch.float32
        self.model.save(path, dtype)
        self.tokenizer.save(str(path / TOKENIZER_FILE))
        (path / CALIBRATION_FILE).write_text(json.dumps({"temperature": self.temperature, **(extra or {})}, indent=2) + "\n")

    # -- inference ----------------------------------------------------------------------
    def encode(self, texts: Sequence[str]) -> list[list[int]]:
        """Token ids; texts longer than ``max_length`` keep their head and (longer) tail.

        Head+tail beats head-only truncation for reviews (Sun et al. 2019): the verdict is often
        at the end ("... never again!"). [CLS] stays first and [SEP] last.
        """
        head = self.max_length // 4
        tail = self.max_length - head
        out = []
        for e in self.tokenizer.encode_batch(list(texts)):
            ids = e.ids
            out.append(ids if len(ids) <= self.max_length else ids[:head] + ids[-tail:])
        return out

    def ngram_bags(self, texts: Sequence[str]) -> list[list[int]] | None:
        """Hashed n-gram ids per text, or None when the network has no n-gram branch."""
        buckets = self.model.ngram_buckets
        return [hashed_ngrams(t, buckets) for t in texts] if buckets else None

    def batch_inputs(
        self, ids: Sequence[Sequence[int]], bags: Sequence[Sequence[int]] | None, batch: Sequence[int]
    ) -> dict[str, torch.Tensor]:
        """Padded network inputs for the rows ``batch`` (training uses this too)."""
        width = max(len(ids[i]) for i in batch)
        input_ids = torch.zeros((len(batch), width), dtype=torch.long)
        mask = torch.zeros((len(batch), width), dtype=torch.long)
        for row, i in enumerate(batch):
            input_ids[row, : len(ids[i])] = torch.tensor(ids[i])
            mask[row, : len(ids[i])] = 1
        inputs = {"input_ids": input_ids, "attention_mask": mask}
        if bags is not None:
            inputs["ngram_ids"], inputs["ngram_offsets"] = bag_tensors([bags[i] for i in batch])
        return inputs

    def logits(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        """Raw logits, computed in length-sorted batches and returned in input order."""
        ids = self.encode(texts)
        bags = self.ngram_bags(texts)
        out = np.zeros((len(ids), len(LABELS)), dtype=np.float32)
        was_training = self.model.training
        self.model.eval()
        with torch.inference_mode():
            for batch in length_sorted_batches([len(x) for x in ids], batch_size):
                out[batch] = self.model(**self.batch_inputs(ids, bags, batch)).float().numpy()
        self.model.train(was_training)
        return out

    def predict_proba(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        """Temperature-calibrated probabilities, columns in ``LABELS`` order."""
        if not texts:
            return np.zeros((0, len(LABELS)), dtype=np.float64)
        return softmax(self.logits(texts, batch_size).astype(np.float64), self.temperature)
