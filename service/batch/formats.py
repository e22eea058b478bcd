"""File formats the batch scorer reads and writes, chosen by extension (or named explicitly)."""

from __future__ import annotations

from pathlib import Path

FORMATS = ("csv", "tsv", "jsonl", "parquet", "xlsx")
_BY_SUFFIX = {
    ".csv": "csv", ".tsv": "tsv", ".tab": "tsv", ".jsonl": "jsonl", ".ndjson": "jsonl",
    ".parquet": "parquet", ".pq": "parquet", ".xlsx": "xlsx", ".xlsm": "xlsx",
}
_HINTS = {
    ".xls": "legacy .xls workbooks are not supported; save as .xlsx",
    ".json": "a single JSON document is not streamable; use JSON Lines (.jsonl, one object per line)",
}


class UnsupportedFormat(ValueError):
    """The file's format cannot be read or written; ``str(exc)`` says what is supported."""


class MalformedFile(ValueError):
    """The file claims a supported format but cannot be parsed as a whole (per-row defects are not this)."""


def detect_format(filename: str | Path, explicit: str | None = None) -> str:
    if explicit:
        fmt = explicit.lower().lstrip(".")
        fmt = {"excel": "xlsx", "ndjson": "jsonl", "pq": "parquet"}.get(fmt, fmt)
        if fmt not in FORMATS:
            raise UnsupportedFormat(f"format {explicit!r} is not supported; use one of {', '.join(FORMATS)}")
        return fmt
    name = str(filename).lower()
    if name.endswith(".gz") or name.endswith(".zip"):
        raise UnsupportedFormat("compressed files are not supported; decompress first")
    suffix = Path(name).suffix
    if suffix in _BY_SUFFIX:
        return _BY_SUFFIX[suffix]
    hint = _HINTS.get(suffix, f"use one of {', '.join(FORMATS)} (by extension, or name the format)")
    raise UnsupportedFormat(f"cannot tell the format of {Path(str(filename)).name!r}: {hint}")
