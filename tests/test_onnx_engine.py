"""The ONNX Runtime engine computes what the torch reference computes (issue #11)."""

from __future__ import annotations

import numpy as np
import pytest

from service.config import Settings
from service.encoder import read_e5_file
from service.sentiment.model import SentimentModel
from service.sentiment.scorer import model_version
from service.sentiment.shared_pass import SharedPass

TEXTS = ["Leveransen kom en dag för sent och ingen svarade i kundtjänst.", "ok", "Sovellus kaatuu jatkuvasti kun yritän "
         "kirjautua sisään ja asiakaspalvelu ei vastaa.", "Great staff!", "Pakken kom aldrig frem 😡", ""]


@pytest.fixture(scope="module")
def passes(tmp_path_factory):
    from service.sentiment.onnx_engine import OnnxEngine  # noqa: PLC0415

    settings = Settings()
    file = read_e5_file()
    model = SentimentModel.load(settings.sentiment_path, file)
    ref = SharedPass(model, file, batch_size=4)
    onnx = SharedPass(model, file, batch_size=4)
    cache = tmp_path_factory.mktemp("onnx")
    onnx.engine = OnnxEngine(model, onnx.top, model_version(settings.sentiment_path), cache_dir=cache)
    return ref, onnx, cache


def test_onnx_matches_torch(passes):
    ref, onnx, _ = passes
    want = [True] * len(TEXTS)
    p_ref, v_ref = ref.run(TEXTS, want, want)
    p_onnx, v_onnx = onnx.run(TEXTS, want, want)
    assert np.abs(p_ref - p_onnx).max() < 1e-4
    cos = (v_ref * v_onnx).sum(1) / np.linalg.norm(v_ref, axis=1) / np.linalg.norm(v_onnx, axis=1)
    assert cos.min() > 0.9999


def test_unwanted_rows_are_not_computed_and_graphs_are_cached(passes):
    _, onnx, cache = passes
    p, v = onnx.run(TEXTS[:2], [True, False], [False, True])
    assert p[1].sum() == 0 and v[0].sum() == 0 and p[0].sum() == pytest.approx(1.0) and np.linalg.norm(v[1]) > 0
    folders = [d for d in cache.iterdir() if not d.name.startswith(".")]
    assert len(folders) == 1 and {f.name for f in folders[0].iterdir()} == {"lower.onnx", "sentiment.onnx", "vectors.onnx"}
