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
