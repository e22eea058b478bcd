"""The baseline a user would write: ``transformers.pipeline("text-classification")`` over our fine-tuned model.

Issue #11 asks for the full pipeline to be compared with a plain ``transformers`` text-classification
pipeline over the same fine-tuned network. That network (e5 with mean pooling and a linear head) is not
one of ``transformers``' stock architectures, so this module gives ``pipeline`` what it needs, the way a
user exporting it would: a ``PreTrainedModel`` whose forward returns the network's logits, and a fast
tokenizer (``PreTrainedTokenizerFast``) over the same SentencePiece unigram vocabulary, which prepends
e5's ``query: `` prefix and normalises with NFKC. Everything else (batching, padding, softmax, labels)
is the stock pipeline's, and it takes the raw comments. The tokenizer is not exactly the service's (e5's own normalisation
table differs from NFKC on a few dozen code points, and it truncates head-only): ``token_parity``
measures how often the ids agree.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from tokenizers import Regex, normalizers, pre_tokenizers, processors
from transformers import BertConfig, PreTrainedModel, PreTrainedTokenizerFast, pipeline
from transformers.utils import logging as hf_logging
from transformers.modeling_outputs import SequenceClassifierOutput

from service.encoder import QUERY_PREFIX, E5File
from service.encoder.tokenizer import unigram
from service.sentiment.model import SentimentModel
from service.sentiment.network import SentimentNet


class E5MeanPoolClassifier(PreTrainedModel):
    """Our ``SentimentNet`` behind the interface ``transformers`` pipelines call."""

    config_class = BertConfig

    def __init__(self, config: BertConfig, net: SentimentNet) -> None:
        super().__init__(config)
        self.net = net

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, **_: object) -> SequenceClassifierOutput:
        return SequenceClassifierOutput(logits=self.net(input_ids, attention_mask))


def fast_tokenizer(file: E5File, max_length: int) -> PreTrainedTokenizerFast:
    """The e5 vocabulary as a ``transformers`` fast tokenizer: the prefix, NFKC, whitespace runs collapsed, metaspace,
    <s> … </s>."""
    tok = unigram(file)
    tok.normalizer = normalizers.Sequence([normalizers.Prepend(QUERY_PREFIX), normalizers.NFKC(),
                                           normalizers.Replace(Regex(r"[\x00-\x08]"), ""),
                                           normalizers.Replace(Regex(r"\s+"), " ")])
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="always", split=False)
    bos, eos = file.pieces[file.bos], file.pieces[file.eos]
    tok.post_processor = processors.TemplateProcessing(single=f"{bos} $A {eos}", special_tokens=[(bos, file.bos), (eos, file.eos)])
    return PreTrainedTokenizerFast(tokenizer_object=tok, bos_token=bos, eos_token=eos, unk_token=file.pieces[file.unk],
                                   pad_token=file.pieces[file.pad], model_max_length=max_length)


def text_classification(model: SentimentModel, file: E5File, batch_size: int):
    """``pipeline("text-classification")`` over ``model``'s network (shared, not copied)."""
    net = model.model
    config = BertConfig(**net.backbone.config.to_dict())
    config.id2label = dict(enumerate(net.config.labels))
    config.label2id = {v: k for k, v in config.id2label.items()}
    wrapped = E5MeanPoolClassifier(config, net).eval()
    verbosity = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()  # "not supported for text-classification": it is not a stock class, and works
    try:
        return pipeline("text-classification", model=wrapped, tokenizer=fast_tokenizer(file, net.config.max_length),
                        device="cpu", batch_size=batch_size, truncation=True)
    finally:
        hf_logging.set_verbosity(verbosity)


def token_parity(model: SentimentModel, file: E5File, texts: Sequence[str]) -> float:
    """Share of texts whose fast-tokenizer ids equal the service tokenizer's."""
    tok = fast_tokenizer(file, model.max_length)
    ours = model.encode(texts)
    theirs = tok(list(texts), truncation=True)["input_ids"]
    return sum(a == b for a, b in zip(ours, theirs)) / max(1, len(texts))
