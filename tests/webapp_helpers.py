"""Shared by the web app tests: a small multilingual survey dump and the app's settings."""

from __future__ import annotations

import csv
import time
from pathlib import Path

from fastapi.testclient import TestClient

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


DUMP_FIELDS = {"text_column": "Answer", "id_column": "RespondentID", "metadata_columns": "score=NPS,timestamp=Date"}


def upload_and_wait(c: TestClient, path: Path, fields: dict | None = None, timeout: float = 120) -> str:
    with path.open("rb") as f:
        r = c.post("/v1/jobs/upload", files={"file": (path.name, f, "text/csv")},
                   data=DUMP_FIELDS if fields is None else fields)
    assert r.status_code == 202, r.text
    job_id = r.json()["id"]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body = c.get(f"/v1/jobs/{job_id}").json()
        if body["status"] in ("completed", "failed"):
            assert body["status"] == "completed", body
            return job_id
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} did not finish in {timeout}s")


def report(c: TestClient, job_id: str) -> dict:
    r = c.get(f"/v1/jobs/{job_id}/themes")
    assert r.status_code == 200, r.text
    return r.json()


def tops(rep: dict) -> list[dict]:
    return [t for t in rep["themes"]["themes"] if t["level"] == 1]


def links_to_theme(page: str, job_id: str, theme_id: str) -> bool:
    return f'href="/app/jobs/{job_id}/themes/{theme_id}"' in page or f"/app/jobs/{job_id}/themes/{theme_id}?" in page


def wait_fresh(c: TestClient, job_id: str, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = c.get(f"/app/jobs/{job_id}/state").json()
        if state["state"] != "updating":
            return state
        time.sleep(0.1)
    raise AssertionError("the job's themes stayed 'updating'")
