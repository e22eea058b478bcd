"""An interrupted run resumes from the last committed chunk: every input row exactly once."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.exc import IntegrityError

from service.batch.cli import run_score
from service.cli import build_parser
from service.storage import Repository, make_engine
from batch_helpers import CountingPipeline, SimulatedCrash, read_frame, sample_frame, write_frame


@pytest.fixture(scope="module")
def pipeline(client):
    return client.app.state.pipeline


def score(pipeline, settings, *argv: str) -> int:
    return run_score(build_parser().parse_args(["score", *argv, "--no-progress", "--chunk-rows", "10"]),
                     pipeline=pipeline, settings=settings)


@pytest.mark.parametrize("interruption", [KeyboardInterrupt, SimulatedCrash])
def test_resume_after_interruption(interruption, tmp_path: Path, pipeline, settings):
    df = sample_frame(n_good=60)  # 62 rows -> 7 chunks of 10
    src = write_frame(df, tmp_path / "in.jsonl")
    out = tmp_path / "out.parquet"
    dying = CountingPipeline(pipeline, crash_on=4, exc=interruption)
    if interruption is KeyboardInterrupt:
        assert score(dying, settings, str(src), "-o", str(out)) == 130
    else:
        with pytest.raises(SimulatedCrash):
            score(dying, settings, str(src), "-o", str(out))
    assert not out.exists()
    state = Path(f"{out}.tpstate.db")
    assert state.exists()

    again = CountingPipeline(pipeline)
    assert score(again, settings, str(src), "-o", str(out)) == 0
    got = read_frame(out)
    assert list(got["id"]) == list(df["id"])  # every row, once, in order
    assert list(got["tp_row"]) == list(range(1, len(df) + 1))
    assert again.calls == 4  # chunks 4..7 only: the 3 committed chunks were not rescored
    assert not state.exists()


def test_changed_input_starts_over(tmp_path: Path, pipeline, settings):
    src = write_frame(sample_frame(n_good=30), tmp_path / "in.csv")
    out = tmp_path / "out.csv"
    with pytest.raises(SimulatedCrash):
        score(CountingPipeline(pipeline, crash_on=2), settings, str(src), "-o", str(out))
    df2 = sample_frame(n_good=12)
    write_frame(df2, src)
    assert score(pipeline, settings, str(src), "-o", str(out)) == 0
    assert list(read_frame(out)["id"]) == list(df2["id"])


def test_save_chunk_is_atomic_and_lease_guarded(tmp_path: Path):
    repo = Repository(make_engine(f"sqlite:///{tmp_path / 's.db'}"))
    ds = repo.create_dataset("x", "csv", {})
    repo.add_rows(ds.id, [(i, {"text": "t"}, None) for i in range(4)])
    repo.finish_dataset(ds.id, 4, 0, [["text", "str"]], {"text": "text"})
    job = repo.create_job(ds.id)
    assert repo.claim(job.id, "a", 60) is not None
    assert repo.claim(job.id, "b", 60) is None  # lease held by 'a'
    row = {"comment_id": "1", "status": "ok", "error": None, "language": "sv", "language_confidence": 1.0,
           "sentiment": None, "sentiment_score": None, "p_negative": None, "p_neutral": None, "p_positive": None,
           "themes_json": "[]"}
    assert repo.save_chunk(job.id, "b", 0, [{"row_idx": 0, **row}], 60) is False  # not the owner
    with pytest.raises(IntegrityError):  # duplicate row: whole chunk rolled back, cursor unchanged
        repo.save_chunk(job.id, "a", 0, [{"row_idx": 0, **row}, {"row_idx": 0, **row}], 60)
    assert repo.get_job(job.id).rows_done == 0 and repo.count_results(job.id) == 0
    assert repo.save_chunk(job.id, "a", 0, [{"row_idx": 0, **row}, {"row_idx": 1, **row}], 60)
    assert repo.save_chunk(job.id, "a", 0, [{"row_idx": 0, **row}], 60) is False  # stale cursor
    assert repo.get_job(job.id).rows_done == 2 and repo.count_results(job.id) == 2
    assert repo.renew_lease(job.id, "a", 60) and not repo.renew_lease(job.id, "b", 60)
    repo.engine.dispose()


def test_abandoned_ingest_is_removed(tmp_path: Path):
    repo = Repository(make_engine(f"sqlite:///{tmp_path / 'a.db'}"))
    ds = repo.create_dataset("half.csv", "csv", {})
    repo.add_rows(ds.id, [(0, {"text": "t"}, None)])
    assert repo.delete_abandoned_ingests(older_than_s=3600) == 0  # may still be in progress
    assert repo.delete_abandoned_ingests(older_than_s=-1) == 1
    assert repo.get_dataset(ds.id) is None and repo.read_rows(ds.id, 0, 10) == []
    repo.engine.dispose()


def test_concurrent_run_on_same_output_is_refused(tmp_path: Path, pipeline, settings, capsys):
    import fcntl

    src = write_frame(sample_frame(n_good=4), tmp_path / "in.csv")
    out = tmp_path / "out.csv"
    with open(f"{out}.tpstate.db.lock", "wb") as held:  # as if another run were in progress
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        assert score(pipeline, settings, str(src), "-o", str(out)) == 2
        assert "another 'touchpoints score'" in capsys.readouterr().err
    assert score(pipeline, settings, str(src), "-o", str(out)) == 0
    assert not Path(f"{out}.tpstate.db.lock").exists()
