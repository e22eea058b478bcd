"""Batch scoring round-trips every supported format: input columns kept, tp_* columns added."""

from __future__ import annotations

import argparse
import importlib.util
import json
from pathlib import Path

import pytest

from service.batch.cli import run_score
from service.cli import build_parser
from batch_helpers import GOOD, read_frame, sample_frame, write_frame


@pytest.fixture(scope="module")
def pipeline(client):
    return client.app.state.pipeline


def score(pipeline, settings, *argv: str) -> int:
    args: argparse.Namespace = build_parser().parse_args(["score", *argv, "--no-progress"])
    return run_score(args, pipeline=pipeline, settings=settings)


@pytest.mark.parametrize("fmt", ["csv", "tsv", "jsonl", "parquet", "xlsx"])
def test_format_round_trip(fmt, tmp_path: Path, pipeline, settings):
    df = sample_frame(n_good=8, max_chars=settings.max_chars_per_comment)
    src = write_frame(df, tmp_path / f"in.{fmt}")
    out = tmp_path / f"out.{fmt}"
    assert score(pipeline, settings, str(src), "-o", str(out)) == 0
    got = read_frame(out)

    assert len(got) == len(df)
    assert list(got.columns[:3]) == ["id", "text", "nps"]
    assert list(got["id"]) == list(df["id"])
    assert [str(v) for v in got["nps"]] == [str(v) for v in df["nps"]]
    for col in ("tp_status", "tp_error", "tp_language", "tp_sentiment", "tp_sentiment_score", "tp_themes"):
        assert col in got.columns
    by_id = got.set_index("id")
    for i in range(8):
        cid, _, lang = GOOD[i % len(GOOD)]
        row = by_id.loc[f"{cid}-{i}"]
        assert row["tp_status"] == "ok" and row["tp_language"] == lang
        if pipeline.sentiment is not None:
            assert row["tp_sentiment"] in ("negative", "neutral", "positive")
            assert -1.0 <= float(row["tp_sentiment_score"]) <= 1.0
        if pipeline.themes is not None and cid == "en1":  # "The delivery was late ..."
            assert "delivery" in row["tp_theme_ids"].split("; ")
    assert by_id.loc["empty", "tp_status"] == "error" and by_id.loc["empty", "tp_error"]
    assert "limit" in by_id.loc["long", "tp_error"]
    assert (tmp_path / "out.themes.html").exists() and (tmp_path / "out.themes.json").exists()
    assert not Path(f"{out}.tpstate.db").exists()  # state removed after success


def test_parquet_types_are_restored(tmp_path: Path, pipeline, settings):
    df = sample_frame(n_good=3)
    df["when"] = pd_timestamps(len(df))
    df["flag"] = [i % 2 == 0 for i in range(len(df))]
    src = write_frame(df, tmp_path / "in.parquet")
    out = tmp_path / "out.parquet"
    assert score(pipeline, settings, str(src), "-o", str(out)) == 0
    got = read_frame(out)
    assert str(got["nps"].dtype) == "int64" and got["flag"].dtype == bool
    assert list(got["when"]) == list(df["when"])
    assert got["tp_sentiment_score"].dtype.kind == "f" or got["tp_sentiment_score"].isna().all()


def pd_timestamps(n: int):
    import pandas as pd

    return list(pd.date_range("2026-01-01 08:00", periods=n, freq="h"))


def test_cross_format_csv_to_xlsx(tmp_path: Path, pipeline, settings):
    src = write_frame(sample_frame(n_good=4), tmp_path / "in.csv")
    out = tmp_path / "scored.xlsx"
    assert score(pipeline, settings, str(src), "-o", str(out)) == 0
    assert len(read_frame(out)) == 6


@pytest.mark.skipif(importlib.util.find_spec("service.themes") is None, reason="themes library not present")
def test_themes_report_fitted_on_sample_counts_whole_dump(tmp_path: Path, pipeline, settings):
    df = sample_frame(n_good=240)
    src = write_frame(df, tmp_path / "in.csv")
    capped = settings.model_copy(update={"themes_report_max_comments": 100})
    assert score(pipeline, capped, str(src), "-o", str(tmp_path / "out.csv")) == 0
    report = json.loads((tmp_path / "out.themes.json").read_text(encoding="utf-8"))
    assert report["sampled_comments"] == 100  # an even sample of the 240 scored comments
    themes = report["themes"]
    assert themes["n_comments"] == 240  # ... and then every scored comment assigned
    tops = [t for t in themes["themes"] if t["level"] == 1]
    assert sum(t["n_main"] for t in tops) + themes["n_unassigned"] == 240
    text_of = dict(zip(df["id"], df["text"]))
    reps = [r for t in themes["themes"] for rs in t["representative"].values() for r in rs]
    assert reps and all(text_of[r["id"]] == r["text"] and r["clause"] in r["text"] for r in reps)