"""The encoder's ONNX Runtime threads sleep between runs instead of spinning (issue #11: latency)."""

from __future__ import annotations

import time

import numpy as np
import pytest

ort = pytest.importorskip("onnxruntime")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from service.sentiment.ort_threads import sleeping_threads  # noqa: E402


def _idle_cpu_after_runs(configure: bool) -> float:
    """Median CPU seconds this process burns in 50 ms of idling right after a 2-thread run of a 256 x 512 matmul."""
    w = numpy_helper.from_array(np.random.default_rng(0).random((512, 512), dtype=np.float32), "w")
    graph = helper.make_graph([helper.make_node("MatMul", ["x", "w"], ["y"])], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, 512])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], initializer=[w])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]).SerializeToString()
    opts = ort.SessionOptions()
    if configure:
        sleeping_threads(opts, 2)
    else:
        opts.intra_op_num_threads = 2
    session = ort.InferenceSession(model, opts, providers=["CPUExecutionProvider"])
    x = np.ones((256, 512), np.float32)
    idle = []
    for _ in range(10):
        session.run(None, {"x": x})
        start = time.process_time()
        time.sleep(0.05)
        idle.append(time.process_time() - start)
    return float(np.median(idle))


def test_threads_sleep_after_a_run():
    assert _idle_cpu_after_runs(configure=True) < 0.005


def test_default_threads_would_spin():
    """The check above can fail: by default the pool's threads keep a core busy after each run."""
    assert _idle_cpu_after_runs(configure=False) > 0.01
