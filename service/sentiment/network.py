"""The sentiment network: a BERT encoder, optionally beside a hashed n-gram bag, and a linear head.

With ``ngram_buckets == 0`` it is exactly ``BertForSequenceClassification`` (same parameter
names, so such checkpoints load unchanged). With an n-gram branch, the mean of the text's hashed
word uni/bigram embeddings (``service.sentiment.ngrams``) is concatenated to the pooled [CLS]
vector before the head; both parts are trained together. During training each part also has its
own auxiliary head and loss (deep supervision), so neither part can lean on the other: the joint
head then combines two classifiers that are each good alone, as an ensemble would, in one network.

Weights are stored as safetensors and read from a local folder only: nothing is fetched.
"""

from __future__ import annotations

from pathlib import Path

import torch
from safetensors.torch import load_file, save_file
from torch import nn
from transformers import BertConfig, BertModel

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"
AUX_PREFIX = "aux_"  # training-only heads: not saved, not needed to predict


class SentimentNet(nn.Module):
    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.config = config
        self.ngram_buckets = int(getattr(config, "ngram_buckets", 0) or 0)
        self.ngram_dim = int(getattr(config, "ngram_dim", 0) or 0) if self.ngram_buckets else 0
        self.bert = BertModel(config, add_pooling_layer=True)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)
        if self.ngram_buckets:
            self.ngram_bag = nn.EmbeddingBag(self.ngram_buckets, self.ngram_dim, mode="mean")
            nn.init.normal_(self.ngram_bag.weight, std=config.initializer_range)
        self.classifier = nn.Linear(config.hidden_size + self.ngram_dim, config.num_labels)
        heads = [self.classifier]
        if self.ngram_buckets:  # training-only heads, one per part (see module docstring)
            self.aux_encoder = nn.Linear(config.hidden_size, config.num_labels)
            self.aux_ngram = nn.Linear(self.ngram_dim, config.num_labels)
            heads += [self.aux_encoder, self.aux_ngram]
        for head in heads:
            nn.init.normal_(head.weight, std=config.initializer_range)
            nn.init.zeros_(head.bias)

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        ngram_ids: torch.Tensor | None = None,
        ngram_offsets: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Logits, shape (batch, num_labels)."""
        return self.forward_parts(input_ids, attention_mask, ngram_ids, ngram_offsets)[0]

    def forward_parts(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        ngram_ids: torch.Tensor | None = None,
        ngram_offsets: torch.Tensor | None = None,
    ) -> list[torch.Tensor]:
        """[joint logits] + (with an n-gram branch) [encoder-only logits, n-gram-only logits]."""
        pooled = self.dropout(self.bert(input_ids=input_ids, attention_mask=attention_mask).pooler_output)
        if not self.ngram_buckets:
            return [self.classifier(pooled)]
        if ngram_ids is None or ngram_offsets is None:
            raise ValueError("this network has an n-gram branch: pass ngram_ids and ngram_offsets")
        bag = self.dropout(self.ngram_bag(ngram_ids, ngram_offsets))
        return [self.classifier(torch.cat([pooled, bag], dim=1)), self.aux_encoder(pooled), self.aux_ngram(bag)]

    # -- persistence --------------------------------------------------------------------
    def save(self, path: Path, dtype: torch.dtype = torch.float16) -> None:
        path.mkdir(parents=True, exist_ok=True)
        self.config.to_json_file(str(path / CONFIG_FILE))
        state = {
            k: v.detach().to(dtype).contiguous() for k, v in self.state_dict().items() if not k.startswith(AUX_PREFIX)
        }
        save_file(state, str(path / WEIGHTS_FILE), metadata={"format": "pt"})

    @classmethod
    def load(cls, path: Path) -> "SentimentNet":
        """Weights are upcast to fp32 (fp16 matmuls are slow on CPUs)."""
        net = cls(BertConfig.from_json_file(str(path / CONFIG_FILE)))
        state = {k: v.to(torch.float32) for k, v in load_file(str(path / WEIGHTS_FILE)).items()}
        missing, unexpected = net.load_state_dict(state, strict=False)
        if unexpected or any(not k.startswith(AUX_PREFIX) for k in missing):
            raise ValueError(f"{path / WEIGHTS_FILE} does not match its config: missing {missing}, unexpected {unexpected}")
        return net.eval()
