"""``training.soup_sentiment``: the weight average is exact, and ingredients selected on other dev rows are refused."""

from __future__ import annotations

import json

import pytest
import torch

from service.encoder import read_e5_file
from service.sentiment.network import HeadConfig, SentimentNet
from training.soup_sentiment import average, subset_settings


@pytest.fixture(scope="module")
def backbone_file():
    return read_e5_file()


def _net(backbone_file, seed: int, layers: int = 1) -> SentimentNet:
    net = SentimentNet(backbone_file, HeadConfig(backbone_file.sha256, layers, dropout=0.0)).eval()
    torch.manual_seed(seed)
    with torch.no_grad():
        for _, p in net.trainable_named_parameters():
            p.add_(torch.randn_like(p) * 0.01)  # two different "fine-tunings"
    return net


def test_average_mixes_every_trained_tensor_and_nothing_else(backbone_file):
    a, b = _net(backbone_file, 1), _net(backbone_file, 2)
    before_a = {n: p.detach().clone() for n, p in a.trainable_named_parameters()}
    theirs = dict(b.trainable_named_parameters())
    frozen = a.backbone.encoder.layer[0].attention.self.query.weight.detach().clone()
    soup = average(a, b, 0.25)
    for name, p in soup.trainable_named_parameters():
        assert torch.allclose(p, 0.75 * before_a[name] + 0.25 * theirs[name], atol=1e-7), name
    assert torch.equal(soup.backbone.encoder.layer[0].attention.self.query.weight, frozen)


def test_average_refuses_a_weight_outside_0_1_and_other_architectures(backbone_file):
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        average(_net(backbone_file, 1), _net(backbone_file, 2), 1.5)
    with pytest.raises(ValueError, match="architecture"):
        average(_net(backbone_file, 1), _net(backbone_file, 2, layers=2), 0.5)


def _folder(tmp_path, name, **training):
    folder = tmp_path / name
    folder.mkdir()
    base = {"train_caps": {"xed_fi_native": 15000}, "dev_per_language": 700, "seed": 0}
    (folder / "calibration.json").write_text(json.dumps({"training": {**base, **training, "epochs": 3}}))
    return folder


def test_ingredients_must_share_the_subset_they_were_selected_on(tmp_path):
    same = [_folder(tmp_path, "a"), _folder(tmp_path, "b", lr=5e-4)]  # other recipe, same rows: fine
    assert subset_settings(same)["dev_per_language"] == 700
    with pytest.raises(ValueError, match="other training/dev subsets"):
        subset_settings([same[0], _folder(tmp_path, "c", seed=1)])
    with pytest.raises(ValueError, match="other training/dev subsets"):
        subset_settings([same[0], _folder(tmp_path, "d", train_caps={"xed_fi_native": 9000})])
