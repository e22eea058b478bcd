"""The ONNX Runtime engine computes what the torch reference computes (issue #11)."""

from __future__ import annotations

import numpy as np
import pytest

from service.config import Settings
from service.encoder.spans import WHOLE
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


SPANS = [[WHOLE, (0, 22), (23, 62)], [WHOLE], [WHOLE, (0, 40)], [WHOLE, (0, 11)], [WHOLE], [WHOLE]]


def test_onnx_matches_torch(passes):
    ref, onnx, _ = passes
    p_ref, v_ref = ref.run(TEXTS, SPANS, SPANS)
    p_onnx, v_onnx = onnx.run(TEXTS, SPANS, SPANS)
    for a, b in zip(p_ref, p_onnx):
        assert a.shape == b.shape and np.abs(a - b).max() < 1e-4
    v_ref, v_onnx = np.vstack(v_ref), np.vstack(v_onnx)
    cos = (v_ref * v_onnx).sum(1) / np.linalg.norm(v_ref, axis=1) / np.linalg.norm(v_onnx, axis=1)
    assert cos.min() > 0.9999


def test_fp32_onnx_scores_do_not_depend_on_the_batch(passes):
    """The exact engine: a comment scored alone or among longer ones (other padding, other batch size)."""
    _, onnx, _ = passes
    batched = onnx.run(TEXTS, SPANS, SPANS)[0]
    for i in (0, 3):
        alone = onnx.run([TEXTS[i]], [SPANS[i]], [None])[0][0]
        assert np.abs(alone - batched[i]).max() < 1e-4


def test_unwanted_rows_are_not_computed_and_graphs_are_cached(passes):
    _, onnx, cache = passes
    p, v = onnx.run(TEXTS[:2], [[WHOLE], None], [None, [WHOLE]])
    assert p[1] is None and v[0] is None and p[0].sum() == pytest.approx(1.0) and np.linalg.norm(v[1]) > 0
    folders = [d for d in cache.iterdir() if not d.name.startswith(".")]
    assert len(folders) == 1 and {f.name for f in folders[0].iterdir()} == {"lower.onnx", "sentiment.onnx", "vectors.onnx"}


def test_sessions_share_one_arena(passes):
    """Issue #13: an arena per session grown by doubling kept the service's memory rising under load."""
    _, onnx, _ = passes
    for session in onnx.engine.sessions.values():
        assert session.get_session_options().get_session_config_entry("session.use_env_allocators") == "1"


def test_int8_quantises_only_the_tops(passes, tmp_path):
    """int8 lower layers moved the theme vectors off their calibration (training/eval_engines.py): they stay
    fp32, so the int8 engine's lower states are the fp32 engine's and only the two tops are quantised."""
    import onnx as onnx_lib  # noqa: PLC0415

    from service.sentiment.onnx_engine import INT8_PARTS, PARTS, OnnxEngine  # noqa: PLC0415

    _, fp32, _ = passes
    q = OnnxEngine(fp32.model, fp32.top, model_version(Settings().sentiment_path), int8=True, cache_dir=tmp_path)
    (folder,) = [d for d in tmp_path.iterdir() if not d.name.startswith(".")]
    for p in PARTS:
        ops = {n.op_type for n in onnx_lib.load(str(folder / f"{p}.onnx")).graph.node}
        assert bool(ops & {"MatMulInteger", "DynamicQuantizeLinear"}) == (p in INT8_PARTS), (p, sorted(ops))
    ids = np.array([[0, 5, 6, 7, 2], [0, 8, 2, 1, 1]], dtype=np.int64)
    mask = np.array([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]], dtype=np.int64)
    assert np.abs(q.lower(ids, mask) - fp32.engine.lower(ids, mask)).max() < 1e-5


def test_the_three_sessions_do_not_spin(passes):
    """Lower layers, sentiment top and theme top run one after another: idle threads sleep (``ort_threads.py``)."""
    _, onnx, _ = passes
    assert set(onnx.engine.sessions) == {"lower", "sentiment", "vectors"}
    for session in onnx.engine.sessions.values():
        opts = session.get_session_options()
        assert opts.get_session_config_entry("session.intra_op.allow_spinning") == "0"
        assert opts.intra_op_num_threads == onnx.engine.threads >= 1
