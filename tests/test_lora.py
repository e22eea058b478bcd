"""LoRA adapters for the budget comparison: they start as the identity and merge without changing outputs."""

from __future__ import annotations

import pytest
import torch

from service.encoder import read_e5_file
from service.sentiment.network import HeadConfig, SentimentNet
from training.lora import LoRALinear, add_adapters, merge_adapters


@pytest.fixture(scope="module")
def backbone_file():
    return read_e5_file()


def _net(backbone_file, layers: int = 2) -> SentimentNet:
    torch.manual_seed(0)
    return SentimentNet(backbone_file, HeadConfig(backbone_file.sha256, layers, dropout=0.0)).eval()


def _logits(net: SentimentNet) -> torch.Tensor:
    ids = torch.tensor([[0, 1284, 2211, 5, 2], [0, 9665, 2, 1, 1]])
    mask = (ids != 1).long()
    with torch.inference_mode():
        return net(ids, mask)


def test_adapters_start_as_the_pretrained_net_and_train_alone(backbone_file):
    net = _net(backbone_file)
    before = _logits(net)
    count = add_adapters(net, rank=4, alpha=8.0)
    assert count == 2 * 4 * (4 * (384 + 384) + 2 * (384 + 1536))
    assert torch.allclose(_logits(net), before, atol=1e-6)  # B = 0
    trained = {n for n, p in net.named_parameters() if p.requires_grad}
    assert trained and all("lora_" in n or n.startswith("classifier.") for n in trained)
    assert sum(isinstance(m, LoRALinear) for m in net.modules()) == 2 * 6


def test_merging_folds_the_update_in_without_changing_the_output(backbone_file):
    net = _net(backbone_file)
    add_adapters(net, rank=4, alpha=8.0)
    torch.manual_seed(1)
    for m in net.modules():
        if isinstance(m, LoRALinear):
            m.lora_b.data.normal_(std=0.02)
    adapted = _logits(net)
    assert not torch.allclose(adapted, _logits(_net(backbone_file)), atol=1e-4)
    merge_adapters(net)
    assert not any(isinstance(m, LoRALinear) for m in net.modules())
    assert torch.allclose(_logits(net), adapted, atol=1e-4)
    names = {n for n, _ in net.trainable_named_parameters()}
    assert names == {n for n, _ in _net(backbone_file).trainable_named_parameters()}  # saves as a plain model


def test_rank_must_be_positive(backbone_file):
    with pytest.raises(ValueError, match="rank"):
        add_adapters(_net(backbone_file), rank=0, alpha=8.0)
