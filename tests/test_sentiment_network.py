"""The sentiment network and its hashed n-gram input (no trained weights needed)."""

from __future__ import annotations

import pytest
import torch

from service.sentiment.model import build_config
from service.sentiment.network import SentimentNet
from service.sentiment.ngrams import bag_tensors, hashed_ngrams, ngram_tokens


def test_ngram_tokens_are_lowercased_words_symbols_and_bigrams():
    assert ngram_tokens("Snabb LEVERANS!") == ["snabb", "leverans", "!", "snabb leverans", "leverans !"]
    assert ngram_tokens("Tak 👍") == ["tak", "👍", "tak 👍"]
    assert ngram_tokens("   ") == []


def test_hashing_is_stable_across_processes_and_never_empty():
    # CRC-32 values are fixed by the algorithm, unlike Python's salted hash(): a model trained in
    # one process must see the same buckets in every other.
    assert hashed_ngrams("ok", 2**18) == [0x79DCDD47 % 2**18]  # crc32(b"ok")
    assert hashed_ngrams("", 1000) == [0]
    assert all(0 <= i < 97 for i in hashed_ngrams("Kundtjänsten svarade aldrig på mina mejl", 97))


def test_bag_tensors_offsets():
    ids, offsets = bag_tensors([[5, 6], [7], [8, 9, 10]])
    assert ids.tolist() == [5, 6, 7, 8, 9, 10] and offsets.tolist() == [0, 2, 3]


def _net(buckets: int) -> SentimentNet:
    torch.manual_seed(0)
    return SentimentNet(build_config(300, 32, 1, 2, 64, 16, ngram_buckets=buckets, ngram_dim=8 if buckets else 0)).eval()


@pytest.mark.parametrize("buckets", [0, 64])
def test_save_load_round_trip(tmp_path, buckets):
    net = _net(buckets)
    x = torch.tensor([[2, 10, 11, 3], [2, 12, 3, 0]])
    mask = (x > 0).long()
    extra = dict(zip(("ngram_ids", "ngram_offsets"), bag_tensors([[1, 2, 3], [4]]))) if buckets else {}
    net.save(tmp_path, dtype=torch.float32)
    loaded = SentimentNet.load(tmp_path)
    assert loaded.ngram_buckets == buckets
    with torch.inference_mode():
        assert torch.allclose(net(x, mask, **extra), loaded(x, mask, **extra))


def test_plain_network_keeps_bert_for_sequence_classification_names():
    """So checkpoints of a plain BERT classifier load into the same class."""
    names = set(_net(0).state_dict())
    assert "classifier.weight" in names and "bert.pooler.dense.weight" in names
    assert not any(n.startswith("ngram_bag") for n in names)


def test_ngram_branch_requires_its_inputs():
    net = _net(64)
    x = torch.tensor([[2, 10, 3]])
    with pytest.raises(ValueError, match="ngram_ids"):
        net(x, torch.ones_like(x))
