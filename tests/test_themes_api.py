"""The /v1/themes HTTP contract through the real app (see conftest: max 50 comments per request)."""

from __future__ import annotations

from training.eval_themes import load_parallel

TEXTS, LANGS, GOLD, GROUPS = load_parallel()
# 12 groups x 4 languages = 48 comments: delivery, customer service, billing, price, after-sales, staff...
PICK = ["p01", "p02", "p05", "p06", "p16", "p17", "p19", "p20", "p29", "p30", "p33", "p34"]
COMMENTS = [{"id": f"{g}-{l}", "text": t} for t, l, g in zip(TEXTS, LANGS, GROUPS) if g in PICK]


def _cluster(client, comments=COMMENTS, **body):
    return client.post("/v1/themes/cluster", json={"comments": comments, **body})


def test_cluster_groups_translations_together(client):
    r = _cluster(client)
    assert r.status_code == 200, r.text
    body = r.json()
    rep = body["report"]
    assert rep["n_comments"] == len(COMMENTS) and body["ids"] == [c["id"] for c in COMMENTS]
    primary = {i: (a[0]["theme_id"] if a else None) for i, a in zip(body["ids"], rep["assignments"])}
    same = sum(len({primary[f"{g}-{l}"] for l in ("sv", "da", "fi", "en")}) == 1 for g in PICK)
    assert same >= 10, primary
    assert rep["n_unassigned"] == sum(1 for a in rep["assignments"] if not a)
    labels = {t["touchpoint"] for t in rep["themes"]}
    assert {"delivery", "customer_service", "billing_invoice", "price", "after_sales", "staff"} <= labels
    t0 = rep["themes"][0]
    assert t0["representative"][0]["id"] in body["ids"] and t0["sentiment"]["counts"].keys() == {"negative", "neutral", "positive"}
    assert body["models"]["themes"].startswith("lexicon-")


def test_cluster_is_deterministic_and_n_themes_is_honoured(client):
    a, b = _cluster(client).json(), _cluster(client).json()
    assert a["model_id"] == b["model_id"] and a["report"] == b["report"]
    r = _cluster(client, n_themes=3)
    assert r.status_code == 200 and r.json()["report"]["n_themes"] == 3
    assert r.json()["model_id"] != a["model_id"]


def test_assign_new_comments_without_reclustering(client):
    cl = _cluster(client).json()
    new = [{"id": "n1", "text": "Leveransen kom en vecka för sent."},
           {"id": "n2", "text": "Laskussa oli väärä summa."},
           {"id": "n3", "text": "12345"}]
    by_id = client.post("/v1/themes/assign", json={"comments": new, "model_id": cl["model_id"]})
    assert by_id.status_code == 200, by_id.text
    res = {x["id"]: x["themes"] for x in by_id.json()["results"]}
    assert res["n1"][0]["touchpoint"] == "delivery" and res["n2"][0]["touchpoint"] == "billing_invoice"
    assert res["n3"] == [] and by_id.json()["n_unassigned"] == 1
    theme_ids = {t["theme_id"] for t in cl["report"]["themes"]}
    assert {res["n1"][0]["theme_id"], res["n2"][0]["theme_id"]} <= theme_ids
    # Stateless: the report's themes give the same answer without the server-side model.
    inline = client.post("/v1/themes/assign", json={"comments": new[:2], "themes": cl["report"]["themes"]}).json()
    assert [x["themes"][0]["theme_id"] for x in inline["results"]] == [res["n1"][0]["theme_id"], res["n2"][0]["theme_id"]]
    # No model at all: taxonomy touchpoints, as in /v1/comments/analyze.
    tax = client.post("/v1/themes/assign", json={"comments": new[:1]}).json()
    assert tax["results"][0]["themes"][0]["theme_id"] == "delivery" and tax["model_id"] is None


def test_theme_routes_are_documented(client):
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/v1/themes/cluster", "/v1/themes/assign", "/v1/themes/taxonomy"} <= set(paths)


def test_comments_without_any_theme_are_reported_unassigned(client):
    r = _cluster(client, comments=[{"id": "a", "text": "👍"}, {"id": "b", "text": "😀😀"}])
    assert r.status_code == 200 and r.json()["report"]["n_unassigned"] == 2 and r.json()["report"]["themes"] == []


def test_taxonomy_endpoint(client):
    r = client.get("/v1/themes/taxonomy")
    assert r.status_code == 200
    body = r.json()
    delivery = next(t for t in body["touchpoints"] if t["key"] == "delivery")
    terms = delivery["concepts"][0]["terms"]
    assert set(terms) == {"sv", "da", "fi", "en"} and all(terms.values())
    assert any(c["id"] == "food_drink" for c in body["discovery_concepts"])


def test_analyze_fills_theme_fields(client):
    r = client.post("/v1/comments/analyze", json={"comments": [{"id": "1", "text": "Asiakaspalvelu ei vastannut."}]})
    assert r.status_code == 200
    assert r.json()["results"][0]["themes"][0]["touchpoint"] == "customer_service"


# --- bad input: always a 4xx with a reason, never a 500 ------------------------------

def test_cluster_bad_input_is_4xx(client):
    ok = COMMENTS[:4]
    cases = [
        ({"comments": []}, 422),
        ({"comments": ok, "n_themes": 0}, 422),
        ({"comments": ok, "n_themes": 10_000}, 422),
        ({"comments": ok, "extra": 1}, 422),
        ({"comments": [*ok, {"id": "x", "text": "  "}]}, 422),
        ({"comments": [ok[0], ok[0]]}, 422),
        ({"comments": [{"id": f"i{i}", "text": "Bra leverans"} for i in range(51)]}, 413),
    ]
    for body, status in cases:
        r = client.post("/v1/themes/cluster", json=body)
        assert r.status_code == status, (body, r.text)
        assert r.json()["error"] == ("too_many_comments" if status == 413 else "invalid_request")
    r = client.post("/v1/themes/cluster", content=b"{not json", headers={"content-type": "application/json"})
    assert r.status_code == 422 and r.json()["error"] == "invalid_request", r.text


def test_cluster_report_mode_lists_unusable_comments(client):
    r = client.post("/v1/themes/cluster", params={"on_invalid": "report"},
                    json={"comments": [*COMMENTS[:4], {"id": "bad", "text": "x\x07y"}]})
    assert r.status_code == 200 and [e["id"] for e in r.json()["errors"]] == ["bad"]
    r = client.post("/v1/themes/cluster", params={"on_invalid": "report"}, json={"comments": [{"id": "b", "text": " "}]})
    assert r.status_code == 422


def test_assign_bad_input_is_4xx(client):
    c = COMMENTS[:1]
    r = client.post("/v1/themes/assign", json={"comments": c, "model_id": "tm-unknown"})
    assert r.status_code == 404 and r.json()["error"] == "unknown_model"
    theme = {"theme_id": "t", "label": "T", "centroid": {"delivery": 1.0}}
    assert client.post("/v1/themes/assign", json={"comments": c, "model_id": "x", "themes": [theme]}).status_code == 422
    bad = {**theme, "centroid": {"no_such_concept": 1.0}}
    r = client.post("/v1/themes/assign", json={"comments": c, "themes": [bad]})
    assert r.status_code == 422 and "no_such_concept" in str(r.json()["detail"])
    assert client.post("/v1/themes/assign", json={"comments": c, "themes": [{**theme, "centroid": {}}]}).status_code == 422
    assert client.post("/v1/themes/assign", json={"comments": [{"id": "1", "text": ""}]}).status_code == 422
    nan = '{"comments": [{"id": "1", "text": "Bra"}], "themes": [{"theme_id": "t", "label": "T", "centroid": {"delivery": NaN}}]}'
    r = client.post("/v1/themes/assign", content=nan, headers={"content-type": "application/json"})
    assert r.status_code == 422, r.text
