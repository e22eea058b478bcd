"""The distilled theme top (issue #11): built from the pretrained layers it names, stored exactly, refused with
another backbone or with language means of another top, and the same vectors in the analysis pass and in the
evaluation encoder."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from service.config import Settings
from service.encoder import DistilledTop, FrozenTop, SentenceEncoder, read_e5_file
from service.encoder.theme_top import PRETRAINED, TOP_WEIGHTS_FILE, TopConfig
from service.sentiment import load_scorer
from service.sentiment.model import SentimentModel
from service.sentiment.shared_pass import SharedPass
from service.themes.embedding import LANGUAGE_MEANS_FILE, ThemeEmbedder

TEXTS = ["Leveransen kom en dag för sent.", "Toimitus oli nopea, kiitos!", "Great staff, very helpful.", "ok"]


@pytest.fixture(scope="module")
def file():
    return read_e5_file()


def _states(seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    mask = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]])
    return torch.randn(2, 5, 384, generator=g), mask


def _trained(file, folder, init=(6, 11)) -> DistilledTop:
    """A top whose weights differ from its initialisation (as training leaves them), saved to ``folder``."""
    top = DistilledTop(file, TopConfig(file.sha256, 6, init))
    with torch.no_grad():
        for p in top.parameters():
            p.add_(0.02 * torch.randn_like(p))
    top.save(folder)
    return top


def test_a_top_started_from_the_six_pretrained_top_layers_is_the_pretrained_top(file):
    top = DistilledTop(file, TopConfig(file.sha256, 6, tuple(range(6, 12))))
    hidden, mask = _states()
    with torch.inference_mode():
        assert torch.allclose(top(hidden, mask), FrozenTop(file, 6)(hidden, mask), atol=1e-5)
        shorter = DistilledTop(file, TopConfig(file.sha256, 6, (6, 11)))(hidden, mask)
        assert not torch.allclose(shorter, top(hidden, mask), atol=1e-2)


def test_a_saved_top_loads_its_own_weights_in_fp16(tmp_path, file):
    top = _trained(file, tmp_path)
    loaded = DistilledTop.load(tmp_path, file)
    assert loaded.digest not in (PRETRAINED, "") and len(loaded.digest) == 16
    stored = load_file(str(tmp_path / TOP_WEIGHTS_FILE))
    assert {v.dtype for v in stored.values()} == {torch.float16}
    for name, p in loaded.state_dict().items():
        assert torch.equal(p, top.state_dict()[name].half().float()), name
    hidden, mask = _states()
    with torch.inference_mode():
        fresh = DistilledTop(file, TopConfig(file.sha256, 6, (6, 11)))
        assert not torch.allclose(loaded(hidden, mask), fresh(hidden, mask), atol=1e-3)


def test_a_top_of_another_backbone_or_with_unknown_layers_is_refused(file):
    with pytest.raises(ValueError, match="distill_theme_top"):
        DistilledTop(file, TopConfig("0" * 64, 6, (6, 11)))
    with pytest.raises(ValueError, match="init layers"):
        DistilledTop(file, TopConfig(file.sha256, 6, (6, 12)))
    with pytest.raises(ValueError, match="init layers"):
        DistilledTop(file, TopConfig(file.sha256, 6, ()))


def test_the_analysis_pass_and_the_evaluation_encoder_give_the_same_distilled_vectors(tmp_path, file):
    _trained(file, tmp_path)
    model = SentimentModel.load(Settings().sentiment_path, file)
    distilled = SharedPass(model, file, batch_size=2, top=DistilledTop.load(tmp_path, file))
    pretrained = SharedPass(model, file, batch_size=2)
    evaluation = SentenceEncoder(file, batch_size=3, top=DistilledTop.load(tmp_path, file))
    assert len(evaluation.model.encoder.layer) == 6
    np.testing.assert_allclose(distilled.encode(TEXTS), evaluation.encode(TEXTS), atol=1e-4)
    assert not np.allclose(distilled.encode(TEXTS), pretrained.encode(TEXTS), atol=1e-2)
    # sentiment does not depend on the theme top
    np.testing.assert_allclose(distilled.predict_proba(TEXTS), pretrained.predict_proba(TEXTS), atol=1e-6)
    with pytest.raises(ValueError, match="reads layer 8"):
        SharedPass(model, file, top=DistilledTop(file, TopConfig(file.sha256, 8, (8,))))


def test_themes_refuse_language_means_measured_with_another_top_and_the_scorer_loads_the_folder_s_top(tmp_path, file):
    folder = tmp_path / "themes"
    shutil.copytree(Settings().themes_path, folder)
    embedder = ThemeEmbedder(folder / LANGUAGE_MEANS_FILE, backbone_file=file, top_folder=folder)
    embedder.fit()  # the shipped means were measured with the pretrained top, and the folder ships no other
    _trained(file, folder)
    with pytest.raises(ValueError, match="fit_language_means"):
        ThemeEmbedder(folder / LANGUAGE_MEANS_FILE, backbone_file=file, top_folder=folder).fit()
    torch_only = dict(inference_engine="torch", torch_threads=0)  # no ONNX export: the top is what is checked
    scorer = load_scorer(Settings().sentiment_path, Settings(themes_dir=folder, **torch_only), file, shared_pass=True)
    assert isinstance(scorer.shared.top, DistilledTop)
    shipped = load_scorer(Settings().sentiment_path, Settings(**torch_only), file, shared_pass=True)
    assert isinstance(shipped.shared.top, FrozenTop)


def test_distillation_holds_out_whole_comments():
    from training.distill_theme_top import held_out  # noqa: PLC0415 - the training script, not the service

    origin = [1, 1, 1, 2, 3, 3, 4, 5, 5, 5]  # the comment each string (comment or clause) came from
    train, held = held_out(origin, 3, seed=0)
    assert sorted(train + held) == list(range(len(origin))) and len(held) >= 3
    assert not {origin[r] for r in held} & {origin[r] for r in train}
    assert held_out(origin, 3, seed=0) == (train, held)
