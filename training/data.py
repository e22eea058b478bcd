"""Readers for ../shared/data and the deterministic split every script uses.

Splits are a function of the row's stable key (dataset name + row id) only, so a row
lands in the same split on every machine, in every run, whatever else changes.
"""

from __future__ import annotations

import csv
import hashlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = Path(os.environ.get("TOUCHPOINTS_DATA_DIR", REPO_ROOT.parent / "shared" / "data"))

csv.field_size_limit(sys.maxsize)


def split_of(key: str, dev: float = 0.1, test: float = 0.1) -> str:
    """'train' | 'dev' | 'test' from a stable hash of ``key`` (never random state)."""
    bucket = int.from_bytes(hashlib.sha1(key.encode("utf-8")).digest()[:8], "big") / 2**64
    if bucket < test:
        return "test"
    if bucket < test + dev:
        return "dev"
    return "train"


def read_tsv(relpath: str) -> Iterator[dict[str, str]]:
    """Rows of a shared TSV as dicts (header row, UTF-8, no quoting)."""
    path = DATA_DIR / relpath
    with path.open(encoding="utf-8", newline="") as fh:
        yield from csv.DictReader(fh, delimiter="\t", quoting=csv.QUOTE_NONE)
