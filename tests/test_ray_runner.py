"""``touchpoints score --engine ray`` in Ray local mode: the local runner's rows, exactly once, resumable (#11)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from batch_helpers import sample_frame, write_frame
from service.batch.cli import run_score
from service.cli import build_parser
from service.themes import ThemeComponents

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
                                                                   capsys, monkeypatch):
    src = write_frame(sample_frame(n_good=22), tmp_path / "survey.csv")  # 24 rows: 2 rejected, 22 scored
    # the workers run the engine the local pipeline runs (the app resolved "auto" to the server's engine)
    settings = settings.model_copy(update={"inference_engine": pipeline.sentiment.engine})
    local, out = tmp_path / "local.parquet", tmp_path / "ray.parquet"
    assert score(settings, str(src), "-o", str(local), "--meta", "score=nps", "--no-report", pipeline=pipeline) == 0
    # 24 rows fit one 100-row block: re-cut into 2 blocks per worker, so that both workers score
    args = [str(src), "-o", str(out), "--meta", "score=nps", "--engine", "ray", "--workers", "2", "--block-rows", "100"]

    def no_encoder_in_the_driver(*_: object, **__: object) -> None:
        raise AssertionError("the Ray driver loaded theme components (an encoder) itself")

    with monkeypatch.context() as m:  # the workers are processes of their own: only the driver is checked
        m.setattr(ThemeComponents, "load", no_encoder_in_the_driver)
        assert score(settings, *args, "--keep-state") == 0
    err = capsys.readouterr().err
    assert "2 workers x 1 threads, 4 blocks of 6 rows" in err and "wrote 24 rows" in err and "2 rejected" in err

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
    assert report["themes"]["model_version"] == pipeline.themes.components.version  # recorded by the fitting worker

    # a driver killed after blocks 0 and 3: blocks 1-2 lost, a half-written part left behind
    state = tmp_path / "ray.parquet.tpray"
    for i in (1, 2):
        for suffix in (".parquet", ".units.parquet", ".themes.json"):
            (state / "parts" / f"block-00000{i}{suffix}").unlink()
    (state / "parts" / ".block-000001.parquet.partial").write_bytes(b"half a file")
    out.unlink()
    assert score(settings, *args) == 0
    err = capsys.readouterr().err
    assert "resuming: 2 of 4 blocks already scored" in err and "4 blocks of 6 rows" in err  # the cut plan kept
    c = pd.read_parquet(out)
    assert list(c["tp_row"]) == list(range(1, 25))  # every row exactly once
    pd.testing.assert_frame_equal(c, b, atol=1e-4)
    assert not state.exists()  # removed after success without --keep-state


def test_ray_engine_writes_parquet_only(tmp_path: Path, settings, capsys):
    src = write_frame(sample_frame(), tmp_path / "survey.csv")
    assert score(settings, str(src), "-o", str(tmp_path / "out.csv"), "--engine", "ray") == 2
    assert "--engine ray writes Parquet" in capsys.readouterr().err


def _staged(tmp_path: Path, src: Path, block_rows: int):
    from service.batch.columns import ColumnMapping  # noqa: PLC0415
    from service.batch.ingest import file_fingerprint  # noqa: PLC0415
    from service.batch.ray_runner import stage  # noqa: PLC0415

    mapping = ColumnMapping()
    state = tmp_path / "state"
    return state, stage(src, "csv", mapping, state, file_fingerprint(src, mapping, None, "utf-8"), block_rows)


def test_a_small_dump_is_cut_finer_once_and_only_before_scoring(tmp_path: Path):
    from service.batch.ray_runner import Plan, _read_staged, cut_finer  # noqa: PLC0415

    src = write_frame(sample_frame(n_good=22), tmp_path / "survey.csv")  # 24 rows
    state, plan = _staged(tmp_path, src, 100)
    assert (plan.blocks, plan.block_rows) == (1, 100)
    before = _read_staged(state, 0)
    plan = cut_finer(state, plan, 5)
    assert (plan.blocks, plan.block_rows, plan.rows) == (5, 5, 24) and Plan.load(state) == plan
    assert [r for i in range(5) for r in _read_staged(state, i)] == before  # every row once, in order
    assert [len(_read_staged(state, i)) for i in range(5)] == [5, 5, 5, 5, 4]
    assert not (state / "input" / "block-000005.parquet").exists()
    # the same command again reuses the cut plan (its parts stay valid) ...
    assert _staged(tmp_path, src, 100)[1] == plan
    # ... and a plan with a scored block is never re-cut
    (state / "parts" / "block-000000.parquet").write_bytes(b"scored")
    assert cut_finer(state, plan, 10) == plan


def test_a_driver_killed_while_cutting_stages_the_input_again(tmp_path: Path, monkeypatch):
    from service.batch import ray_runner  # noqa: PLC0415

    src = write_frame(sample_frame(n_good=22), tmp_path / "survey.csv")
    state, plan = _staged(tmp_path, src, 100)
    calls = []

    def dies_after_one(state_dir, i, rows):
        if calls:
            raise KeyboardInterrupt  # the driver dies with block 0 re-cut, block 1 not written
        calls.append(i)
        real_write(state_dir, i, rows)

    real_write = ray_runner._write_block
    monkeypatch.setattr(ray_runner, "_write_block", dies_after_one)
    with pytest.raises(KeyboardInterrupt):
        ray_runner.cut_finer(state, plan, 4)
    monkeypatch.undo()
    assert ray_runner.Plan.load(state) is None  # the half-cut state is not trusted ...
    again = _staged(tmp_path, src, 100)[1]
    assert (again.blocks, again.rows) == (1, 24)  # ... the input is staged anew, all 24 rows
    assert len(ray_runner._read_staged(state, 0)) == 24
