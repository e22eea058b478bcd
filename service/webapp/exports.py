"""Downloads of the current view: the overview's theme table and a theme's comments, as CSV or XLSX.

Both formats get the same header and rows. Text cells that a spreadsheet would run as a formula
(starting with = + - @) get a leading quote (``views.csv_cell``), in XLSX too: openpyxl would store
them as formulas. CSV streams; XLSX is built with openpyxl's write-only workbook (rows are not kept).
"""

from __future__ import annotations

import csv
import io
import tempfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from fastapi.responses import Response, StreamingResponse
from openpyxl import Workbook

from service.themes.report import SENTIMENT_LABELS
from service.webapp.views import csv_cell

FORMATS = ("csv", "xlsx")
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
THEME_HEADER = ["theme_id", "parent_id", "level", "theme", "touchpoint", "discovered", "edited", "comments",
                "share", "main_theme_of", *[f"mentions_{k}" for k in SENTIMENT_LABELS], "impact", "trend"]


def theme_cells(rows: Iterable[Mapping[str, Any]]) -> Iterator[list[Any]]:
    """The overview table's rows (``views.theme_table``) as export rows, in the order shown."""
    for r in rows:
        yield [r["theme_id"], r["parent_id"] or "", r["level"], r["label"], r["touchpoint"] or "",
               "yes" if r["discovered"] else "no", "yes" if r["edited"] else "no", r["size"], round(r["share"], 4),
               r["main"] if r["level"] == 1 else "", *[r["mix"][k] for k in SENTIMENT_LABELS], r["impact"] or "",
               r["trend"] or ""]


def _csv(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> Iterator[str]:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(header)
    for k, row in enumerate(rows, 1):
        w.writerow([csv_cell(c) for c in row])
        if k % 2000 == 0:
            yield buf.getvalue()
            buf.seek(0)
            buf.truncate()
    yield buf.getvalue()


def xlsx_bytes(header: Sequence[str], rows: Iterable[Sequence[Any]], sheet: str) -> bytes:
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(sheet[:31])
    ws.append(list(header))
    for row in rows:
        ws.append([csv_cell(c) for c in row])
    with tempfile.SpooledTemporaryFile(max_size=32 * 1024 * 1024) as f:
        wb.save(f)
        f.seek(0)
        return f.read()


def response(fmt: str, stem: str, header: Sequence[str], rows: Iterable[Sequence[Any]], sheet: str) -> Response:
    filename = f"{stem}.{fmt}".encode("ascii", "replace").decode().replace('"', "").replace("\n", " ")
    disposition = {"Content-Disposition": f'attachment; filename="{filename}"'}
    if fmt == "xlsx":
        return Response(xlsx_bytes(header, rows, sheet), media_type=XLSX_TYPE, headers=disposition)
    return StreamingResponse(_csv(header, rows), media_type="text/csv; charset=utf-8", headers=disposition)
