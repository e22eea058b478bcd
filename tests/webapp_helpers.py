"""Shared by the web app tests: a small multilingual survey dump and the app's settings."""

from __future__ import annotations

import csv
from pathlib import Path

from training.themes_data import load_parallel

TEXTS, LANGS, GOLD, GROUPS = load_parallel()
PICK = ["p01", "p02", "p05", "p06", "p16", "p17", "p19", "p29", "p30", "p33", "p47", "p48"]


def write_dump(path: Path) -> Path:
    """48 comments with an NPS column (delivery complaints are detractors) and a date column."""
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["RespondentID", "Answer", "NPS", "Date"])
        k = 0
        for text, lang, gold, group in zip(TEXTS, LANGS, GOLD, GROUPS):
            if group in PICK:
                w.writerow([f"{group}-{lang}", text, 2 if gold == "delivery" else (10, 9, 8, 4)[k % 4],
                            f"2024-0{1 + k % 4}-15"])
                k += 1
    return path


def app_settings(settings, db: Path):
    return settings.model_copy(update={"database_url": f"sqlite:///{db}", "job_poll_seconds": 0.05,
                                       "batch_chunk_rows": 20})
