"""glibc malloc for the server (issue #13: memory under load): fewer arenas, and the start-up's freed heap
given back.

glibc gives threads that allocate at the same time arenas of their own (up to 8 per core), and each
arena keeps what is freed for reuse, so a pool of request threads grows the resident memory for
minutes. ``benchmarks/reliability/load.py`` (8 clients, 180 s, quiet machine) measured +126 MiB with
glibc's default and +54 MiB with two arenas, at the same requests/s. A ``MALLOC_ARENA_MAX`` already in
the environment is left as it is; other C libraries (musl, macOS) are left alone.

Loading the models frees much of what it allocated (the torch weights once ONNX Runtime holds its own,
export and file buffers), and glibc keeps that freed heap resident, mostly unused by requests later:
``release_freed_heap`` is called once the service is loaded. ``benchmarks/reliability/memory_warmup.py``:
malloc_trim after 1,200 requests gave back 159 MiB, 153 of it from the main heap that held it since
start-up; ready at 1,919-1,950 MiB with this and the shared ONNX Runtime arena, 2,111-2,124 without.
"""

from __future__ import annotations

import ctypes
import os

M_ARENA_MAX = -8  # glibc's mallopt parameter number
DEFAULT_ARENAS = 2


def _glibc() -> ctypes.CDLL | None:
    try:
        return ctypes.CDLL("libc.so.6")
    except OSError:
        return None


def limit_arenas(arenas: int = DEFAULT_ARENAS) -> bool:
    """Cap this process's arenas (before it starts threads) and its children's; False if not applied."""
    if "MALLOC_ARENA_MAX" in os.environ:
        return False
    libc = _glibc()
    if libc is None or not libc.mallopt(M_ARENA_MAX, arenas):
        return False
    os.environ["MALLOC_ARENA_MAX"] = str(arenas)  # uvicorn's worker processes read it when they start
    return True


def release_freed_heap() -> bool:
    """Return the memory glibc holds freed (every arena, ``malloc_trim(0)``) to the OS; False if not glibc.

    Live allocations are untouched; freed pages are handed back and come back zeroed if used again."""
    libc = _glibc()
    if libc is None or not hasattr(libc, "malloc_trim"):
        return False
    libc.malloc_trim(0)
    return True
