"""The engine factory and the bfloat16 torch engine (issue #11): same answers as the fp32 reference, half the
weights' memory."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from service.config import Settings
from service.encoder import read_e5_file
from service.encoder.spans import WHOLE
from service.sentiment.engines import BATCH_TOLERANCE, ENGINES, use_engine
from service.sentiment.model import LABELS, SentimentModel
from service.sentiment.scorer import model_version
from service.sentiment.shared_pass import SharedPass, TorchEngine

TEXTS = ["Leveransen kom en dag för sent och ingen svarade i kundtjänst.", "Toimitus oli nopea, kiitos!",
         "Great staff, very helpful.", "Pakken kom aldrig frem 😡", "Priserna är för höga.", "ok", ""]
SPANS = [[WHOLE, (0, 29), (33, 62)], [WHOLE], [WHOLE, (0, 11)], [WHOLE], [WHOLE], [WHOLE], [WHOLE]]


@pytest.fixture(scope="module")
def passes():
    settings = Settings()
    file = read_e5_file()
    ref = SharedPass(SentimentModel.load(settings.sentiment_path, file), file, batch_size=4)
    bf16 = SharedPass(SentimentModel.load(settings.sentiment_path, file), file, batch_size=4)
    use_engine(bf16, "torch-bf16", model_version(settings.sentiment_path))
    return ref, bf16


def test_every_configurable_engine_is_built_by_the_factory():
    assert set(ENGINES) == {"torch", "torch-bf16", "onnx", "onnx-int8"}
    with pytest.raises(ValueError, match="unknown inference engine"):
        use_engine(None, "tensorrt", "v")  # type: ignore[arg-type]


def test_bf16_holds_bf16_weights_and_keeps_the_head_in_fp32(passes):
    _, bf16 = passes
    assert isinstance(bf16.engine, TorchEngine) and bf16.engine.name == "torch-bf16"
    dtypes = {p.dtype for p in bf16.engine.net.parameters()} | {p.dtype for p in bf16.top.parameters()}
    assert dtypes == {torch.bfloat16}
    assert bf16.head_weight.dtype == np.float32  # pooled states are scored in fp32 numpy


def test_bf16_agrees_with_the_fp32_reference(passes):
    ref, bf16 = passes
    p_ref, v_ref = ref.run(TEXTS, SPANS, SPANS)
    p_bf, v_bf = bf16.run(TEXTS, SPANS, SPANS)
    for a, b in zip(p_ref, p_bf):
        assert a.shape == b.shape and np.abs(a - b).max() < 0.05
        assert [LABELS[i] for i in a.argmax(1)] == [LABELS[i] for i in b.argmax(1)]
    v_ref, v_bf = np.vstack(v_ref), np.vstack(v_bf)
    assert v_bf.dtype == np.float32
    cos = (v_ref * v_bf).sum(1) / np.linalg.norm(v_ref, axis=1) / np.linalg.norm(v_bf, axis=1)
    assert cos.min() > 0.999


def test_bf16_batch_dependence_stays_within_its_stated_bound(passes):
    _, bf16 = passes
    batched = bf16.run(TEXTS, SPANS, [None] * len(TEXTS))[0]
    for i in range(len(TEXTS)):
        alone = bf16.run([TEXTS[i]], [SPANS[i]], [None])[0][0]
        assert np.abs(alone - batched[i]).max() < BATCH_TOLERANCE["torch-bf16"]


def test_the_http_service_resolves_auto_to_the_engine_whose_memory_stays_flat(client):
    """torch's oneDNN caches grew a loaded server's RSS (benchmarks/reliability/load.py): the server's auto is onnx."""
    from service.config import SERVER_AUTO_ENGINE  # noqa: PLC0415

    assert SERVER_AUTO_ENGINE == "onnx" and client.app.state.settings.inference_engine == SERVER_AUTO_ENGINE
    assert client.get("/readyz").json()["components"]["inference_engine"] == SERVER_AUTO_ENGINE
