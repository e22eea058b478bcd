"""Shared helpers for the batch/CLI/jobs tests: sample comments, format writers, pipeline wrappers."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from service.pipeline import AnalysisPipeline

GOOD = [
    ("sv1", "Leveransen kom i tid och personalen var trevlig.", "sv"),
    ("da1", "God service, hurtig levering og venlige medarbejdere.", "da"),
    ("fi1", "Hyvä palvelu ja nopea toimitus, kiitos paljon!", "fi"),
    ("en1", "The delivery was late and nobody answered the phone.", "en"),
]


def sample_frame(n_good: int = 4, max_chars: int = 2000) -> pd.DataFrame:
    """Good comments plus an empty one and an over-long one; ids are unique."""
    rows = []
    for i in range(n_good):
        cid, text, _ = GOOD[i % len(GOOD)]
        rows.append({"id": f"{cid}-{i}", "text": text, "nps": i % 11})
    rows.insert(1, {"id": "empty", "text": "   ", "nps": 5})
    rows.insert(3, {"id": "long", "text": "a" * (max_chars + 1), "nps": 7})
    return pd.DataFrame(rows)


def write_frame(df: pd.DataFrame, path: Path) -> Path:
    fmt = path.suffix.lstrip(".")
    if fmt == "csv":
        df.to_csv(path, index=False)
    elif fmt == "tsv":
        df.to_csv(path, index=False, sep="\t")
    elif fmt == "jsonl":
        path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in df.to_dict("records")),
                        encoding="utf-8")
    elif fmt == "parquet":
        df.to_parquet(path, index=False)
    elif fmt == "xlsx":
        df.to_excel(path, index=False)
    else:
        raise ValueError(fmt)
    return path


def read_frame(path: Path) -> pd.DataFrame:
    fmt = path.suffix.lstrip(".")
    if fmt in ("csv", "tsv"):
        return pd.read_csv(path, sep="," if fmt == "csv" else "\t", dtype=str, keep_default_na=False)
    if fmt == "jsonl":
        return pd.read_json(path, lines=True, dtype=False)
    if fmt == "parquet":
        return pd.read_parquet(path)
    return pd.read_excel(path, dtype=object)


class SimulatedCrash(BaseException):
    """Stands in for a kill: not an Exception, so nothing on the way up handles it."""


class CountingPipeline:
    """Wraps the real pipeline: counts analysis calls and optionally dies on call number ``crash_on``."""

    def __init__(self, inner: AnalysisPipeline, crash_on: int | None = None,
                 exc: type[BaseException] = SimulatedCrash) -> None:
        self.inner, self.crash_on, self.exc = inner, crash_on, exc
        self.calls = 0
        self.rows = 0

    def __getattr__(self, name: str):  # validate, components, settings, ...
        return getattr(self.inner, name)

    def analyze_with_inputs(self, comments, reasons=None, **options):
        self.calls += 1
        if self.crash_on is not None and self.calls >= self.crash_on:
            raise self.exc("simulated interruption")
        self.rows += len(comments)
        return self.inner.analyze_with_inputs(comments, reasons, **options)

    def analyze(self, comments, reasons=None, **options):
        return self.analyze_with_inputs(comments, reasons, **options)[0]
