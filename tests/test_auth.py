"""API keys and tenants (TOUCHPOINTS_AUTH_REQUIRED): 401s, tenant isolation (404), rate limit (429),
CORS, hashed storage, the ``touchpoints keys`` CLI, the web app's sign-in, and an old database's upgrade.

The apps here share the session's loaded pipeline (conftest ``client``), each on its own database.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import sqlite3
import threading
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import inspect, text

from service import cli
from service.api.app import create_app
from service.auth.keys import ApiKeyStore
from service.auth.rate_limit import TokenBucketLimiter
from service.config import Settings, get_settings
from service.storage import Repository, make_engine
from service.storage.models import Base
from service.storage.taxonomy_additions import TaxonomyAdditions

DATA = Path(__file__).parent / "data"
CSV = "id,text\n1,Leveransen kom en vecka för sent.\n2,Great app and friendly staff\n3,Laskussa oli väärä summa.\n"
COMMENT = {"comments": [{"id": "1", "text": "Bra service"}]}


def auth_settings(settings: Settings, db: Path, **kw) -> Settings:
    return settings.model_copy(update={"database_url": f"sqlite:///{db}", "auth_required": True,
                                       "job_poll_seconds": 0.05, "batch_chunk_rows": 20,
                                       "rate_limit_per_minute": 60_000.0, "rate_limit_burst": 10_000, **kw})


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def upload(c: TestClient, key: str, route: str = "/v1/datasets"):
    return c.post(route, files={"file": ("survey.csv", io.BytesIO(CSV.encode()))}, headers=bearer(key))


@pytest.fixture(scope="module")
def pipeline(client):
    return client.app.state.pipeline


@pytest.fixture(scope="module")
def secured(tmp_path_factory, settings, pipeline):
    """An app with keys on, and keys for tenants a and b (plus a second key of a)."""
    db = tmp_path_factory.mktemp("auth") / "auth.db"
    s = auth_settings(settings, db)
    store = ApiKeyStore(make_engine(s.database_url))
    keys = {name: store.create(tenant, name)[1] for name, tenant in (("a", "acme"), ("a2", "acme"), ("b", "beta"))}
    with TestClient(create_app(s, pipeline=pipeline)) as c:
        yield c, keys, store, db


def wait_done(c: TestClient, key: str, job_id: str, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body = c.get(f"/v1/jobs/{job_id}", headers=bearer(key)).json()
        if body["status"] in ("completed", "failed"):
            return body
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} did not finish")


# -- off by default ----------------------------------------------------------------------------
def test_off_by_default_everything_is_the_default_tenant(client):
    assert Settings().auth_required is False and Settings().cors_origins == []
    r = client.post("/v1/comments/analyze", json=COMMENT)
    assert r.status_code == 200
    assert client.get("/v1/jobs/nope").status_code == 404  # not 401: no key needed


def test_openapi_declares_the_security_schemes(secured):
    c, *_ = secured
    spec = c.get("/openapi.json").json()
    schemes = spec["components"]["securitySchemes"]
    assert schemes["BearerKey"]["type"] == "http" and schemes["BearerKey"]["scheme"] == "bearer"
    assert schemes["ApiKeyHeader"]["in"] == "header" and schemes["ApiKeyHeader"]["name"] == "X-API-Key"
    security = spec["paths"]["/v1/comments/analyze"]["post"]["security"]
    assert {"BearerKey": []} in security and {"ApiKeyHeader": []} in security
    assert "security" not in spec["paths"]["/healthz"]["get"]


# -- 401 ---------------------------------------------------------------------------------------
def test_missing_and_invalid_keys_are_401_with_a_challenge(secured):
    c, keys, *_ = secured
    r = c.post("/v1/comments/analyze", json=COMMENT)
    assert r.status_code == 401
    assert r.headers["www-authenticate"] == 'Bearer realm="touchpoints"'
    body = r.json()
    assert body["error"] == "unauthorized" and "API key is required" in body["detail"] and body["request_id"]
    for headers in (bearer("tp_" + "x" * 43), {"X-API-Key": "nonsense"}, {"Authorization": "Basic dXNlcjpwdw=="}):
        r = c.post("/v1/comments/analyze", json=COMMENT, headers=headers)
        assert r.status_code == 401, headers
        assert r.headers["www-authenticate"].startswith('Bearer realm="touchpoints"')
    assert c.get("/v1/themes/taxonomy").status_code == 401
    assert c.get("/v2/themes/models").status_code == 401


def test_health_and_readiness_stay_open(secured):
    c, *_ = secured
    assert c.get("/healthz").status_code == 200
    assert c.get("/readyz").status_code == 200


def test_bearer_and_x_api_key_both_work(secured):
    c, keys, *_ = secured
    assert c.post("/v1/comments/analyze", json=COMMENT, headers=bearer(keys["a"])).status_code == 200
    assert c.post("/v1/comments/analyze", json=COMMENT, headers={"X-API-Key": keys["a"]}).status_code == 200


def test_revoked_key_is_401_at_once(secured):
    c, _, store, _ = secured
    info, key = store.create("acme", "temp")
    assert c.get("/v2/themes/models", headers=bearer(key)).status_code == 200
    assert store.revoke(info.id).revoked_at is not None
    r = c.get("/v2/themes/models", headers=bearer(key))
    assert r.status_code == 401
    assert "revoked" in r.json()["detail"]
    assert 'error="invalid_token"' in r.headers["www-authenticate"]



def test_keys_on_without_a_database_answer_503_never_an_unchecked_request(tmp_path, settings, pipeline):
    s = auth_settings(settings, tmp_path / "missing" / "dir" / "auth.db")  # its directory does not exist
    with TestClient(create_app(s, pipeline=pipeline)) as c:
        r = c.post("/v1/comments/analyze", json=COMMENT, headers=bearer("tp_" + "x" * 43))
        assert r.status_code == 503 and r.json()["error"] == "auth_unavailable"
        assert c.get("/app", follow_redirects=False).status_code == 503
        assert c.get("/readyz").status_code == 503


# -- tenants -----------------------------------------------------------------------------------
def test_another_tenants_dataset_and_job_are_404_like_missing_ones(secured):
    c, keys, *_ = secured
    r = upload(c, keys["a"])
    assert r.status_code == 201, r.text
    ds = r.json()["id"]
    missing = c.get("/v1/datasets/" + "0" * 32, headers=bearer(keys["b"]))
    foreign = c.get(f"/v1/datasets/{ds}", headers=bearer(keys["b"]))
    assert foreign.status_code == missing.status_code == 404
    assert foreign.json()["error"] == missing.json()["error"] == "not_found"
    assert c.get(f"/v1/datasets/{ds}", headers=bearer(keys["a2"])).status_code == 200  # same tenant, other key
    assert c.post("/v1/jobs", json={"dataset_id": ds}, headers=bearer(keys["b"])).status_code == 404
    assert c.delete(f"/v1/datasets/{ds}", headers=bearer(keys["b"])).status_code == 404

    r = c.post("/v1/jobs", json={"dataset_id": ds}, headers=bearer(keys["a"]))
    assert r.status_code == 202, r.text
    job = r.json()["id"]
    assert wait_done(c, keys["a"], job)["status"] == "completed"
    for path in (f"/v1/jobs/{job}", f"/v1/jobs/{job}/results?format=csv", f"/v1/jobs/{job}/errors",
                 f"/v1/jobs/{job}/themes"):
        assert c.get(path, headers=bearer(keys["b"])).status_code == 404, path
        assert c.get(path, headers=bearer(keys["a"])).status_code == 200, path
    assert c.delete(f"/v1/datasets/{ds}", headers=bearer(keys["a"])).status_code == 204
    assert c.get(f"/v1/jobs/{job}", headers=bearer(keys["a"])).status_code == 404


def test_a_jobs_theme_model_belongs_to_the_jobs_tenant(secured):
    c, keys, *_ = secured
    r = upload(c, keys["a"], "/v1/jobs/upload")
    job = r.json()["id"]
    assert wait_done(c, keys["a"], job)["status"] == "completed"
    model_id = c.get(f"/v1/jobs/{job}/themes", headers=bearer(keys["a"])).json()["model_id"]
    assert model_id
    assert c.get(f"/v2/themes/models/{model_id}", headers=bearer(keys["a"])).status_code == 200
    assert c.get(f"/v2/themes/models/{model_id}", headers=bearer(keys["b"])).status_code == 404


def test_another_tenants_theme_model_is_404(secured):
    c, keys, *_ = secured
    from test_themes_api import COMMENTS  # noqa: PLC0415 - the 48-comment survey of the themes tests

    r = c.post("/v2/themes/cluster", json={"comments": COMMENTS}, headers=bearer(keys["a"]))
    assert r.status_code == 200, r.text
    model_id = r.json()["model_id"]
    a, b = bearer(keys["a"]), bearer(keys["b"])
    assert model_id in [m["model_id"] for m in c.get("/v2/themes/models", headers=a).json()["models"]]
    assert model_id not in [m["model_id"] for m in c.get("/v2/themes/models", headers=b).json()["models"]]
    assert c.get(f"/v2/themes/models/{model_id}", headers=b).status_code == 404
    assign = {"comments": [{"id": "n", "text": "Leveransen kom sent."}], "model_id": model_id}
    assert c.post("/v2/themes/assign", json=assign, headers=b).status_code == 404
    assert c.post("/v2/themes/assign", json=assign, headers=a).status_code == 200
    theme = c.get(f"/v2/themes/models/{model_id}", headers=a).json()["themes"][0]["theme_id"]
    rename = c.patch(f"/v2/themes/models/{model_id}/themes/{theme}", json={"label": "Mine"}, headers=b)
    assert rename.status_code == 404
    assert c.delete(f"/v2/themes/models/{model_id}", headers=b).status_code == 404
    assert c.get(f"/v2/themes/models/{model_id}", headers=a).status_code == 200  # still there
    assert c.delete(f"/v2/themes/models/{model_id}", headers=a).status_code == 204


# -- rate limit --------------------------------------------------------------------------------
class FakeClock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def test_rate_limit_answers_429_with_retry_after_then_recovers(secured):
    c, _, store, _ = secured
    _, key = store.create("gamma", "busy")
    clock = FakeClock()
    rt = c.app.state.auth
    saved = rt.limiter
    rt.limiter = TokenBucketLimiter(per_minute=30, burst=3, clock=clock)  # one request per 2 s after 3 at once
    try:
        for _ in range(3):
            assert c.get("/v2/themes/models", headers=bearer(key)).status_code == 200
        r = c.get("/v2/themes/models", headers=bearer(key))
        assert r.status_code == 429
        assert r.headers["retry-after"] == "2"
        assert r.json()["error"] == "rate_limited" and "retry in 2 s" in r.json()["detail"]
        clock.t += 1.0
        assert c.get("/v2/themes/models", headers=bearer(key)).status_code == 429
        assert c.get("/v2/themes/models", headers=bearer(key)).headers["retry-after"] == "1"
        clock.t += 1.0
        assert c.get("/v2/themes/models", headers=bearer(key)).status_code == 200
        _, other = store.create("gamma", "calm")  # the limit is per key
        assert c.get("/v2/themes/models", headers=bearer(other)).status_code == 200
    finally:
        rt.limiter = saved


def test_token_bucket_is_thread_safe():
    clock = FakeClock()
    limiter = TokenBucketLimiter(per_minute=60, burst=50, clock=clock)
    allowed = []
    lock = threading.Lock()

    def hammer() -> None:
        n = sum(1 for _ in range(100) if limiter.acquire("k") == 0.0)
        with lock:
            allowed.append(n)

    threads = [threading.Thread(target=hammer) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(allowed) == 50  # the frozen clock refills nothing: exactly the burst got through
    clock.t += 3.0  # 1 request/s: three more, then the next one in a second
    assert [limiter.acquire("k") for _ in range(4)] == [0.0, 0.0, 0.0, pytest.approx(1.0)]


# -- CORS ----------------------------------------------------------------------------------------
def _preflight(c: TestClient, origin: str):
    return c.options("/v1/comments/analyze", headers={
        "Origin": origin, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization,content-type"})


def test_cors_closed_by_default(client):
    r = _preflight(client, "https://dash.example.com")
    assert "access-control-allow-origin" not in r.headers
    r = client.post("/v1/comments/analyze", json=COMMENT, headers={"Origin": "https://dash.example.com"})
    assert "access-control-allow-origin" not in r.headers


def test_cors_only_for_configured_origins(tmp_path, settings, pipeline):
    s = auth_settings(settings, tmp_path / "cors.db", cors_origins=["https://dash.example.com"])
    with TestClient(create_app(s, pipeline=pipeline)) as c:
        r = _preflight(c, "https://dash.example.com")
        assert r.status_code == 200
        assert r.headers["access-control-allow-origin"] == "https://dash.example.com"
        assert "authorization" in r.headers["access-control-allow-headers"].lower()
        r = _preflight(c, "https://evil.example.net")
        assert "access-control-allow-origin" not in r.headers
        r = c.post("/v1/comments/analyze", json=COMMENT, headers={"Origin": "https://dash.example.com"})
        assert r.status_code == 401  # CORS is not authentication...
        assert r.headers["access-control-allow-origin"] == "https://dash.example.com"  # ...but the page can read why
        assert "retry-after" in r.headers["access-control-expose-headers"].lower()


def test_cors_origins_from_the_environment(monkeypatch):
    monkeypatch.setenv("TOUCHPOINTS_CORS_ORIGINS", "https://a.example.com, https://b.example.com/")
    assert Settings().cors_origins == ["https://a.example.com", "https://b.example.com"]
    monkeypatch.setenv("TOUCHPOINTS_CORS_ORIGINS", '["https://c.example.com"]')
    assert Settings().cors_origins == ["https://c.example.com"]


# -- storage -------------------------------------------------------------------------------------
def test_keys_are_stored_hashed(tmp_path):
    db = tmp_path / "keys.db"
    store = ApiKeyStore(make_engine(f"sqlite:///{db}"))
    info, key = store.create("acme", "ci")
    assert key.startswith("tp_") and len(key) >= 40 and info.prefix == key[:10]
    store.engine.dispose()
    con = sqlite3.connect(db)
    (row,) = con.execute("SELECT * FROM tp_api_keys").fetchall()
    con.close()
    assert key not in [str(v) for v in row]
    assert hashlib.sha256(key.encode()).hexdigest() in row
    raw = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.name.startswith("keys.db"))
    assert key.encode() not in raw and key[10:].encode() not in raw
    assert store.authenticate(key).id == info.id
    assert store.authenticate(key + "x") is None


# -- CLI -----------------------------------------------------------------------------------------
def _cli(capsys, *argv: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as done:
        cli.main(list(argv))
    out = capsys.readouterr()
    return done.value.code, out.out, out.err


def test_keys_cli_create_list_revoke(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("TOUCHPOINTS_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    get_settings.cache_clear()
    try:
        code, out, err = _cli(capsys, "keys", "create", "--tenant", "acme", "--name", "CI bot")
        assert code == 0 and "shown only now" in err
        key = out.strip()
        store = ApiKeyStore(make_engine(get_settings().database_url))
        (info,) = store.list()
        assert store.authenticate(key).id == info.id and info.tenant == "acme"

        code, out, _ = _cli(capsys, "keys", "list")
        header, line = out.strip().splitlines()
        assert header.split() == ["id", "tenant", "name", "prefix", "created", "revoked", "last_used"]
        assert line.startswith(info.id) and "acme" in line and "CI bot" in line and key[:10] in line
        assert key not in out

        code, out, _ = _cli(capsys, "keys", "revoke", info.id)
        assert code == 0 and f"revoked key {info.id}" in out
        assert store.authenticate(key) is None
        code, out, _ = _cli(capsys, "keys", "list", "--json")
        assert code == 0 and '"revoked": null' not in out and key not in out

        assert _cli(capsys, "keys", "revoke", "nope")[0] == 1
        assert _cli(capsys, "keys", "create", "--tenant", "no spaces", "--name", "x")[0] == 2
    finally:
        get_settings.cache_clear()


# -- web app sign-in -----------------------------------------------------------------------------
def test_webapp_sign_in_scopes_pages_to_the_tenant(secured):
    c, keys, store, _ = secured
    c.cookies.clear()
    job_a = upload(c, keys["a"], "/v1/jobs/upload").json()["id"]
    job_b = upload(c, keys["b"], "/v1/jobs/upload").json()["id"]
    wait_done(c, keys["a"], job_a)
    wait_done(c, keys["b"], job_b)

    r = c.get("/app/jobs/" + job_a, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/app/sign-in?next=%2Fapp%2Fjobs%2F{job_a}"
    page = c.get("/app/sign-in?next=/app")
    assert page.status_code == 200
    assert '<label for="api_key">API key</label>' in page.text and 'type="password"' in page.text

    bad = c.post("/app/sign-in", data={"api_key": "tp_wrong", "next": "/app"}, follow_redirects=False)
    assert bad.status_code == 401 and "unknown or has been revoked" in bad.text and 'role="alert"' in bad.text
    refused = c.post("/app/sign-in", data={"api_key": keys["a"]}, headers={"Origin": "https://evil.example.net"},
                     follow_redirects=False)
    assert refused.status_code == 403 and "tp_session" not in refused.headers.get("set-cookie", "")

    r = c.post("/app/sign-in", data={"api_key": keys["a"], "next": "https://evil.example.net/"},
               follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/app"  # never redirected off the app
    cookie = r.headers["set-cookie"]
    assert cookie.startswith("tp_session=") and "HttpOnly" in cookie and "SameSite=lax" in cookie
    assert keys["a"] not in cookie

    jobs = c.get("/app")
    assert jobs.status_code == 200 and "Signed in as a (acme)" in jobs.text
    assert job_a in jobs.text and job_b not in jobs.text
    assert c.get(f"/app/jobs/{job_a}").status_code == 200
    assert c.get(f"/app/jobs/{job_b}").status_code == 404
    # the pages' own API calls (upload, progress polling) go with the cookie, scoped the same way
    assert c.get(f"/v1/jobs/{job_a}").status_code == 200
    assert c.get(f"/v1/jobs/{job_b}").status_code == 404
    cross = c.post("/v1/jobs/upload", files={"file": ("s.csv", io.BytesIO(CSV.encode()))},
                   headers={"Origin": "https://evil.example.net"})
    assert cross.status_code == 403

    out = c.post("/app/sign-out", follow_redirects=False)
    assert out.status_code == 303 and 'tp_session=""' in out.headers["set-cookie"]
    c.cookies.clear()
    assert c.get("/app", follow_redirects=False).status_code == 303
    assert c.get(f"/v1/jobs/{job_a}").status_code == 401


PARKING = ["There was nowhere to park the car.", "The car park was full again."]
PARKED = "The car park was full again, there was nowhere to park the car."


def touchpoints(c: TestClient, key: str) -> dict[str, dict]:
    r = c.get("/v1/themes/taxonomy", headers=bearer(key))
    assert r.status_code == 200, r.text
    return {t["key"]: t for t in r.json()["touchpoints"]}


def parked_touchpoints(c: TestClient, key: str, route: str = "/v1/comments/analyze") -> set[str | None]:
    """The touchpoints the caller's taxonomy gives a parking complaint (real-time, or /v2 without a model)."""
    r = c.post(route, json={"comments": [{"id": "p", "text": PARKED, "language": "en"}]}, headers=bearer(key))
    assert r.status_code == 200, r.text
    return {t["touchpoint"] for t in r.json()["results"][0]["themes"]}


def add_touchpoint(c: TestClient, key: str, job: str, **form: str) -> None:
    """Through the web app, signed in with ``key``; waits until the job's comments follow the edit."""
    c.cookies.clear()
    assert c.post("/app/sign-in", data={"api_key": key, "next": "/app"}, follow_redirects=False).status_code == 303
    r = c.post(f"/app/jobs/{job}/taxonomy", data={"next": f"/app/jobs/{job}", **form}, follow_redirects=False)
    assert r.status_code == 303 and "error=" not in r.headers["location"], r.headers["location"]
    deadline = time.monotonic() + 60
    while c.get(f"/app/jobs/{job}/state").json()["state"] == "updating" and time.monotonic() < deadline:
        time.sleep(0.1)
    assert c.get(f"/app/jobs/{job}/state").json()["state"] == "fresh"
    c.post("/app/sign-out")
    c.cookies.clear()


def scored_themes(c: TestClient, key: str) -> str:
    """The tp_themes of PARKED in a new batch job of the key's tenant."""
    csv = f'id,text\n1,"{PARKED}"\n2,Great app and friendly staff\n'
    job = c.post("/v1/jobs/upload", files={"file": ("parking.csv", io.BytesIO(csv.encode()))}, headers=bearer(key))
    assert wait_done(c, key, job.json()["id"])["status"] == "completed"
    rows = c.get(f"/v1/jobs/{job.json()['id']}/results", params={"format": "jsonl"}, headers=bearer(key)).text
    row = next(r for r in map(json.loads, rows.splitlines()) if str(r["id"]) == "1")
    assert row["tp_status"] == "ok", row
    return row["tp_themes"]


def test_a_taxonomy_addition_is_its_tenants_alone(secured):
    """Tenant a's touchpoint is listed for a and maps a's comments (real-time, /v2, its job's model, new jobs);
    for b it is absent and unused, and b's touchpoint of the same name is b's own."""
    c, keys, _, _ = secured
    c.cookies.clear()
    shipped = touchpoints(c, keys["b"])
    job_a, job_b = (upload(c, keys[k], "/v1/jobs/upload").json()["id"] for k in ("a", "b"))
    wait_done(c, keys["a"], job_a)
    wait_done(c, keys["b"], job_b)
    assert "custom_parking" not in shipped and "custom_parking" not in parked_touchpoints(c, keys["a"])

    add_touchpoint(c, keys["a"], job_a, label="Parking", extra_language="en", extra_examples="\n".join(PARKING))
    mine = touchpoints(c, keys["a"])
    assert list(mine) == [*shipped, "custom_parking"] and mine["custom_parking"]["examples"] == {"en": PARKING}
    assert list(touchpoints(c, keys["a2"])) == list(mine)  # the tenant's, not the key's
    assert "custom_parking" in parked_touchpoints(c, keys["a"])
    assert "custom_parking" in parked_touchpoints(c, keys["a"], "/v2/themes/assign")
    model_a = c.get(f"/v1/jobs/{job_a}/themes", headers=bearer(keys["a"])).json()["model_id"]
    themes = c.get(f"/v2/themes/models/{model_a}", headers=bearer(keys["a"])).json()["themes"]
    assert "custom_parking" in {t["touchpoint"] for t in themes}
    assert "Parking" in scored_themes(c, keys["a"])

    assert touchpoints(c, keys["b"]) == shipped
    assert "custom_parking" not in parked_touchpoints(c, keys["b"])
    assert "custom_parking" not in parked_touchpoints(c, keys["b"], "/v2/themes/assign")
    assert c.get(f"/v2/themes/models/{model_a}", headers=bearer(keys["b"])).status_code == 404
    assert "Parking" not in scored_themes(c, keys["b"])

    add_touchpoint(c, keys["b"], job_b, label="Parking", description="Parking at the warehouse.",
                   extra_language="en", extra_examples="The loading dock was blocked.")
    assert touchpoints(c, keys["b"])["custom_parking"]["examples"] == {"en": ["The loading dock was blocked."]}
    assert touchpoints(c, keys["a"])["custom_parking"]["examples"] == {"en": PARKING}


def test_sign_in_page_speaks_the_ui_language(secured):
    c, *_ = secured
    c.cookies.clear()
    page = c.get("/app/sign-in", headers={"Accept-Language": "sv"})
    assert '<label for="api_key">API-nyckel</label>' in page.text and "Logga in" in page.text
    bad = c.post("/app/sign-in", data={"api_key": "tp_wrong"}, headers={"Accept-Language": "fi"})
    assert bad.status_code == 401 and "API-avainta ei tunneta" in bad.text
    out = c.post("/app/sign-out", headers={"Accept-Language": "da"})
    assert "Logget ud." in out.text


def test_revoking_a_key_ends_its_web_sessions(secured):
    c, _, store, _ = secured
    c.cookies.clear()
    info, key = store.create("acme", "leaver")
    assert c.post("/app/sign-in", data={"api_key": key}, follow_redirects=False).status_code == 303
    assert c.get("/app").status_code == 200
    store.revoke(info.id)
    assert c.get("/app", follow_redirects=False).status_code == 303
    c.cookies.clear()


def test_a_forged_or_expired_cookie_is_no_sign_in(secured):
    c, keys, store, _ = secured
    info = next(k for k in store.list("acme") if k.name == "a")
    signer = c.app.state.auth.signer
    c.cookies.clear()
    c.cookies.set("tp_session", f"{info.id}.{int(time.time())}.forged")
    assert c.get("/app", follow_redirects=False).status_code == 303
    c.cookies.set("tp_session", signer.issue(info.id))
    assert c.get("/app").status_code == 200
    old = f"{info.id}.{int(time.time()) - signer.max_age_s - 5}"
    c.cookies.set("tp_session", f"{old}.{signer._sign(old)}")
    assert c.get("/app", follow_redirects=False).status_code == 303
    c.cookies.clear()


def test_webapp_without_auth_has_no_sign_in(client):
    assert client.get("/app").status_code == 200
    r = client.get("/app/sign-in", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/app"
    assert "Sign out" not in client.get("/app").text


# -- upgrade ----------------------------------------------------------------------------------------
def _old_database(path: Path) -> None:
    """A database as the service made it before tenancy, with one ready dataset and a completed job."""
    con = sqlite3.connect(path)
    con.executescript((DATA / "pre_tenancy_schema.sql").read_text())
    con.execute("INSERT INTO tp_datasets VALUES ('d0', 'old.csv', 'csv', 'ready', 1, 0, '[[\"text\", \"text\"]]',"
                " '{\"text\": \"text\"}', NULL, '2024-05-01 10:00:00')")
    con.execute("INSERT INTO tp_dataset_rows VALUES ('d0', 0, '{\"text\": \"Bra service\"}', NULL)")
    con.execute("INSERT INTO tp_jobs VALUES ('j0', 'd0', 'completed', 1, 1, 0, 1, '{}', NULL, '{}', NULL, NULL,"
                " '2024-05-01 10:00:00', NULL, '2024-05-01 10:01:00', '2024-05-01 10:01:00')")
    con.commit()
    con.close()


def test_a_database_from_before_tenancy_is_upgraded_in_place(tmp_path, settings, pipeline):
    db = tmp_path / "old.db"
    _old_database(db)
    s = auth_settings(settings, db)
    with TestClient(create_app(s.model_copy(update={"auth_required": False}), pipeline=pipeline)) as c:
        assert c.get("/v1/datasets/d0").status_code == 200  # keys off: the old data is the default tenant's
        assert c.get("/v1/jobs/j0").json()["status"] == "completed"
    engine = make_engine(s.database_url)  # idempotent: a second start adds nothing and fails on nothing
    for table in ("tp_datasets", "tp_jobs", "tp_theme_models"):
        assert "tenant" in {col["name"] for col in inspect(engine).get_columns(table)}
        assert f"ix_{table}_tenant" in {ix["name"] for ix in inspect(engine).get_indexes(table)}
    store = ApiKeyStore(engine)
    _, default_key = store.create("default", "old data")
    _, other_key = store.create("other", "new team")
    with TestClient(create_app(s, pipeline=pipeline)) as c:
        assert c.get("/v1/datasets/d0", headers=bearer(default_key)).status_code == 200
        assert c.get("/v1/jobs/j0", headers=bearer(default_key)).status_code == 200
        assert c.get("/v1/datasets/d0", headers=bearer(other_key)).status_code == 404
        assert c.get("/v1/jobs/j0", headers=bearer(other_key)).status_code == 404


OLD_ADDITIONS = """CREATE TABLE tp_taxonomy_additions (id INTEGER NOT NULL, "key" VARCHAR(64) NOT NULL,
    label VARCHAR(200) NOT NULL, description TEXT NOT NULL, examples_json TEXT NOT NULL, created_at DATETIME NOT NULL,
    created_by VARCHAR(200) NOT NULL, PRIMARY KEY (id), UNIQUE ("key"))"""  # as the service made it before tenancy


def test_taxonomy_additions_from_before_tenancy_become_the_default_tenants(tmp_path, settings, pipeline):
    db = tmp_path / "additions.db"
    con = sqlite3.connect(db)
    con.execute(OLD_ADDITIONS)
    con.execute("INSERT INTO tp_taxonomy_additions VALUES (1, 'custom_parking', 'Parking', '', ?, "
                "'2025-01-01 10:00:00', 'web app')", (json.dumps({"en": PARKING}),))
    con.commit()
    con.close()
    engine = make_engine(f"sqlite:///{db}")
    assert "tenant" in {col["name"] for col in inspect(engine).get_columns("tp_taxonomy_additions")}
    assert "ix_tp_taxonomy_additions_tenant_key" in {ix["name"] for ix in inspect(engine).get_indexes("tp_taxonomy_additions")}
    additions = TaxonomyAdditions(engine)
    assert [t.key for t in additions.for_tenant("default").all()] == ["custom_parking"]
    assert additions.for_tenant("other").all() == []
    # the old table keeps its unique key: another tenant's touchpoint of that name takes the next free key
    made = additions.for_tenant("other").add("Parking", "", {"en": ["The loading dock was blocked."]}, "test")
    assert made.key == "custom_parking_2"
    store = ApiKeyStore(engine)
    _, default_key = store.create("default", "old data")
    _, other_key = store.create("other", "new team")
    with TestClient(create_app(auth_settings(settings, db), pipeline=pipeline)) as c:
        assert "custom_parking" in parked_touchpoints(c, default_key)
        assert "custom_parking" in touchpoints(c, default_key) and "custom_parking_2" not in touchpoints(c, default_key)
        assert "custom_parking" not in touchpoints(c, other_key) and "custom_parking_2" in touchpoints(c, other_key)
        assert "custom_parking" not in parked_touchpoints(c, other_key)


PG_URL = os.environ.get("TOUCHPOINTS_TEST_POSTGRES_URL")


@pytest.mark.skipif(not PG_URL, reason="set TOUCHPOINTS_TEST_POSTGRES_URL to run against PostgreSQL")
def test_postgres_database_from_before_tenancy_is_upgraded(tmp_path):
    """PostgreSQL: tables without the tenant columns (dropped here) gain them, with their indexes; rows are default's."""
    engine = make_engine(PG_URL)
    Base.metadata.drop_all(engine)
    Base.metadata.create_all(engine)
    ds = Repository(engine).create_dataset("old.csv", "csv", {})
    with engine.begin() as conn:
        for table in ("tp_datasets", "tp_jobs", "tp_theme_models"):
            conn.execute(text(f"ALTER TABLE {table} DROP COLUMN tenant"))
    engine.dispose()
    engine = make_engine(PG_URL)
    try:
        for table in ("tp_datasets", "tp_jobs", "tp_theme_models"):
            assert "tenant" in {col["name"] for col in inspect(engine).get_columns(table)}
            assert f"ix_{table}_tenant" in {ix["name"] for ix in inspect(engine).get_indexes(table)}
        assert Repository(engine).for_tenant("default").get_dataset(ds.id) is not None
        assert Repository(engine).for_tenant("other").get_dataset(ds.id) is None
        make_engine(PG_URL).dispose()  # a second start: nothing to add, nothing fails
    finally:
        Base.metadata.drop_all(engine)
        engine.dispose()


@pytest.mark.skipif(not PG_URL, reason="set TOUCHPOINTS_TEST_POSTGRES_URL to run against PostgreSQL")
def test_postgres_keys_and_tenants_over_http(settings, pipeline):
    engine = make_engine(PG_URL)
    Base.metadata.drop_all(engine)
    engine.dispose()
    s = auth_settings(settings, Path("unused")).model_copy(update={"database_url": PG_URL})
    store = ApiKeyStore(make_engine(PG_URL))
    (_, a), (b_info, b) = store.create("acme", "a"), store.create("beta", "b")
    try:
        with TestClient(create_app(s, pipeline=pipeline)) as c:
            job = upload(c, a, "/v1/jobs/upload").json()["id"]
            assert wait_done(c, a, job)["status"] == "completed"
            assert c.get(f"/v1/jobs/{job}", headers=bearer(b)).status_code == 404
            model_id = c.get(f"/v1/jobs/{job}/themes", headers=bearer(a)).json()["model_id"]
            assert c.get(f"/v2/themes/models/{model_id}", headers=bearer(b)).status_code == 404
            store.revoke(b_info.id)
            assert c.get("/v2/themes/models", headers=bearer(b)).status_code == 401
            assert c.post("/app/sign-in", data={"api_key": a}, follow_redirects=False).status_code == 303
            assert job in c.get("/app").text
    finally:
        store.engine.dispose()
        engine = make_engine(PG_URL)
        Base.metadata.drop_all(engine)
        engine.dispose()
