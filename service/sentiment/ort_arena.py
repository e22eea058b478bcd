"""One ONNX Runtime memory arena for the encoder's sessions, grown by what is asked (issue #13: memory).

By default each session (the engine has three) keeps an arena of its own that grows by doubling, so
concurrent requests leave three arenas, each reserved for its own peak rounded up to a power of two, and
the service's resident memory kept rising for minutes as runs reached further into those reservations.
``benchmarks/reliability/memory_warmup.py`` (100 requests a round, the last six rounds from 8 clients):
+320 MiB reserved at the first concurrent round, then resident memory +317 MiB over the 6 rounds and
still +70 MiB over the last two. One arena for all sessions, extended by exactly what a run lacks,
holds what concurrent runs really need at once: +62 MiB over the same 6 rounds, +1.3 MiB over the last
two (with the start-up trim of ``service/malloc_arenas.py``; 449 MiB less at the end).
"""

from __future__ import annotations

import threading

SAME_AS_REQUESTED = 1  # ONNX Runtime's ArenaExtendStrategy::kSameAsRequested (0 is kNextPowerOfTwo)
_lock = threading.Lock()
_registered = False


def use_shared_arena(options: object) -> None:
    """Make sessions created with ``options`` (``onnxruntime.SessionOptions``) allocate from the one arena."""
    global _registered
    import onnxruntime as ort  # noqa: PLC0415 - optional dependency

    with _lock:
        if not _registered:
            cpu = ort.OrtMemoryInfo("Cpu", ort.OrtAllocatorType.ORT_ARENA_ALLOCATOR, 0, ort.OrtMemType.DEFAULT)
            ort.create_and_register_allocator(cpu, ort.OrtArenaCfg(0, SAME_AS_REQUESTED, -1, -1))
            _registered = True
    options.add_session_config_entry("session.use_env_allocators", "1")  # type: ignore[attr-defined]
