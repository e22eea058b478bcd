"""``touchpoints serve`` caps glibc's malloc arenas (issue #13: memory under load)."""

from __future__ import annotations

import os
import platform
import subprocess
import sys

import pytest

CHECK = """
import os
from service.malloc_arenas import limit_arenas
first = limit_arenas()
print(first, os.environ.get("MALLOC_ARENA_MAX"), limit_arenas())
"""


def _run(env: dict[str, str]) -> str:
    return subprocess.run([sys.executable, "-c", CHECK], capture_output=True, text=True, check=True, env=env).stdout.split()


@pytest.mark.skipif(platform.system() != "Linux" or platform.libc_ver()[0] != "glibc", reason="glibc only")
def test_arenas_are_capped_for_the_process_and_its_workers():
    env = {k: v for k, v in os.environ.items() if k != "MALLOC_ARENA_MAX"}
    # applied once; the environment then carries it to uvicorn's worker processes, and a second call is a no-op
    assert _run(env) == ["True", "2", "False"]
    # an operator's own MALLOC_ARENA_MAX is kept
    assert _run({**env, "MALLOC_ARENA_MAX": "4"}) == ["False", "4", "False"]


FREED_HEAP = """
from pathlib import Path
from service.malloc_arenas import release_freed_heap

def rss_mib():
    return int(Path("/proc/self/statm").read_text().split()[1]) * 4096 / 2**20

blocks = [bytes(2048) for _ in range(100_000)]  # 2 KiB each: glibc's heap, not Python's small-object arenas
pin = bytes(2048)  # allocated last: glibc cannot shrink the heap's top below it by itself
del blocks
before = rss_mib()
print(release_freed_heap(), round(before - rss_mib()))
"""


@pytest.mark.skipif(platform.system() != "Linux" or platform.libc_ver()[0] != "glibc", reason="glibc only")
def test_freed_heap_is_given_back():
    released, mib = subprocess.run([sys.executable, "-c", FREED_HEAP], capture_output=True, text=True,
                                   check=True).stdout.split()
    assert released == "True"
    assert int(mib) >= 150  # of the ~200 MiB freed, kept resident by glibc until trimmed


class _Pipeline:
    def components(self) -> dict[str, str]:
        return {}


def test_the_service_gives_back_what_loading_freed(monkeypatch, tmp_path):
    from fastapi.testclient import TestClient

    from service.api import app as app_module
    from service.config import Settings

    calls: list[bool] = []
    monkeypatch.setattr(app_module, "release_freed_heap", lambda: calls.append(True) or True)
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'missing' / 'x.db'}")  # no database needed here
    with TestClient(app_module.create_app(settings, pipeline=_Pipeline())):  # type: ignore[arg-type]
        assert calls == [True]  # once the models are loaded, before the first request


def test_every_scored_chunk_gives_back_what_it_freed(monkeypatch):
    """Local jobs, server jobs and Ray workers all score through ``score_rows``; each chunk's freed buffers go
    back to the system before the next chunk, after the pipeline ran (a chunk of only bad rows runs nothing)."""
    from service.batch import scoring
    from service.batch.columns import ColumnMapping

    calls: list[str] = []

    class Erroring:
        def analyze_with_inputs(self, comments, themes=None):
            calls.append(f"analyze {len(comments)}")
            raise RuntimeError("no model here")

    monkeypatch.setattr(scoring, "release_freed_heap", lambda: calls.append("trim") or True)
    mapping = ColumnMapping(text="text", id="id")
    out = scoring.score_rows(Erroring(), mapping, [(0, {"id": "a", "text": "Bra"}, None)])  # type: ignore[arg-type]
    assert [r["status"] for r in out] == ["error"]
    assert calls == ["analyze 1", "trim"]
    calls.clear()
    scoring.score_rows(Erroring(), mapping, [(1, {"id": "b", "text": ""}, "empty text")])  # type: ignore[arg-type]
    assert calls == []
