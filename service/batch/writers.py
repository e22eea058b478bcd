"""Write scored rows: the input's columns (types restored) followed by the ``tp_*`` result columns.

Writers consume an iterator of row batches (bounded memory) and write to a temporary file that
is renamed into place only when complete, so a crash never leaves a half-written output.
"""

from __future__ import annotations

import csv
import json
import os
import re
from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from service.batch.ingest import REDACTED_KEY
from service.storage import ExportRow

TP_COLUMNS = [
    "tp_row", "tp_status", "tp_error", "tp_language", "tp_language_confidence", "tp_sentiment",
    "tp_sentiment_score", "tp_p_negative", "tp_p_neutral", "tp_p_positive", "tp_themes", "tp_theme_ids",
    "tp_redacted",  # PII spans replaced in the row before it was stored; empty = ingested without redaction
]
_TP_KINDS = {"tp_row": "int", "tp_language_confidence": "float", "tp_sentiment_score": "float",
             "tp_p_negative": "float", "tp_p_neutral": "float", "tp_p_positive": "float", "tp_redacted": "int"}
_SURROGATES = re.compile("[\ud800-\udfff]")
_XLSX_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_XLSX_MAX_CELL = 32767
_XLSX_MAX_ROWS = 1_048_576


def clean_text(s: str) -> str:
    """Undecodable input bytes (kept as lone surrogates) become U+FFFD so every format can encode them."""
    return _SURROGATES.sub("\ufffd", s)


def flatten(row: ExportRow) -> dict[str, Any]:
    """Input record + result columns; a row not scored (failed job) is marked 'pending'."""
    out = {k: v for k, v in row.record.items() if k != REDACTED_KEY}
    r = row.result
    tp: dict[str, Any] = dict.fromkeys(TP_COLUMNS)
    tp["tp_row"] = row.row_idx + 1
    tp["tp_redacted"] = row.record.get(REDACTED_KEY)
    if r is None:
        tp["tp_status"] = "pending"
        tp["tp_error"] = row.problem
    else:
        themes = r["themes"]
        tp.update({
            "tp_status": r["status"], "tp_error": r["error"], "tp_language": r["language"],
            "tp_language_confidence": r["language_confidence"], "tp_sentiment": r["sentiment"],
            "tp_sentiment_score": r["sentiment_score"], "tp_p_negative": r["p_negative"],
            "tp_p_neutral": r["p_neutral"], "tp_p_positive": r["p_positive"],
            "tp_themes": "; ".join(t.get("label") or t["theme_id"] for t in themes) if r["status"] == "ok" else None,
            "tp_theme_ids": "; ".join(t["theme_id"] for t in themes) if r["status"] == "ok" else None,
        })
    out.update(tp)
    return out


def output_columns(input_columns: list[list[str]]) -> list[tuple[str, str]]:
    cols = [(n, k) for n, k in input_columns if n not in _TP_KINDS and n not in TP_COLUMNS]
    if any(n == "_extra_fields" for n, _ in cols):
        cols = [(n, "json" if n == "_extra_fields" else k) for n, k in cols]
    return cols + [(n, _TP_KINDS.get(n, "str")) for n in TP_COLUMNS]


def _as_text(v: Any) -> str | None:
    if v is None:
        return None
    if isinstance(v, (dict, list)):
        return clean_text(json.dumps(v, ensure_ascii=False))
    if isinstance(v, bool):
        return "true" if v else "false"
    return clean_text(str(v))


def _typed(v: Any, kind: str) -> Any:
    """A stored (JSON) value back as its column's type for typed formats (Parquet, Excel)."""
    if v is None or (isinstance(v, str) and v == "" and kind not in ("str", "json")):
        return None
    try:
        if kind == "int":
            return int(v)
        if kind == "float":
            return float(v)
        if kind == "bool":
            return v if isinstance(v, bool) else str(v).lower() in ("true", "1")
        if kind == "datetime":
            return datetime.fromisoformat(v) if isinstance(v, str) else v
        if kind == "date":
            return date.fromisoformat(v) if isinstance(v, str) else v
    except (TypeError, ValueError):
        return None
    return _as_text(v)


class _AtomicPath:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.tmp = path.with_name(f".{path.name}.partial")

    def commit(self) -> None:
        os.replace(self.tmp, self.path)

    def abort(self) -> None:
        self.tmp.unlink(missing_ok=True)


def _rows(batches: Iterable[list[ExportRow]]) -> Iterator[list[dict[str, Any]]]:
    for batch in batches:
        yield [flatten(r) for r in batch]


def _write_delimited(tmp: Path, cols: list[tuple[str, str]], batches: Iterable[list[ExportRow]], delim: str) -> int:
    n = 0
    names = [c for c, _ in cols]
    with open(tmp, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, delimiter=delim)
        w.writerow(names)
        for rows in _rows(batches):
            for row in rows:
                w.writerow(["" if (v := _as_text(row.get(c))) is None else v for c in names])
            n += len(rows)
    return n


def _write_jsonl(tmp: Path, cols: list[tuple[str, str]], batches: Iterable[list[ExportRow]]) -> int:
    n = 0
    with open(tmp, "w", encoding="utf-8") as f:
        for rows in _rows(batches):
            for row in rows:
                line = json.dumps(row, ensure_ascii=False, default=str)
                f.write(clean_text(line) + "\n")
            n += len(rows)
    return n


def _arrow_type(kind: str):  # type: ignore[no-untyped-def]
    import pyarrow as pa

    return {"int": pa.int64(), "float": pa.float64(), "bool": pa.bool_(), "datetime": pa.timestamp("us"),
            "date": pa.date32()}.get(kind, pa.string())


def _write_parquet(tmp: Path, cols: list[tuple[str, str]], batches: Iterable[list[ExportRow]]) -> int:
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = pa.schema([(c, _arrow_type(k)) for c, k in cols])
    n = 0
    with pq.ParquetWriter(tmp, schema) as w:
        for rows in _rows(batches):
            data = {}
            for c, k in cols:
                vals = [_typed(r.get(c), k) for r in rows]
                if k == "datetime":
                    vals = [v.astimezone(UTC).replace(tzinfo=None) if isinstance(v, datetime) and v.tzinfo else v
                            for v in vals]
                data[c] = vals
            w.write_table(pa.Table.from_pydict(data, schema=schema))
            n += len(rows)
    return n


def _xlsx_cell(v: Any) -> Any:
    if isinstance(v, str):
        v = _XLSX_ILLEGAL.sub("\ufffd", v)
        return v if len(v) <= _XLSX_MAX_CELL else v[: _XLSX_MAX_CELL - 1] + "…"
    if isinstance(v, datetime) and v.tzinfo is not None:  # Excel has no time zones: store UTC
        return v.astimezone(UTC).replace(tzinfo=None)
    return v


def _write_xlsx(tmp: Path, cols: list[tuple[str, str]], batches: Iterable[list[ExportRow]]) -> int:
    """Excel holds 1,048,576 rows per sheet: longer outputs continue on sheets 'results_2', ..."""
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    names = [c for c, _ in cols]
    n = 0
    sheet_no, in_sheet = 1, _XLSX_MAX_ROWS
    ws = None
    for rows in _rows(batches):
        for row in rows:
            if in_sheet >= _XLSX_MAX_ROWS:
                ws = wb.create_sheet("results" if sheet_no == 1 else f"results_{sheet_no}")
                ws.append(names)
                sheet_no, in_sheet = sheet_no + 1, 1
            ws.append([_xlsx_cell(_typed(row.get(c), k)) for c, k in cols])
            in_sheet += 1
        n += len(rows)
    if ws is None:
        wb.create_sheet("results").append(names)
    wb.save(tmp)
    return n


def write_output(path: Path, fmt: str, input_columns: list[list[str]], batches: Iterable[list[ExportRow]]) -> int:
    """Write every row to ``path`` atomically; returns the number of data rows written."""
    cols = output_columns(input_columns)
    target = _AtomicPath(Path(path))
    try:
        if fmt in ("csv", "tsv"):
            n = _write_delimited(target.tmp, cols, batches, "," if fmt == "csv" else "\t")
        elif fmt == "jsonl":
            n = _write_jsonl(target.tmp, cols, batches)
        elif fmt == "parquet":
            n = _write_parquet(target.tmp, cols, batches)
        elif fmt == "xlsx":
            n = _write_xlsx(target.tmp, cols, batches)
        else:
            raise ValueError(f"unknown format {fmt}")
    except BaseException:
        target.abort()
        raise
    target.commit()
    return n
