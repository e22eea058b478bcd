"""Ingest an input file into a stored dataset: every row (bad ones included) plus column kinds.

Both the CLI and the API ingest before scoring, so that scoring reads rows from the database
by index: a resume restarts exactly at the committed cursor whatever the input format, and an
accepted upload survives a server restart.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from pathlib import Path

from service.batch.columns import ColumnMapping
from service.batch.formats import MalformedFile
from service.batch.readers import kind_of, normalize, read_rows
from service.storage import Repository
from service.storage.models import Dataset

log = logging.getLogger(__name__)

_KIND_MERGE_NUMERIC = {"int", "float"}


class ColumnTracker:
    """Column names in first-seen order and the kinds of value seen in each (to restore types on output)."""

    def __init__(self) -> None:
        self.kinds: dict[str, set[str]] = {}

    def observe(self, record: dict) -> None:
        for name, value in record.items():
            k = kind_of(value)
            seen = self.kinds.setdefault(name, set())
            if k is not None:
                seen.add(k)

    def columns(self) -> list[list[str]]:
        out = []
        for name, kinds in self.kinds.items():
            if len(kinds) == 1:
                kind = next(iter(kinds))
            elif kinds and kinds <= _KIND_MERGE_NUMERIC:
                kind = "float"
            elif kinds == {"datetime", "date"}:
                kind = "datetime"
            else:
                kind = "str"  # mixed or all-null: text is the one type that holds everything
            out.append([name, kind])
        return out


def file_fingerprint(path: Path, mapping: ColumnMapping, sheet: str | None = None, encoding: str = "utf-8") -> str:
    """Size + head/tail hash + reading options: tells a resumable state apart from a changed input."""
    h = hashlib.sha256()
    size = path.stat().st_size
    h.update(f"{size}|{mapping.to_dict()}|{sheet}|{encoding}".encode())
    with open(path, "rb") as f:
        h.update(f.read(1 << 20))
        if size > 2 << 20:
            f.seek(size - (1 << 20))
            h.update(f.read())
    return h.hexdigest()


def ingest_file(
    repo: Repository, path: Path, fmt: str, mapping: ColumnMapping, *, name: str | None = None,
    sheet: str | None = None, encoding: str = "utf-8", fingerprint: str | None = None, chunk_rows: int = 2000,
    progress: Callable[[int], None] | None = None,
) -> Dataset:
    """Store every row of ``path``; raises MalformedFile/MappingError (and stores nothing) if unusable."""
    ds = repo.create_dataset(name or path.name, fmt, mapping.to_dict(), fingerprint)
    tracker = ColumnTracker()
    n = n_problems = 0
    buf: list[tuple[int, dict, str | None]] = []
    try:
        for row in read_rows(path, fmt, sheet, encoding):
            tracker.observe(row.record)
            buf.append((n, {k: normalize(v) for k, v in row.record.items()}, row.problem))
            n += 1
            n_problems += row.problem is not None
            if len(buf) >= chunk_rows:
                repo.add_rows(ds.id, buf)
                if progress:
                    progress(len(buf))
                buf = []
        repo.add_rows(ds.id, buf)
        if progress and buf:
            progress(len(buf))
        if n == 0:
            raise MalformedFile("the file has no data rows")
        columns = tracker.columns()
        resolved_mapping = mapping.resolve([c for c, _ in columns if c != "_extra_fields"])
    except BaseException:  # unusable file or interrupted ingest: leave nothing half-stored
        repo.delete_dataset(ds.id)
        raise
    repo.finish_dataset(ds.id, n, n_problems, columns, resolved_mapping.to_dict())
    log.info("ingested %s: %d rows (%d unparseable) as dataset %s", path.name, n, n_problems, ds.id)
    return repo.get_dataset(ds.id)
