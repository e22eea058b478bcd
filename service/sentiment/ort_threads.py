"""ONNX Runtime threads that sleep when their run ends (issue #11: latency and throughput on few cores).

The encoder runs as three sessions (lower layers, sentiment top, theme top) one after another, each
with its own intra-op pool. By default a pool's threads spin for a while after every run (a test
measures ~29 ms of CPU per 50 ms idle on a small graph): on 2 cores the next part's threads then fight
the previous part's, and the request threads' own work (HTTP, language ID, spaCy) waits too. Measured
in one process, fp32 ONNX, the survey answers, spinning on → off, each pair run back to back:
- quiet machine: one comment at a time p50 / p99 66 / 119 → 26 / 46 ms; batches of 256 103 → 117 comments/s;
- with a niced background job on both cores: one at a time p50 120 → 27 ms; 8 concurrent callers 17–20 →
  44–51 comments/s; batches of 256 44–47 → 68–72 comments/s.
One pool shared by the three sessions (ONNX Runtime's global pool) was faster than spinning per-session
pools but slower than these in every case with the background job (it spins, and Python cannot turn that off).
"""

from __future__ import annotations

NO_SPIN = {"session.intra_op.allow_spinning": "0", "session.inter_op.allow_spinning": "0"}


def sleeping_threads(options: object, threads: int) -> None:
    """Give sessions created with ``options`` (``onnxruntime.SessionOptions``) ``threads`` intra-op threads that
    sleep instead of spinning between runs, and run their nodes one after another."""
    options.intra_op_num_threads = threads  # type: ignore[attr-defined]
    options.inter_op_num_threads = 1  # type: ignore[attr-defined]
    for key, value in NO_SPIN.items():
        options.add_session_config_entry(key, value)  # type: ignore[attr-defined]
