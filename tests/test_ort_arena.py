"""The encoder's ONNX Runtime sessions share one arena grown by what is asked (issue #13: memory)."""

from __future__ import annotations

import subprocess
import sys

import pytest

pytest.importorskip("onnxruntime")

# Two sessions, each run once on a graph whose intermediates take 2 x 64 MiB; prints what each run adds to RSS.
TWO_SESSIONS = """
import sys
from pathlib import Path
import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper
from service.sentiment.ort_arena import use_shared_arena

def rss_mib():
    return int(Path("/proc/self/statm").read_text().split()[1]) * 4096 / 2**20

graph = helper.make_graph(
    [helper.make_node("ConstantOfShape", ["n"], ["a"], value=helper.make_tensor("v", TensorProto.FLOAT, [1], [1.0])),
     helper.make_node("Add", ["a", "a"], ["b"]), helper.make_node("ReduceSum", ["b"], ["s"], keepdims=0)],
    "g", [helper.make_tensor_value_info("n", TensorProto.INT64, [1])],
    [helper.make_tensor_value_info("s", TensorProto.FLOAT, [])])
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]).SerializeToString()
sessions = []
for _ in range(2):
    opts = ort.SessionOptions()
    if sys.argv[1] == "shared":
        use_shared_arena(opts)
    sessions.append(ort.InferenceSession(model, opts, providers=["CPUExecutionProvider"]))
n = np.array([16 << 20], dtype=np.int64)  # 16 Mi floats: 64 MiB per intermediate
added = []
for s in sessions:
    before = rss_mib()
    assert s.run(None, {"n": n})[0] == 2 * n[0]
    added.append(round(rss_mib() - before))
shared = sys.argv[1] == "shared" and sessions[0].get_session_options().get_session_config_entry(
    "session.use_env_allocators") == "1"
print(*added, shared)
"""


def _added(mode: str) -> list[str]:
    out = subprocess.run([sys.executable, "-c", TWO_SESSIONS, mode], capture_output=True, text=True, check=True)
    return out.stdout.split()


def test_sessions_reuse_one_arena():
    first, second, configured = _added("shared")
    assert configured == "True"
    assert int(first) >= 100  # the first run grows the arena by what it needs
    assert int(second) < 16  # the second session's run reuses it


def test_per_session_arenas_would_grow_twice():
    """The check above can fail: ONNX Runtime's default gives the second session an arena of its own."""
    first, second, _ = _added("default")
    assert int(first) >= 100 and int(second) >= 100
