"""/readyz covers the database: an unusable database URL gives a clear 503 naming it, never a crash."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from service.api.app import create_app


def _fresh(settings, client, url: str) -> TestClient:
    return TestClient(create_app(settings.model_copy(update={"database_url": url}), pipeline=client.app.state.pipeline))


def test_ready_app_reports_its_database(client):
    body = client.get("/readyz").json()
    assert body["ready"] is True and body["components"]["database"] == "ok" and body["not_ready"] == []


@pytest.mark.parametrize("where", ["missing_dir", "file_as_dir"])
def test_unusable_database_gives_503_naming_it(where, tmp_path: Path, settings, client):
    if where == "missing_dir":
        db = tmp_path / "does" / "not" / "exist" / "t.db"
    else:  # works even as root, for whom a read-only directory is writable
        (tmp_path / "plain_file").write_text("not a directory")
        db = tmp_path / "plain_file" / "t.db"
    with _fresh(settings, client, f"sqlite:///{db}") as c:  # starts: the models need no database
        r = c.get("/readyz")
        assert r.status_code == 503, r.text
        body = r.json()
        assert body["ready"] is False and body["not_ready"] == ["database"]
        assert body["components"]["database"].startswith("unavailable: OperationalError: unable to open database")
        assert body["components"]["language"].startswith("ensemble:")  # the models themselves are fine
        assert c.get("/healthz").status_code == 200
        ok = c.post("/v1/comments/analyze", json={"comments": [{"id": "1", "text": "Snabb leverans"}]})
        assert ok.status_code == 200  # real-time analysis does not need the database
        jobs = c.get("/v1/jobs/abc")
        assert jobs.status_code == 503 and jobs.json()["error"] == "jobs_unavailable"
        themes = c.get("/v2/themes/models")
        assert themes.status_code == 503 and themes.json()["error"] == "theme_store_unavailable"


def test_database_that_comes_back_makes_the_service_ready(tmp_path: Path, settings, client):
    db = tmp_path / "later" / "t.db"
    with _fresh(settings, client, f"sqlite:///{db}") as c:
        assert c.get("/readyz").status_code == 503
        db.parent.mkdir()
        r = c.get("/readyz")
        assert r.status_code == 200 and r.json()["components"]["database"] == "ok", r.text
        assert c.get("/v2/themes/models").status_code == 200
        assert c.get("/v1/jobs/nope").status_code == 404  # the job runtime is up (unknown job, not 503)
