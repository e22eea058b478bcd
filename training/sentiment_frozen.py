"""The frozen-encoder reference: e5 sentence vectors (no fine-tuning) + logistic regression.

What a user would try first with an embedding model. Fitted by ``train_sentiment`` on the same
training rows (its cached states give the vectors for free) and scored on the test split by
``eval_sentiment``; the model card reports it beside the fine-tuned model.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from sklearn.linear_model import LogisticRegression

from service.encoder import E5File, E5Tokenizer
from service.sentiment.model import LABELS, length_sorted_batches, padded
from service.sentiment.network import HeadConfig, SentimentNet
from training.sentiment_data import Example
from training.sentiment_metrics import evaluate

FROZEN_FILE = "frozen_lr.npz"
FROZEN_INFO = "frozen_lr.json"


class FrozenEncoder:
    """The pretrained encoder as shipped in the wheel (no layer fine-tuned); built once, reused per text set."""

    def __init__(self, backbone_file: E5File, max_length: int) -> None:
        self.net = SentimentNet(backbone_file, HeadConfig(backbone_file.sha256, trainable_layers=0,
                                                          max_length=max_length)).eval()
        self.tokenizer = E5Tokenizer(backbone_file)
        self.max_length = max_length

    def vectors(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        """Mean-pooled sentence vectors, in input order."""
        ids = self.tokenizer.encode(texts, self.max_length)
        out = np.zeros((len(ids), self.net.backbone.config.hidden_size), dtype=np.float32)
        with torch.inference_mode():
            for batch in length_sorted_batches([len(x) for x in ids], batch_size):
                input_ids, mask = padded(ids, batch, self.tokenizer.pad)
                out[batch] = self.net.upper_states(self.net.lower(input_ids, mask), mask).numpy()
        return out


class FrozenLogReg:
    """Balanced logistic regression on standardised frozen vectors; C chosen on dev."""

    def __init__(self, Cs: Sequence[float] = (0.1, 1.0, 10.0), seed: int = 0) -> None:
        self.Cs = Cs
        self.seed = seed

    def fit(self, x: np.ndarray, y: np.ndarray, x_dev: np.ndarray, y_dev: np.ndarray,
            dev_rows: Sequence[Example]) -> "FrozenLogReg":
        self.mean_, self.scale_ = x.mean(0), x.std(0) + 1e-6
        best = None
        for c in self.Cs:
            lr = LogisticRegression(C=c, class_weight="balanced", max_iter=2000, random_state=self.seed)
            lr.fit((x - self.mean_) / self.scale_, y)
            pred = lr.predict((x_dev - self.mean_) / self.scale_)
            by_lang = evaluate(dev_rows, [LABELS[i] for i in pred])["by_language"]
            f1 = float(np.mean([m["macro_f1"] for m in by_lang.values()]))
            if best is None or f1 > best[0]:
                best = (f1, c, lr)
        assert best is not None
        self.dev_f1_, self.C_, lr = best
        self.coef_, self.intercept_ = lr.coef_, lr.intercept_
        return self

    def predict(self, x: np.ndarray) -> list[str]:
        scores = ((x - self.mean_) / self.scale_) @ self.coef_.T + self.intercept_
        return [LABELS[i] for i in scores.argmax(1)]

    def save(self, path: Path, info: dict) -> None:
        path.mkdir(parents=True, exist_ok=True)
        np.savez(path / FROZEN_FILE, mean=self.mean_, scale=self.scale_, coef=self.coef_, intercept=self.intercept_)
        (path / FROZEN_INFO).write_text(json.dumps({"C": self.C_, "dev_mean_language_macro_f1": round(self.dev_f1_, 4), **info}, indent=2) + "\n")

    @classmethod
    def load(cls, path: Path) -> tuple["FrozenLogReg", dict]:
        z = np.load(path / FROZEN_FILE)
        model = cls()
        model.mean_, model.scale_, model.coef_, model.intercept_ = z["mean"], z["scale"], z["coef"], z["intercept"]
        info = json.loads((path / FROZEN_INFO).read_text())
        model.C_, model.dev_f1_ = info["C"], info["dev_mean_language_macro_f1"]
        return model, info
