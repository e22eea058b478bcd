"""The dataset/job API through the real HTTP app: lifecycle, downloads, errors, restart-resume, 4xx."""

from __future__ import annotations

import io
import time
from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from batch_helpers import CountingPipeline, sample_frame, write_frame
from service.api.app import create_app
from service.storage import Repository, make_engine


@pytest.fixture(scope="module")
def pipeline(client):
    return client.app.state.pipeline


def job_settings(settings, db: Path, **kw):
    return settings.model_copy(update={
        "database_url": f"sqlite:///{db}", "job_poll_seconds": 0.05, "batch_chunk_rows": 20,
        "max_upload_bytes": 256 * 1024, "job_lease_seconds": 0.5, **kw})


@pytest.fixture(scope="module")
def api(tmp_path_factory, settings, pipeline):
    db = tmp_path_factory.mktemp("jobs") / "jobs.db"
    with TestClient(create_app(job_settings(settings, db), pipeline=pipeline)) as c:
        yield c


def wait_for(c: TestClient, job_id: str, statuses=("completed", "failed"), timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body = c.get(f"/v1/jobs/{job_id}").json()
        if body["status"] in statuses:
            return body
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} still {body['status']} after {timeout}s")


def upload(c: TestClient, path: Path, route: str = "/v1/jobs/upload", **fields):
    with open(path, "rb") as f:
        return c.post(route, files={"file": (path.name, f)}, data=fields)


def test_job_lifecycle(api, tmp_path):
    df = sample_frame(n_good=50)
    r = upload(api, write_frame(df, tmp_path / "dump.csv"), metadata_columns="score=nps")
    assert r.status_code == 202, r.text
    job = r.json()
    assert job["status"] in ("pending", "running", "completed") and job["total_rows"] == 52
    done = wait_for(api, job["id"])
    assert done["status"] == "completed" and done["rows_done"] == 52 and done["progress"] == 1.0
    assert done["phase"] is None
    assert done["errors"] == 2 and done["models"]["language"]

    for fmt, reader in [("csv", lambda b: pd.read_csv(io.BytesIO(b), dtype=str, keep_default_na=False)),
                        ("jsonl", lambda b: pd.read_json(io.BytesIO(b), lines=True, dtype=False)),
                        ("parquet", lambda b: pd.read_parquet(io.BytesIO(b))),
                        ("xlsx", lambda b: pd.read_excel(io.BytesIO(b), dtype=object))]:
        res = api.get(f"/v1/jobs/{job['id']}/results", params={"format": fmt})
        assert res.status_code == 200, (fmt, res.text)
        got = reader(res.content)
        assert list(got["id"]) == list(df["id"]), fmt
        assert {"tp_status", "tp_language", "tp_sentiment", "tp_themes"} <= set(got.columns)

    errs = api.get(f"/v1/jobs/{job['id']}/errors").json()
    assert errs["total"] == 2
    assert [(e["row"], e["id"]) for e in errs["errors"]] == [(2, "empty"), (4, "long")]

    themes = api.get(f"/v1/jobs/{job['id']}/themes").json()
    assert themes["rows"] == 52 and themes["scored"] == 50 and sum(themes["languages"].values()) == 50
    # themes fitted on the stored vectors of all 50 scored rows (no re-encoding) and every row assigned
    assert themes["themes"]["n_comments"] == 50 and themes["sampled_comments"] == 50, themes["note"]
    assert themes["themes"]["themes"] and themes["themes"]["n_unassigned"] < 50
    top = themes["themes"]["themes"][0]
    assert top["size"] >= 1 and top["sentiment"]["n_scored"] >= 1 and top["representative"]
    html = api.get(f"/v1/jobs/{job['id']}/themes", params={"format": "html"})
    assert html.status_code == 200 and "<svg" in html.text and "<script" not in html.text
    assert "http://" not in html.text.replace("http://www.w3.org/2000/svg", "") and "https://" not in html.text
    csv_report = api.get(f"/v1/jobs/{job['id']}/themes", params={"format": "csv"})
    assert csv_report.text.startswith("section,")


def test_dataset_then_job(api, tmp_path):
    src = write_frame(pd.DataFrame({"Svar": ["Bra service", "Dålig leverans"], "Nr": ["a", "b"]}),
                      tmp_path / "d.xlsx")
    r = upload(api, src, route="/v1/datasets", text_column="svar", id_column="Nr")
    assert r.status_code == 201, r.text
    ds = r.json()
    assert ds["rows"] == 2 and ds["mapping"]["text"] == "Svar" and ds["mapping"]["id"] == "Nr"
    assert api.get(f"/v1/datasets/{ds['id']}").json()["id"] == ds["id"]
    job = api.post("/v1/jobs", json={"dataset_id": ds["id"]})
    assert job.status_code == 202
    assert wait_for(api, job.json()["id"])["status"] == "completed"
    assert api.post("/v1/jobs", json={"dataset_id": "nope"}).status_code == 404
    assert api.delete(f"/v1/datasets/{ds['id']}").status_code == 204
    assert api.get(f"/v1/datasets/{ds['id']}").status_code == 404
    assert api.get(f"/v1/jobs/{job.json()['id']}").status_code == 404
    assert api.delete(f"/v1/datasets/{ds['id']}").status_code == 404


@pytest.mark.parametrize("name,content,fields,status,error", [
    ("big.csv", b"id,text\n" + b"1,aaaaaaaaaa\n" * 30_000, {}, 413, "payload_too_large"),
    ("notes.txt", b"id,text\n1,hello\n", {}, 422, "unsupported_format"),
    ("old.xls", b"\xd0\xcf\x11\xe0", {}, 422, "unsupported_format"),
    ("broken.parquet", b"definitely not parquet", {}, 400, "malformed_file"),
    ("broken.xlsx", b"PK\x03\x04 truncated", {}, 400, "malformed_file"),
    ("binary.csv", b"\x00\x01\x02\xff\xfe", {}, 400, "malformed_file"),
    ("empty.csv", b"", {}, 400, "malformed_file"),
    ("header_only.csv", b"id,text\n", {}, 400, "malformed_file"),
    ("no_text.csv", b"id,body\n1,hello\n", {}, 422, "invalid_columns"),
    ("ok.csv", b"id,text\n1,hello\n", {"text_column": "missing"}, 422, "invalid_columns"),
])
def test_bad_uploads_are_4xx_with_reason(api, name, content, fields, status, error):
    r = api.post("/v1/datasets", files={"file": (name, content)}, data=fields)
    assert r.status_code == status, r.text
    assert r.json()["error"] == error and r.json()["detail"]


def test_retired_n_themes_is_refused_with_a_reason_before_storing(api, tmp_path):
    src = write_frame(sample_frame(n_good=4), tmp_path / "n.csv")
    r = upload(api, src, n_themes="5")
    assert r.status_code == 422 and "n_themes is no longer supported" in r.json()["detail"]
    assert api.post("/v1/jobs", json={"dataset_id": "x", "n_themes": 3}).status_code == 422


def test_upload_encoding(api):
    content = "id,text\n1,Väldigt trevlig personal\n".encode("cp1252")
    r = api.post("/v1/datasets", files={"file": ("c.csv", content)}, data={"encoding": "cp1252"})
    assert r.status_code == 201 and r.json()["rows"] == 1
    r = api.post("/v1/datasets", files={"file": ("c.csv", content)}, data={"encoding": "klingon"})
    assert r.status_code == 422 and "encoding" in r.json()["detail"]


def test_malformed_requests(api):
    assert api.post("/v1/datasets", data={"text_column": "x"}).status_code == 400  # a form without a file part
    assert api.post("/v1/datasets", files={"other": ("a.csv", b"id,text\n1,a\n")}).status_code == 422
    assert api.post("/v1/datasets", content=b"id,text\n", headers={"content-type": "text/csv"}).status_code == 400
    assert api.get("/v1/jobs/nope").status_code == 404
    assert api.get("/v1/jobs/nope/results").status_code == 404
    assert api.get("/v1/datasets/nope").status_code == 404


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_restart_resumes_without_duplicates(tmp_path, settings, pipeline):
    db = tmp_path / "restart.db"
    df = sample_frame(n_good=98)  # 100 rows = 5 chunks of 20
    dying = CountingPipeline(pipeline, crash_on=3)
    with TestClient(create_app(job_settings(settings, db), pipeline=dying)) as c1:
        job = upload(c1, write_frame(df, tmp_path / "big.csv")).json()
        deadline = time.monotonic() + 30
        while c1.app.state.jobs.worker.alive and time.monotonic() < deadline:
            time.sleep(0.05)  # the worker thread "dies" on its 3rd chunk, like a killed process
        state = c1.get(f"/v1/jobs/{job['id']}").json()
    assert state["status"] == "running" and state["rows_done"] == 40

    fresh = CountingPipeline(pipeline)
    with TestClient(create_app(job_settings(settings, db), pipeline=fresh)) as c2:
        done = wait_for(c2, job["id"])
        got = pd.read_csv(io.BytesIO(c2.get(f"/v1/jobs/{job['id']}/results").content), dtype=str,
                          keep_default_na=False)
    assert done["status"] == "completed" and done["attempts"] == 2
    assert list(got["id"]) == list(df["id"]) and got["id"].is_unique
    assert fresh.calls == 3 and fresh.rows == 60  # rows 41-100 only: committed chunks are not rescored
    repo = Repository(make_engine(f"sqlite:///{db}"))
    assert repo.count_results(job["id"]) == 100
    repo.engine.dispose()


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_job_marked_failed_with_what_finished(tmp_path, settings, pipeline):
    db = tmp_path / "fail.db"
    s = job_settings(settings, db, job_max_attempts=1)
    with TestClient(create_app(s, pipeline=CountingPipeline(pipeline, crash_on=2))) as c1:
        job = upload(c1, write_frame(sample_frame(n_good=58), tmp_path / "f.csv")).json()
        while c1.app.state.jobs.worker.alive:
            time.sleep(0.05)
    with TestClient(create_app(s, pipeline=pipeline)) as c2:
        done = wait_for(c2, job["id"])
        assert done["status"] == "failed" and "20 of 60 rows finished" in done["message"]
        got = pd.read_csv(io.BytesIO(c2.get(f"/v1/jobs/{job['id']}/results").content), dtype=str,
                          keep_default_na=False)
    assert len(got) == 60 and (got["tp_status"] != "pending").sum() == 20


def test_graceful_shutdown_releases_and_next_start_resumes(tmp_path, settings, pipeline):
    db = tmp_path / "graceful.db"
    s = job_settings(settings, db, job_lease_seconds=3600)  # a crash would block for an hour; a stop must not
    slow = CountingPipeline(pipeline)
    with TestClient(create_app(s, pipeline=slow)) as c1:
        job = upload(c1, write_frame(sample_frame(n_good=198), tmp_path / "g.csv")).json()
        while c1.get(f"/v1/jobs/{job['id']}").json()["rows_done"] == 0:
            time.sleep(0.02)
    with TestClient(create_app(s, pipeline=pipeline)) as c2:
        done = wait_for(c2, job["id"])
    assert done["status"] == "completed" and done["rows_done"] == 200 and done["attempts"] <= 1


class GatedPipeline(CountingPipeline):
    """Scores the first chunk, then waits for the test to open the gate: a job observably mid-way."""

    def __init__(self, inner, gate):
        super().__init__(inner)
        self.gate = gate

    def analyze(self, comments):
        if self.calls >= 1:
            assert self.gate.wait(30)
        return super().analyze(comments)


def test_progress_and_partial_results_while_running(tmp_path, settings, pipeline):
    import threading

    gate = threading.Event()
    with TestClient(create_app(job_settings(settings, tmp_path / "p.db"), pipeline=GatedPipeline(pipeline, gate))) as c:
        try:
            job = upload(c, write_frame(sample_frame(n_good=58), tmp_path / "p.csv")).json()
            deadline = time.monotonic() + 30
            while (state := c.get(f"/v1/jobs/{job['id']}").json())["rows_done"] < 20 and time.monotonic() < deadline:
                time.sleep(0.02)
            assert state["status"] == "running" and state["rows_done"] == 20 and state["phase"] == "scoring"
            assert state["progress"] == pytest.approx(1 / 3, abs=1e-3)
            assert c.get(f"/v1/jobs/{job['id']}/results").status_code == 409
            assert c.get(f"/v1/jobs/{job['id']}/themes").status_code == 409
            res = c.get(f"/v1/jobs/{job['id']}/results", params={"partial": True})
            partial = pd.read_csv(io.BytesIO(res.content), dtype=str, keep_default_na=False)
            assert len(partial) == 60 and (partial["tp_status"] == "pending").sum() == 40
        finally:
            gate.set()
        assert wait_for(c, job["id"])["status"] == "completed"


def test_streamed_upload_without_length_is_bounded(api):
    """No Content-Length (chunked): the route counts bytes as they arrive and stops at the limit."""
    boundary = "tpboundary"
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.csv\"\r\n"
            "Content-Type: text/csv\r\n\r\nid,text\r\n").encode()

    def body():
        yield head
        for i in range(400):  # ~400 KiB > 256 KiB limit
            yield f"{i},{'x' * 1000}\r\n".encode()
        yield f"\r\n--{boundary}--\r\n".encode()

    r = api.post("/v1/datasets", content=body(), headers={"content-type": f"multipart/form-data; boundary={boundary}"})
    assert r.status_code == 413 and r.json()["error"] == "payload_too_large"
