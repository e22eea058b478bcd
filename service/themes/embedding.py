"""The embedding stage of themes: frozen e5 vectors with each language's offset removed.

Why the offset: raw multilingual-e5 vectors carry the language as a direction, so a Finnish clause
can sit nearer an unrelated Finnish clause than its own English translation, and clusters split by
language. Subtracting each language's mean vector, measured on text of one domain in every language
(XED movie subtitles, ``training/fit_language_means.py``), removes it; the model card gives the
before/after figures. Languages without a measured mean use the mean of the measured ones.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import numpy as np

from service.config import UnitMode
from service.encoder import E5File, SentenceEncoder, read_e5_file
from service.encoder.spans import WHOLE, Span
from service.segmentation import Unit

LANGUAGE_MEANS_FILE = "language_means.npz"


def unit_rows(x: np.ndarray) -> np.ndarray:
    return (x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)).astype(np.float32)


class LanguageCentering:
    """``fit()`` reads the per-language means; ``transform(raw, languages)`` -> centred unit vectors."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def fit(self, *_: object) -> "LanguageCentering":
        with np.load(self.path) as data:
            info = json.loads(str(data["info"]))
            self.means_ = {lang: data[f"mean_{lang}"].astype(np.float32) for lang in info["languages"]}
        self.backbone_sha256_ = info["backbone_sha256"]
        self.default_ = np.mean(np.stack(list(self.means_.values())), axis=0).astype(np.float32)
        return self

    def transform(self, raw: np.ndarray, languages: Sequence[str]) -> np.ndarray:
        if len(raw) != len(languages):
            raise ValueError("vectors and languages must have the same length")
        out = np.asarray(raw, dtype=np.float32).copy()
        langs = np.asarray(list(languages), dtype=object)
        for lang in set(langs.tolist()):
            out[langs == lang] -= self.means_.get(lang, self.default_)
        return unit_rows(out)


class VectorEncoder(Protocol):
    def encode(self, texts: Sequence[str]) -> np.ndarray: ...

    def encode_spans(self, texts: Sequence[str], spans: Sequence[Sequence[Span] | None]) -> list[np.ndarray | None]: ...


class ThemeEmbedder:
    """Texts -> language-centred unit vectors; the stage ``ThemeModel`` calls when no vectors are given.

    ``encoder`` is anything with ``encode(texts)`` / ``encode_spans`` -> raw e5 vectors: the analysis pipeline passes its
    ``SharedPass`` (one backbone in memory for sentiment and themes); by default the whole frozen
    encoder is built from ``backbone_file`` (or the installed wheel).
    """

    def __init__(self, means_path: Path, max_length: int = 128, batch_size: int = 64,
                 backbone_file: E5File | None = None, encoder: VectorEncoder | None = None,
                 units: UnitMode = "separate") -> None:
        self.means_path = means_path
        self.max_length = max_length
        self.batch_size = batch_size
        self.backbone_file = backbone_file
        self.encoder = encoder
        self.units = units

    def fit(self, *_: object) -> "ThemeEmbedder":
        file = self.backbone_file or read_e5_file()
        self.centering_ = LanguageCentering(self.means_path).fit()
        if self.centering_.backbone_sha256_ != file.sha256:
            raise ValueError(f"{self.means_path} was measured on another e5 file; re-run training/fit_language_means.py")
        self.encoder_ = self.encoder or SentenceEncoder(file, self.max_length, self.batch_size)
        return self

    def raw(self, texts: Sequence[str]) -> np.ndarray:
        return self.encoder_.encode(texts)

    def transform(self, texts: Sequence[str], languages: Sequence[str]) -> np.ndarray:
        return self.centering_.transform(self.raw(texts), languages)

    def raw_units(self, texts: Sequence[str], units: Sequence[Sequence[Unit]]) -> np.ndarray:
        """Raw vectors of every unit, flattened: pooled from one pass per comment (``units="spans"``, what
        the analysis pass computes) or each unit encoded as its own text."""
        flat = [u for us in units for u in us]
        if self.units == "separate" or not flat:
            return self.raw([u.text for u in flat]).reshape(len(flat), -1)
        rows = self.encoder_.encode_spans(texts, [[WHOLE if u.whole else (u.start, u.end) for u in us] or None
                                                  for us in units])
        return np.vstack([r for r in rows if r is not None]).astype(np.float32)

    def transform_units(self, texts: Sequence[str], units: Sequence[Sequence[Unit]],
                        languages: Sequence[str]) -> np.ndarray:
        """Language-centred unit vectors; ``languages`` per comment."""
        return self.centering_.transform(self.raw_units(texts, units), [languages[u.comment] for us in units for u in us])
