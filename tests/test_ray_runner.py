"""``touchpoints score --engine ray`` in Ray local mode: the local runner's rows, exactly once, resumable (#11)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from batch_helpers import sample_frame, write_frame
from service.batch.cli import run_score
from service.cli import build_parser

ray = pytest.importorskip("ray", reason="Ray is an optional extra: pip install '.[ray]'")


@pytest.fixture(scope="module")
def ray_local():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False,
             _node_ip_address="127.0.0.1")
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def pipeline(client):
    return client.app.state.pipeline


def score(settings, *argv: str, pipeline=None) -> int:
    return run_score(build_parser().parse_args(["score", *argv, "--no-progress"]), pipeline=pipeline,
                     settings=settings)


def test_ray_rows_match_the_local_runner_and_resume_exactly_once(tmp_path: Path, ray_local, pipeline, settings,
                                                                   capsys):
    src = write_frame(sample_frame(n_good=22), tmp_path / "survey.csv")  # 24 rows: 2 rejected, 22 scored
    local, out = tmp_path / "local.parquet", tmp_path / "ray.parquet"
    assert score(settings, str(src), "-o", str(local), "--meta", "score=nps", "--no-report", pipeline=pipeline) == 0
    args = [str(src), "-o", str(out), "--meta", "score=nps", "--engine", "ray", "--workers", "2", "--block-rows", "10"]
    assert score(settings, *args, "--keep-state") == 0
    err = capsys.readouterr().err
    assert "2 workers x 1 threads, 3 blocks of 10 rows" in err and "wrote 24 rows" in err and "2 rejected" in err

    a, b = pd.read_parquet(local), pd.read_parquet(out)
    assert list(b.columns) == list(a.columns)
    assert list(b["tp_row"]) == list(range(1, 25)) and list(b["id"]) == list(a["id"])
    for col in ("tp_status", "tp_error", "tp_language", "tp_sentiment", "tp_themes", "tp_theme_ids"):
        assert list(b[col]) == list(a[col]), col
    pd.testing.assert_series_equal(b["tp_sentiment_score"], a["tp_sentiment_score"], atol=1e-4)

    report = json.loads((tmp_path / "ray.themes.json").read_text(encoding="utf-8"))
    assert report["rows"] == 24 and report["errors"] == 2 and report["scored"] == 22
    assert report["themes"]["n_comments"] == 22 and report["themes"]["themes"]
    assert report["sampled_comments"] == 22  # under themes_report_max_comments: the whole dump is the sample

    # a driver killed after block 0: blocks 1-2 lost, a half-written part left behind
    state = tmp_path / "ray.parquet.tpray"
    for i in (1, 2):
        for suffix in (".parquet", ".units.parquet", ".themes.json"):
            (state / "parts" / f"block-00000{i}{suffix}").unlink()
    (state / "parts" / ".block-000001.parquet.partial").write_bytes(b"half a file")
    out.unlink()
    assert score(settings, *args) == 0
    err = capsys.readouterr().err
    assert "resuming: 1 of 3 blocks already scored" in err
    c = pd.read_parquet(out)
    assert list(c["tp_row"]) == list(range(1, 25))  # every row exactly once
    pd.testing.assert_frame_equal(c, b, atol=1e-4)
    assert not state.exists()  # removed after success without --keep-state


def test_ray_engine_writes_parquet_only(tmp_path: Path, settings, capsys):
    src = write_frame(sample_frame(), tmp_path / "survey.csv")
    assert score(settings, str(src), "-o", str(tmp_path / "out.csv"), "--engine", "ray") == 2
    assert "--engine ray writes Parquet" in capsys.readouterr().err
