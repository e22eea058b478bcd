"""The installed command line: ``python -m service score`` end to end in a fresh process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from batch_helpers import read_frame, sample_frame, write_frame

REPO = Path(__file__).resolve().parent.parent


def test_score_subcommand_end_to_end(tmp_path: Path):
    df = sample_frame(n_good=40)
    src = write_frame(df, tmp_path / "survey.csv")
    out = tmp_path / "scored.jsonl"
    proc = subprocess.run(
        [sys.executable, "-m", "service", "score", str(src), "-o", str(out), "--meta", "score=nps",
         "--chunk-rows", "10"],
        cwd=REPO, capture_output=True, text=True, timeout=300,
        env={**os.environ, "TOUCHPOINTS_MAX_CHARS_PER_COMMENT": "2000"},
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "scoring: 100%" in proc.stderr and "rows/s" in proc.stderr  # progress bar with rate (and ETA)
    assert "wrote 42 rows" in proc.stderr and "2 rejected" in proc.stderr
    got = read_frame(out)
    assert list(got["id"]) == list(df["id"])
    report = json.loads((tmp_path / "scored.themes.json").read_text(encoding="utf-8"))
    assert report["rows"] == 42 and report["errors"] == 2
    assert report["themes"]["n_comments"] == 40 and report["themes"]["themes"], report["note"]
    html = (tmp_path / "scored.themes.html").read_text(encoding="utf-8")
    assert "<svg" in html and "<script" not in html and "https://" not in html
    assert (tmp_path / "scored.themes.csv").read_text(encoding="utf-8").startswith("section,")


def test_score_reports_unusable_input(tmp_path: Path):
    bad = tmp_path / "bad.parquet"
    bad.write_bytes(b"not parquet at all")
    proc = subprocess.run([sys.executable, "-m", "service", "score", str(bad), "-o", str(tmp_path / "o.csv")],
                          cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "not a readable Parquet file" in proc.stderr
