"""ONNX Runtime threads that sleep when their run ends (issue #11: latency and throughput on few cores).

The encoder runs as three sessions (lower layers, sentiment top, theme top) one after another, each
with its own intra-op pool. By default a pool's threads spin for a while after every run (the test
measures ~29 ms of CPU per 50 ms idle on a small graph): on 2 cores the next part's threads then fight
the previous part's, and the request threads' own work (HTTP, language ID, spaCy) waits too. The README
(Sentiment → latency) has the real server's figures before and after, with the commands.
ONNX Runtime's one global pool for all sessions was tried as well and kept spinning (Python cannot turn
that off), so per-session pools that sleep are what the engine uses.
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
