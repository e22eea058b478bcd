"""The same job lifecycle and restart-resume on PostgreSQL (same code, no SQLite-only SQL).

Runs when ``TOUCHPOINTS_TEST_POSTGRES_URL`` names a disposable database, e.g.
``postgresql+psycopg://postgres@127.0.0.1:55432/postgres`` (needs ``pip install -e '.[postgres]'``);
skipped otherwise. Its tables are dropped and recreated.
"""

from __future__ import annotations

import io
import os
import time

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from batch_helpers import CountingPipeline, sample_frame, write_frame
from service.api.app import create_app
from service.storage import Repository, make_engine
from service.storage.models import Base

PG_URL = os.environ.get("TOUCHPOINTS_TEST_POSTGRES_URL")
pytestmark = pytest.mark.skipif(not PG_URL, reason="set TOUCHPOINTS_TEST_POSTGRES_URL to run against PostgreSQL")


@pytest.fixture()
def pg_settings(settings):
    engine = make_engine(PG_URL)
    Base.metadata.drop_all(engine)
    engine.dispose()
    return settings.model_copy(update={"database_url": PG_URL, "job_poll_seconds": 0.05, "batch_chunk_rows": 20,
                                       "job_lease_seconds": 0.5})


def _wait(c: TestClient, job_id: str) -> dict:
    for _ in range(1200):
        body = c.get(f"/v1/jobs/{job_id}").json()
        if body["status"] in ("completed", "failed"):
            return body
        time.sleep(0.05)
    raise AssertionError(body)


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_postgres_lifecycle_and_restart(pg_settings, client, tmp_path):
    pipeline = client.app.state.pipeline
    df = sample_frame(n_good=78)  # 80 rows = 4 chunks
    src = write_frame(df, tmp_path / "pg.csv")
    with TestClient(create_app(pg_settings, pipeline=CountingPipeline(pipeline, crash_on=3))) as c1:
        with open(src, "rb") as f:
            job = c1.post("/v1/jobs/upload", files={"file": ("pg.csv", f)}).json()
        while c1.app.state.jobs.worker.alive:
            time.sleep(0.05)
        assert c1.get(f"/v1/jobs/{job['id']}").json()["rows_done"] == 40
    fresh = CountingPipeline(pipeline)
    with TestClient(create_app(pg_settings, pipeline=fresh)) as c2:
        done = _wait(c2, job["id"])
        got = pd.read_csv(io.BytesIO(c2.get(f"/v1/jobs/{job['id']}/results?format=csv").content), dtype=str,
                          keep_default_na=False)
        errors = c2.get(f"/v1/jobs/{job['id']}/errors").json()
        themes = c2.get(f"/v1/jobs/{job['id']}/themes").json()
    assert done["status"] == "completed" and fresh.calls == 2
    assert list(got["id"]) == list(df["id"])
    assert [e["id"] for e in errors["errors"]] == ["empty", "long"]
    assert themes["rows"] == 80
    repo = Repository(make_engine(PG_URL))
    assert repo.count_results(job["id"]) == 80
    repo.delete_dataset(done["dataset_id"])
    assert repo.get_job(job["id"]) is None
    repo.engine.dispose()
