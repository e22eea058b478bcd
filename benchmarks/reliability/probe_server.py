"""``touchpoints serve`` with a memory probe, for ``memory_warmup.py`` (issue #13: where the warm-up goes).

    python -m benchmarks.reliability.probe_server serve --host 127.0.0.1 --port 8000

The same server, plus: on SIGUSR1 it appends one JSON line to ``$TP_PROBE_OUT`` with its resident
memory (``/proc/self/status``), glibc's ``mallinfo2`` (heap held vs in use, mmapped blocks) and, with
``TP_PROBE_TRACEMALLOC=1``, the Python heap traced since start-up; on SIGUSR2 it first calls
``malloc_trim(0)`` (what glibc holds freed but unreturned is given back) and then writes the same line.
Experiments that the service has no setting for are switched by environment variables read here
(``TP_PROBE_ORT_*``, see ``_patch_onnxruntime``).
"""

from __future__ import annotations

import ctypes
import json
import os
import signal
import sys
import threading
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))


class _MallInfo2(ctypes.Structure):
    _fields_ = [(n, ctypes.c_size_t) for n in
                ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks",
                 "keepcost")]


def _libc() -> ctypes.CDLL | None:
    try:
        return ctypes.CDLL("libc.so.6")
    except OSError:
        return None


def proc_status() -> dict[str, int]:
    """VmRSS, RssAnon, RssFile (bytes) and the thread count of this process."""
    out: dict[str, int] = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "RssAnon", "RssFile"):
            out[key] = int(value.split()[0]) * 1024
        elif key == "Threads":
            out[key] = int(value)
    return out


ARENA_HEAP = 64 << 20  # glibc's thread arenas are heaps of up to 64 MiB, each aligned to its size


def rss_by_mapping() -> dict[str, int]:
    """Resident bytes by kind of mapping (``/proc/self/smaps``): the brk heap (glibc's main arena), glibc's
    thread-arena heaps (anonymous, 64 MiB-aligned), other anonymous memory (large malloc blocks, ONNX
    Runtime's and Python's arenas, thread stacks) and files. Adjacent anonymous mappings can merge, so
    the split of the anonymous kinds is approximate."""
    out = {"rss_brk_heap": 0, "rss_thread_arenas": 0, "rss_other_anon": 0, "rss_file": 0}
    kind = "rss_file"
    for line in Path("/proc/self/smaps").read_text().splitlines():
        head = line.split()
        if "-" in head[0] and not head[0].endswith(":"):
            start = int(head[0].split("-")[0], 16)
            path = head[5] if len(head) > 5 else ""
            kind = ("rss_brk_heap" if path == "[heap]" else "rss_file" if path.startswith("/") else
                    "rss_thread_arenas" if not path and start % ARENA_HEAP == 0 else "rss_other_anon")
        elif head[0] == "Rss:":
            out[kind] += int(head[1]) * 1024
    return out


def snapshot(label: str) -> dict[str, object]:
    snap: dict[str, object] = {"label": label, **proc_status(), **rss_by_mapping()}
    libc = _libc()
    if libc is not None and hasattr(libc, "mallinfo2"):
        libc.mallinfo2.restype = _MallInfo2
        m = libc.mallinfo2()
        snap.update(heap=m.arena, heap_in_use=m.uordblks, heap_free=m.fordblks, mmapped=m.hblkhd)
    if tracemalloc.is_tracing():
        snap["python_traced"] = tracemalloc.get_traced_memory()[0]
    return snap


def _write(label: str) -> None:
    with open(os.environ["TP_PROBE_OUT"], "a", encoding="utf-8") as f:
        f.write(json.dumps(snapshot(label)) + "\n")


def _on_usr1(signum: int, frame: object) -> None:
    threading.Thread(target=_write, args=("usr1",)).start()  # not in the event loop's frame


def _on_usr2(signum: int, frame: object) -> None:
    libc = _libc()
    if libc is not None:
        libc.malloc_trim(0)
    threading.Thread(target=_write, args=("trimmed",)).start()


def _patch_onnxruntime() -> None:
    """Apply the TP_PROBE_ORT_* experiments to the sessions the service makes: ``PER_SESSION_ARENAS=1``
    ONNX Runtime's default (an arena per session, grown by doubling) instead of the service's one shared
    arena (``service/sentiment/ort_arena.py``), ``ARENA=0`` no arena at all, ``MEM_PATTERN=0`` no
    per-shape memory plan, ``SHRINK=1`` the arena gives back its unused extensions after every run."""
    get = os.environ.get
    arena, pattern, shrink = get("TP_PROBE_ORT_ARENA") == "0", get("TP_PROBE_ORT_MEM_PATTERN") == "0", \
        get("TP_PROBE_ORT_SHRINK") == "1"
    if arena or get("TP_PROBE_ORT_PER_SESSION_ARENAS") == "1":
        from service.sentiment import onnx_engine  # noqa: PLC0415

        onnx_engine.use_shared_arena = lambda options: None  # type: ignore[assignment]
    if not (arena or pattern or shrink):
        return
    import onnxruntime as ort  # noqa: PLC0415

    real = ort.SessionOptions

    def options() -> ort.SessionOptions:
        opts = real()
        if arena:
            opts.enable_cpu_mem_arena = False
        if pattern:
            opts.enable_mem_pattern = False
        return opts

    ort.SessionOptions = options  # type: ignore[misc]
    if shrink:
        run = ort.InferenceSession.run
        run_options = ort.RunOptions()
        run_options.add_run_config_entry("memory.enable_memory_arena_shrinkage", "cpu:0")

        def shrinking(self: ort.InferenceSession, output_names: object, input_feed: object,
                      options: object = None) -> object:
            return run(self, output_names, input_feed, options or run_options)

        ort.InferenceSession.run = shrinking  # type: ignore[method-assign]


def main() -> None:
    if os.environ.get("TP_PROBE_TRACEMALLOC") == "1":
        tracemalloc.start()
    _patch_onnxruntime()
    signal.signal(signal.SIGUSR1, _on_usr1)
    signal.signal(signal.SIGUSR2, _on_usr2)
    from service.cli import main as cli  # noqa: PLC0415

    cli(sys.argv[1:])


if __name__ == "__main__":
    main()
