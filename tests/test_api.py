"""The HTTP contract of the service, exercised through the real ASGI app."""

from __future__ import annotations


def _analyze(client, comments, **params):
    return client.post("/v1/comments/analyze", json={"comments": comments}, params=params)


def test_healthz(client):
    r = client.get("/healthz")
    assert r.status_code == 200 and r.json()["status"] == "ok"


def test_readyz_reports_components(client):
    r = client.get("/readyz")
    body = r.json()
    assert r.status_code == 200 and body["ready"] is True  # every shipped model is in the repo or a wheel
    assert body["components"]["language"].startswith("ensemble:charngram-")
    assert "+combiner-" in body["components"]["language"]  # the calibrated combiner names its artefact


def test_openapi_docs_served(client):
    assert client.get("/docs").status_code == 200
    spec = client.get("/openapi.json").json()
    assert "/v1/comments/analyze" in spec["paths"]


def test_analyze_detects_languages_and_echoes_ids(client):
    comments = [
        {"id": "sv1", "text": "Leveransen kom i tid och personalen var trevlig."},
        {"id": "da1", "text": "God service, hurtig levering og venlige medarbejdere."},
        {"id": "fi1", "text": "Hyvä palvelu ja nopea toimitus, kiitos!"},
        {"id": "en1", "text": "The delivery was late and nobody answered the phone."},
        {"id": "emoji", "text": "👍👍"},
    ]
    r = _analyze(client, comments)
    assert r.status_code == 200, r.text
    body = r.json()
    got = {x["id"]: x["language"]["code"] for x in body["results"]}
    assert got == {"sv1": "sv", "da1": "da", "fi1": "fi", "en1": "en", "emoji": "und"}
    assert [x["id"] for x in body["results"]] == [c["id"] for c in comments]
    assert body["request_id"] == r.headers["x-request-id"]


def test_language_hint_is_used_for_ambiguous_short_text(client):
    r = _analyze(client, [{"id": "1", "text": "Bra", "language": "sv"}])
    lang = r.json()["results"][0]["language"]
    assert lang == {**lang, "code": "sv", "source": "hint", "hint_conflict": False}


def test_language_hint_conflict_is_reported(client):
    r = _analyze(client, [{"id": "1", "text": "Kiitos oikein paljon nopeasta toimituksesta", "language": "sv"},
                          {"id": "2", "text": "Tack för snabb leverans", "language": "sv"}])
    first, second = (x["language"] for x in r.json()["results"])
    assert first["code"] == "fi" and first["source"] == "detected" and first["hint_conflict"] is True
    assert second["code"] == "sv" and second["hint_conflict"] is False


def test_metadata_passes_through(client):
    meta = {"survey_id": "s-1", "question_id": "q-7", "timestamp": "2026-11-01T10:00:00Z", "score": 9, "channel": "app"}
    r = _analyze(client, [{"id": "1", "text": "Great app", "metadata": meta}])
    out = r.json()["results"][0]["metadata"]
    assert out["survey_id"] == "s-1" and out["score"] == 9 and out["channel"] == "app"


def test_caller_request_id_is_echoed(client):
    r = client.post("/v1/comments/analyze", json={"comments": [{"id": "1", "text": "ok"}]},
                    headers={"X-Request-ID": "abc-123"})
    assert r.headers["x-request-id"] == "abc-123" and r.json()["request_id"] == "abc-123"


# --- bad input: always a 4xx with a reason, never a 500 ------------------------------

def test_empty_and_whitespace_text_rejected_with_location(client):
    r = _analyze(client, [{"id": "a", "text": "fine"}, {"id": "b", "text": "   \n"}, {"id": "c", "text": ""}])
    assert r.status_code == 422
    locs = [d["loc"] for d in r.json()["detail"]]
    assert locs == [["body", "comments", 1, "text"], ["body", "comments", 2, "text"]]


def test_report_mode_keeps_valid_comments(client):
    r = _analyze(client, [{"id": "a", "text": "Snabb leverans"}, {"id": "b", "text": "x\x07y"}], on_invalid="report")
    assert r.status_code == 200
    a, b = r.json()["results"]
    assert a["status"] == "ok" and a["language"]["code"] == "sv"
    assert b["status"] == "error" and "U+0007" in b["error"]


def test_control_characters_rejected(client):
    r = _analyze(client, [{"id": "a", "text": "bad\x00text"}])
    assert r.status_code == 422 and "U+0000" in r.json()["detail"][0]["msg"]


def test_too_long_comment_rejected(client, settings):
    r = _analyze(client, [{"id": "a", "text": "x" * (settings.max_chars_per_comment + 1)}])
    assert r.status_code == 422 and "limit" in r.json()["detail"][0]["msg"]


def test_too_many_comments_is_413(client, settings):
    n = settings.max_comments_per_request + 1
    r = _analyze(client, [{"id": str(i), "text": "ok"} for i in range(n)])
    assert r.status_code == 413 and r.json()["error"] == "too_many_comments"


def test_huge_body_is_413(client, settings):
    r = client.post("/v1/comments/analyze", content=b"x" * (settings.max_request_bytes + 10),
                    headers={"content-type": "application/json"})
    assert r.status_code == 413


def test_invalid_utf8_is_400_with_reason(client):
    r = client.post("/v1/comments/analyze", content=b'{"comments":[{"id":"1","text":"caf\xe9"}]}',
                    headers={"content-type": "application/json"})
    assert r.status_code == 400 and "UTF-8" in r.json()["detail"]


def test_malformed_json_is_422(client):
    r = client.post("/v1/comments/analyze", content=b'{"comments": [', headers={"content-type": "application/json"})
    assert r.status_code == 422


def test_schema_violations_are_422(client):
    for payload in ({}, {"comments": []}, {"comments": [{"text": "no id"}]}, {"comments": [{"id": "1", "text": 5}]},
                    {"comments": [{"id": "1", "text": "x", "unknown": 1}]}, {"comments": "nope"}):
        r = client.post("/v1/comments/analyze", json=payload)
        assert r.status_code == 422, (payload, r.text)
        assert r.json()["error"] == "invalid_request"


def test_duplicate_ids_rejected(client):
    r = _analyze(client, [{"id": "1", "text": "a b"}, {"id": "1", "text": "c d"}])
    assert r.status_code == 422 and r.json()["detail"][0]["type"] == "duplicate_id"
