"""Fewer glibc malloc arenas for the server (issue #13: memory under load).

glibc gives threads that allocate at the same time arenas of their own (up to 8 per core), and each
arena keeps what is freed for reuse, so a pool of request threads grows the resident memory for
minutes. ``benchmarks/reliability/load.py`` (8 clients, 180 s, quiet machine) measured +126 MiB with
glibc's default and +54 MiB with two arenas, at the same requests/s. A ``MALLOC_ARENA_MAX`` already in
the environment is left as it is; other C libraries (musl, macOS) are left alone.
"""

from __future__ import annotations

import ctypes
import os

M_ARENA_MAX = -8  # glibc's mallopt parameter number
DEFAULT_ARENAS = 2


def limit_arenas(arenas: int = DEFAULT_ARENAS) -> bool:
    """Cap this process's arenas (before it starts threads) and its children's; False if not applied."""
    if "MALLOC_ARENA_MAX" in os.environ:
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return False
    if not libc.mallopt(M_ARENA_MAX, arenas):
        return False
    os.environ["MALLOC_ARENA_MAX"] = str(arenas)  # uvicorn's worker processes read it when they start
    return True
