"""Streaming readers: one :class:`SourceRow` at a time, whatever the format, in bounded memory.

A row that cannot be parsed (wrong field count, invalid JSON) is yielded with ``problem`` set,
never skipped, so that it is reported in the output like any other bad row. Undecodable bytes
are kept as lone surrogates (``surrogateescape``) so that text validation reports them per row.
Only defects of the file as a whole (not a Parquet file, a corrupt workbook, no header) raise
:class:`MalformedFile`.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any

from service.batch.formats import MalformedFile

# Larger than any comment we accept, so that an over-long field becomes a per-row "too long"
# report from text validation rather than a csv.Error for the file.
_CSV_FIELD_LIMIT = 64 * 1024 * 1024
_MAX_CONSECUTIVE_PARSE_ERRORS = 1000


@dataclass(frozen=True)
class SourceRow:
    record: dict[str, Any]
    problem: str | None = None


def normalize(value: Any) -> Any:
    """Turn a cell into a JSON-storable value (dates as ISO strings; kinds are tracked separately)."""
    if value is None or isinstance(value, (str, bool, int, float)):
        if isinstance(value, float) and value != value:  # NaN -> missing
            return None
        return value
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="surrogateescape")
    if isinstance(value, dict):
        return {str(k): normalize(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [normalize(v) for v in value]
    return str(value)


def kind_of(value: Any) -> str | None:
    """The column kind a raw cell suggests (None for missing)."""
    if value is None or (isinstance(value, float) and value != value):
        return None
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, (float, Decimal)):
        return "float"
    if isinstance(value, datetime):
        return "datetime"
    if isinstance(value, date):
        return "date"
    if isinstance(value, (dict, list, tuple)):
        return "json"
    return "str"


def _unique_header(names: list[Any]) -> list[str]:
    out: list[str] = []
    seen: set[str] = set()
    for i, raw in enumerate(names):
        name = str(raw).strip() if raw is not None and str(raw).strip() else f"column_{i + 1}"
        base, n = name, 2
        while name in seen:
            name, n = f"{base}_{n}", n + 1
        seen.add(name)
        out.append(name)
    return out


def _codec(encoding: str) -> str:
    """UTF-8 input may start with a byte-order mark (Excel writes one); strip it."""
    return "utf-8-sig" if encoding.lower().replace("_", "-") in ("utf-8", "utf8") else encoding


def read_delimited(path: Path, delimiter: str, encoding: str = "utf-8") -> Iterator[SourceRow]:
    csv.field_size_limit(_CSV_FIELD_LIMIT)
    with open(path, "rb") as raw:
        text = io.TextIOWrapper(raw, encoding=_codec(encoding), errors="surrogateescape", newline="")
        reader = csv.reader(text, delimiter=delimiter)
        try:
            header = next(reader)
        except StopIteration:
            raise MalformedFile("the file is empty (no header row)") from None
        except csv.Error as exc:
            raise MalformedFile(f"cannot parse the header row: {exc}") from None
        if any("\x00" in h for h in header) or any("\udc80" <= ch <= "\udcff" for h in header for ch in h):
            raise MalformedFile("the header row is not UTF-8 text: is this really a delimited text file?")
        header = _unique_header(header)
        errors_in_a_row = 0
        while True:
            try:
                fields = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                errors_in_a_row += 1
                if errors_in_a_row > _MAX_CONSECUTIVE_PARSE_ERRORS:
                    raise MalformedFile(f"not a {delimiter!r}-delimited file: {exc}") from None
                yield SourceRow({}, f"unparseable line near file line {reader.line_num}: {exc}")
                continue
            errors_in_a_row = 0
            if not fields:
                continue  # a blank line holds no data
            record = dict(zip(header, fields))
            problem = None
            if len(fields) != len(header):
                problem = (f"row has {len(fields)} fields but the header has {len(header)} "
                           f"(file line {reader.line_num}; unquoted delimiter or stray quote?)")
                if len(fields) > len(header):
                    record["_extra_fields"] = fields[len(header):]
            yield SourceRow(record, problem)


def read_jsonl(path: Path, encoding: str = "utf-8") -> Iterator[SourceRow]:
    codec = _codec(encoding)
    with open(path, "rb") as raw:
        for lineno, line in enumerate(raw, start=1):
            text = line.decode(codec if lineno == 1 else encoding, errors="surrogateescape").strip()
            if not text:
                continue
            try:
                obj = json.loads(text)
            except json.JSONDecodeError as exc:
                yield SourceRow({}, f"line {lineno}: invalid JSON ({exc.msg} at column {exc.colno})")
                continue
            if not isinstance(obj, dict):
                yield SourceRow({}, f"line {lineno}: expected a JSON object, got {type(obj).__name__}")
                continue
            yield SourceRow({str(k): v for k, v in obj.items()})


def read_parquet(path: Path, batch_rows: int = 2048) -> Iterator[SourceRow]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise MalformedFile(f"not a readable Parquet file: {exc}") from None
    try:
        for batch in pf.iter_batches(batch_size=batch_rows):
            for rec in batch.to_pylist():
                yield SourceRow({str(k): v for k, v in rec.items()})
    except (pa.ArrowInvalid, OSError) as exc:
        raise MalformedFile(f"corrupt Parquet data: {exc}") from None


def read_xlsx(path: Path, sheet: str | None = None) -> Iterator[SourceRow]:
    from openpyxl import load_workbook

    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise MalformedFile(f"not a readable .xlsx workbook: {exc}") from None
    try:
        if sheet is not None:
            if sheet not in wb.sheetnames:
                raise MalformedFile(f"no sheet {sheet!r}; the workbook has {wb.sheetnames}")
            ws = wb[sheet]
        else:
            ws = wb.worksheets[0]
        rows = ws.iter_rows(values_only=True)
        header_cells = next(rows, None)
        if header_cells is None or all(c is None for c in header_cells):
            raise MalformedFile("the sheet is empty (no header row)")
        width = max(i for i, c in enumerate(header_cells) if c is not None) + 1
        header = _unique_header(list(header_cells[:width]))
        for cells in rows:
            if cells is None or all(c is None for c in cells):
                continue  # formatted but empty rows
            record = dict(zip(header, cells[:width]))
            extra = [c for c in cells[width:] if c is not None]
            problem = None
            if extra:
                record["_extra_fields"] = extra
                problem = f"row has {len(extra)} value(s) beyond the header's {width} columns"
            yield SourceRow(record, problem)
    finally:
        wb.close()


def read_rows(path: Path, fmt: str, sheet: str | None = None, encoding: str = "utf-8") -> Iterator[SourceRow]:
    """All data rows of ``path`` in file order (``encoding`` applies to the text formats)."""
    if fmt == "csv":
        return read_delimited(path, ",", encoding)
    if fmt == "tsv":
        return read_delimited(path, "\t", encoding)
    if fmt == "jsonl":
        return read_jsonl(path, encoding)
    if fmt == "parquet":
        return read_parquet(path)
    if fmt == "xlsx":
        return read_xlsx(path, sheet)
    raise ValueError(f"unknown format {fmt}")
