"""Ingest an input file into a stored dataset: every row (bad ones included) plus column kinds.

Both the CLI and the API ingest before scoring, so that scoring reads rows from the database
by index: a resume restarts exactly at the committed cursor whatever the input format, and an
accepted upload survives a server restart.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from service import pii
from service.batch.columns import ColumnMapping, MappingError
from service.batch.formats import MalformedFile
from service.batch.readers import kind_of, normalize, read_rows
from service.storage import Repository
from service.storage.models import Dataset

log = logging.getLogger(__name__)

_KIND_MERGE_NUMERIC = {"int", "float"}
# Stored with each record of a dataset ingested with redaction: the PII spans replaced in it (the
# export's tp_redacted column). Added after the column kinds are observed, so it is no input column.
REDACTED_KEY = "_tp_redacted"


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


class Redactor:
    """Replaces PII (:mod:`service.pii`) in each record before it is stored: in the text column, and in
    every cell of a row the reader could not parse (its text may have shifted into any column)."""

    def __init__(self, mapping: ColumnMapping) -> None:
        self.mapping = mapping
        self.column: str | None = None  # the text column, resolved on the first row that has it
        self.spans = 0

    def _text_column(self, record: dict) -> str | None:
        if self.column is None:
            try:
                self.column = ColumnMapping(text=self.mapping.text).resolve(list(record)).text
            except MappingError:
                return None
        return self.column

    def __call__(self, record: dict, problem: str | None) -> dict:
        n = 0
        if problem is not None:
            record, n = _redact_cells(record)
        elif (col := self._text_column(record)) is not None and isinstance(record.get(col), (str, int, float)):
            value = record[col]
            red = pii.redact(value if isinstance(value, str) else str(value))
            if red.count:
                record, n = {**record, col: red.text}, red.count
        self.spans += n
        return {**record, REDACTED_KEY: n}

    def check(self, resolved: ColumnMapping) -> None:
        """The column redacted must be the one scored (a JSONL file's first rows could lack it)."""
        if self.column is not None and self.column != resolved.text:
            raise MappingError(f"redaction used the first rows' text column {self.column!r} but the file's text "
                               f"column is {resolved.text!r}; name the text column explicitly")


def _redact_cells(value: object) -> tuple[object, int]:
    if isinstance(value, str):
        red = pii.redact(value)
        return red.text, red.count
    if isinstance(value, dict):
        out, n = {}, 0
        for k, v in value.items():
            out[k], m = _redact_cells(v)
            n += m
        return out, n
    if isinstance(value, list):
        items = [_redact_cells(v) for v in value]
        return [v for v, _ in items], sum(m for _, m in items)
    return value, 0


def file_fingerprint(path: Path, mapping: ColumnMapping, sheet: str | None = None, encoding: str = "utf-8",
                     redact: bool = False) -> str:
    """Size + head/tail hash + reading options: tells a resumable state apart from a changed input."""
    h = hashlib.sha256()
    size = path.stat().st_size
    h.update(f"{size}|{mapping.to_dict()}|{sheet}|{encoding}{'|redact' if redact else ''}".encode())
    with open(path, "rb") as f:
        h.update(f.read(1 << 20))
        if size > 2 << 20:
            f.seek(size - (1 << 20))
            h.update(f.read())
    return h.hexdigest()


class RowStream:
    """The input's rows as stored: normalised, redacted when asked; then the columns they showed.

    Iterate it once (``(row_idx, record, problem)``), then :meth:`finish` gives the column kinds and
    the mapping resolved against them (raises MalformedFile/MappingError if the file is unusable).
    Shared by ``ingest_file`` (rows into the database) and the Ray runner (rows into Parquet blocks).
    """

    def __init__(self, path: Path, fmt: str, mapping: ColumnMapping, *, sheet: str | None = None,
                 encoding: str = "utf-8", redact: bool = False) -> None:
        self.path, self.fmt, self.mapping, self.sheet, self.encoding = path, fmt, mapping, sheet, encoding
        self.tracker = ColumnTracker()
        self.redactor = Redactor(mapping) if redact else None
        self.rows = self.problems = 0

    def __iter__(self) -> Iterator[tuple[int, dict, str | None]]:
        for row in read_rows(self.path, self.fmt, self.sheet, self.encoding):
            self.tracker.observe(row.record)
            record = {k: normalize(v) for k, v in row.record.items()}
            if self.redactor is not None:
                record = self.redactor(record, row.problem)
            yield self.rows, record, row.problem
            self.rows += 1
            self.problems += row.problem is not None

    def finish(self) -> tuple[list[list[str]], dict[str, Any]]:
        """(column kinds, the resolved mapping as stored: with the redaction count when redacting)."""
        if self.rows == 0:
            raise MalformedFile("the file has no data rows")
        columns = self.tracker.columns()
        resolved = self.mapping.resolve([c for c, _ in columns if c != "_extra_fields"])
        stored = resolved.to_dict()
        if self.redactor is not None:
            self.redactor.check(resolved)
            stored["redaction"] = {"spans": self.redactor.spans}  # ColumnMapping.from_dict ignores it
        return columns, stored


def ingest_file(
    repo: Repository, path: Path, fmt: str, mapping: ColumnMapping, *, name: str | None = None,
    sheet: str | None = None, encoding: str = "utf-8", fingerprint: str | None = None, chunk_rows: int = 2000,
    progress: Callable[[int], None] | None = None, redact: bool = False,
) -> Dataset:
    """Store every row of ``path``; raises MalformedFile/MappingError (and stores nothing) if unusable.

    ``redact``: personal data in the text column (all cells of unparseable rows) is replaced by
    placeholders before the row is stored; the original text is never written to the database.
    """
    ds = repo.create_dataset(name or path.name, fmt, mapping.to_dict(), fingerprint)
    stream = RowStream(path, fmt, mapping, sheet=sheet, encoding=encoding, redact=redact)
    buf: list[tuple[int, dict, str | None]] = []
    try:
        for row in stream:
            buf.append(row)
            if len(buf) >= chunk_rows:
                repo.add_rows(ds.id, buf)
                if progress:
                    progress(len(buf))
                buf = []
        repo.add_rows(ds.id, buf)
        if progress and buf:
            progress(len(buf))
        columns, stored_mapping = stream.finish()
    except BaseException:  # unusable file or interrupted ingest: leave nothing half-stored
        repo.delete_dataset(ds.id)
        raise
    repo.finish_dataset(ds.id, stream.rows, stream.problems, columns, stored_mapping)
    redactor = stream.redactor
    log.info("ingested dataset %s: %d rows (%d unparseable%s)", ds.id, stream.rows, stream.problems,
             f", {redactor.spans} PII spans redacted" if redactor is not None else "")
    return repo.get_dataset(ds.id)
