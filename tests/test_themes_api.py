"""The /v2/themes HTTP contract through the real app (see conftest: max 50 comments per request).

Stored theme models (tp_theme_models): cluster -> model_id -> assign / read / rename / merge / split / delete,
surviving a re-created app on the same database. /v1/themes/cluster and /assign are retired (410).
"""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from service.api.app import create_app
from training.themes_data import load_parallel

TEXTS, LANGS, GOLD, GROUPS = load_parallel()
LANGUAGES = ("sv", "da", "fi", "en")
# 12 groups x 4 languages = 48 comments: 10 taxonomy touchpoints + packaging and ambience (outside the taxonomy)
PICK = ["p01", "p02", "p05", "p06", "p16", "p17", "p19", "p29", "p30", "p33", "p47", "p48"]
GOLD_OF = dict(zip(GROUPS, GOLD))
MONTH = {"sv": 1, "da": 2, "fi": 3, "en": 4}


def _comments(groups: list[str]) -> list[dict]:
    """The parallel comments of ``groups``; delivery complaints come with NPS detractor scores."""
    out = []
    for k, (t, lang, g) in enumerate(zip(TEXTS, LANGS, GROUPS)):
        if g in groups:
            score = 2 if GOLD_OF[g] == "delivery" else (10, 9, 8, 4)[k % 4]
            out.append({"id": f"{g}-{lang}", "text": t,
                        "metadata": {"score": score, "timestamp": f"2024-0{MONTH[lang]}-15T12:00:00Z"}})
    return out


COMMENTS = _comments(PICK)
NEW = [{"id": "n1", "text": "Leveransen kom en vecka för sent."},
       {"id": "n2", "text": "Laskussa oli väärä summa."},
       {"id": "n3", "text": "12345"}]


def _cluster(client: TestClient, comments: list[dict], **body) -> dict:
    r = client.post("/v2/themes/cluster", json={"comments": comments, **body})
    assert r.status_code == 200, r.text
    return r.json()


def _assign(client: TestClient, comments: list[dict], model_id: str | None = None) -> dict:
    r = client.post("/v2/themes/assign", json={"comments": comments, "model_id": model_id})
    assert r.status_code == 200, r.text
    return r.json()


def _model(client: TestClient, model_id: str) -> dict:
    r = client.get(f"/v2/themes/models/{model_id}")
    assert r.status_code == 200, r.text
    return r.json()


@pytest.fixture(scope="module")
def clustered(client: TestClient) -> dict:
    """One clustering of the 48 comments, shared by the read-only tests (edits use their own models)."""
    return _cluster(client, COMMENTS)


def _main(body: dict) -> dict[str, str | None]:
    rep = body["report"]
    return {i: (a[0]["theme_id"] if a else None) for i, a in zip(rep["ids"], rep["assignments"])}


# --- cluster ------------------------------------------------------------------------------

def test_cluster_groups_translations_under_one_main_theme(clustered):
    rep = clustered["report"]
    assert rep["model_id"] == clustered["model_id"] and rep["n_comments"] == len(COMMENTS)
    assert rep["ids"] == [c["id"] for c in COMMENTS] and clustered["errors"] == []
    main = _main(clustered)
    same = [g for g in PICK if len({main[f"{g}-{lang}"] for lang in LANGUAGES}) == 1]
    assert len(same) >= 10, main
    tp = {t["theme_id"]: t["touchpoint"] for t in rep["themes"]}
    right = [g for g in PICK if GOLD_OF[g] != "packaging" and GOLD_OF[g] != "ambience"
             and tp.get(main[f"{g}-en"]) == GOLD_OF[g]]
    assert len(right) >= 9, (right, main)
    assert rep["n_unassigned"] == sum(1 for a in rep["assignments"] if not a)
    assert clustered["models"]["themes"].startswith("themes-e5-") and rep["model_version"] == clustered["models"]["themes"]


def test_report_has_keywords_representatives_sentiment_impact_and_trend(clustered):
    rep = clustered["report"]
    ids = set(rep["ids"])
    tops = [t for t in rep["themes"] if t["level"] == 1 and t["size"] >= 4]
    assert len(tops) >= 8
    for t in tops:  # each holds whole groups of 4 translations: central comments in every language
        assert set(t["representative"]) == set(LANGUAGES), (t["theme_id"], list(t["representative"]))
        for lang, reps in t["representative"].items():
            assert reps and all(r["id"] in ids and r["language"] == lang for r in reps)
        assert t["sentiment"]["counts"].keys() == {"negative", "neutral", "positive"}
    assert sum(1 for t in tops if t["keywords"]) >= len(tops) // 2
    assert all(lang in LANGUAGES for t in rep["themes"] for lang in t["keywords"])
    assert rep["sentiment_level"] == "clause" and rep["score_metric"] == "nps"
    delivery = next(t for t in rep["themes"] if t["theme_id"] == "delivery")
    assert delivery["impact"]["difference"] < 0  # its comments are the detractors
    assert [p["period"] for p in delivery["trend"]] == ["2024-01", "2024-02", "2024-03", "2024-04"]
    subs = [t for t in rep["themes"] if t["level"] == 2]
    assert subs and all(s["parent_id"] in {t["theme_id"] for t in rep["themes"]} for s in subs)


def test_include_assignments_false_omits_them(client):
    body = _cluster(client, COMMENTS[:8], include_assignments=False)
    assert body["report"]["assignments"] == [] and body["report"]["ids"] is None
    assert body["report"]["themes"]


def test_stored_model_is_readable_and_listed(client, clustered):
    got = _model(client, clustered["model_id"])
    assert got["report"] == clustered["report"] and got["n_comments"] == len(COMMENTS)
    ids = {t["theme_id"] for t in got["themes"]}
    # every touchpoint of the taxonomy is a theme of the model (assignable), plus the report's sub-themes
    keys = [t["key"] for t in client.get("/v1/themes/taxonomy").json()["touchpoints"]]
    assert {k.replace("_", "-") for k in keys} <= ids
    assert {t["theme_id"] for t in got["report"]["themes"]} <= ids
    sizes = {t["theme_id"]: t["size"] for t in got["report"]["themes"]}
    assert all(t["size"] == sizes.get(t["theme_id"], 0) for t in got["themes"])
    listed = client.get("/v2/themes/models").json()["models"]
    assert clustered["model_id"] in {m["model_id"] for m in listed}


# --- assign -------------------------------------------------------------------------------

def test_assign_without_model_uses_the_taxonomy(client):
    body = _assign(client, NEW)
    res = {x["id"]: x["themes"] for x in body["results"]}
    assert res["n1"][0]["theme_id"] == "delivery" and res["n2"][0]["touchpoint"] == "billing_invoice"
    assert res["n3"] == [] and body["n_unassigned"] == 1 and body["model_id"] is None
    assert all(t["subtheme_id"] is None for ts in res.values() for t in ts)  # the taxonomy has no sub-themes


def test_assign_to_stored_model_survives_app_recreation(client, settings, clustered):
    """The model comes from the database, not from the process: a new app gives the same answer."""
    comments = [*NEW, *({"id": c["id"], "text": c["text"]} for c in COMMENTS[::3])]
    before = _assign(client, comments, clustered["model_id"])
    assert before["model_id"] == clustered["model_id"]
    res = {x["id"]: x["themes"] for x in before["results"]}
    assert res["n1"][0]["theme_id"] == "delivery" and res["n2"][0]["theme_id"] == "billing-invoice"
    assert any(t["subtheme_id"] for ts in res.values() for t in ts)  # the fitted sub-themes, not the taxonomy alone
    report_ids = {t["theme_id"] for t in clustered["report"]["themes"]}
    assert {t["subtheme_id"] for ts in res.values() for t in ts if t["subtheme_id"]} <= report_ids
    with TestClient(create_app(settings)) as fresh:
        after = _assign(fresh, comments, clustered["model_id"])
        assert _model(fresh, clustered["model_id"])["report"] == clustered["report"]
    assert after["results"] == before["results"]


# --- edits --------------------------------------------------------------------------------

EDIT_GROUPS = ["p01", "p02", "p16", "p17", "p29", "p30"]  # delivery, billing, after-sales: 24 comments


def test_rename_is_kept_for_later_assignments(client):
    body = _cluster(client, _comments(EDIT_GROUPS))
    mid = body["model_id"]
    r = client.patch(f"/v2/themes/models/{mid}/themes/delivery", json={"label": "Shipping", "labels": {"sv": "Frakt"}})
    assert r.status_code == 200, r.text
    assert r.json()["changed"] == ["delivery"]
    theme = next(t for t in r.json()["themes"] if t["theme_id"] == "delivery")
    assert theme["label"] == "Shipping" and theme["labels"] == {"sv": "Frakt"} and theme["edited"]
    got = _assign(client, NEW[:1], mid)["results"][0]["themes"][0]
    assert got["theme_id"] == "delivery" and got["label"] == "Shipping"
    assert _assign(client, NEW[:1])["results"][0]["themes"][0]["label"] == "Delivery"  # the taxonomy is untouched
    rep = _model(client, mid)["report"]  # rebuilt: the new label, the same sizes
    before = {t["theme_id"]: t["size"] for t in body["report"]["themes"]}
    assert {t["theme_id"]: t["size"] for t in rep["themes"]} == before
    assert next(t for t in rep["themes"] if t["theme_id"] == "delivery")["label"] == "Shipping"
    assert all(a[0]["label"] == "Shipping" for a, i in zip(rep["assignments"], rep["ids"]) if i.startswith("p01-"))


def test_merge_is_kept_and_merged_away_ids_never_return(client):
    body = _cluster(client, _comments(EDIT_GROUPS))
    mid = body["model_id"]
    sizes = {t["theme_id"]: t["size"] for t in body["report"]["themes"]}
    r = client.post(f"/v2/themes/models/{mid}/merge", json={"theme_ids": ["delivery", "billing-invoice"], "label": "Orders"})
    assert r.status_code == 200, r.text
    assert r.json()["changed"] == ["delivery"] and "billing-invoice" not in {t["theme_id"] for t in r.json()["themes"]}
    probe = [*NEW[:2], *({"id": c["id"], "text": c["text"]} for c in _comments(["p16", "p17"]))]
    res = _assign(client, probe, mid)["results"]
    assert all(t["theme_id"] != "billing-invoice" for x in res for t in x["themes"])
    billing = [x["themes"][0] for x in res if x["id"] != "n1"]
    assert all(t["theme_id"] == "delivery" and t["label"] == "Orders" for t in billing), billing
    rep = _model(client, mid)["report"]
    ids = {t["theme_id"] for t in rep["themes"]} | {t["subtheme_id"] for a in rep["assignments"] for t in a}
    assert "billing-invoice" not in ids
    assert next(t for t in rep["themes"] if t["theme_id"] == "delivery")["size"] == sizes["delivery"] + sizes["billing-invoice"]
    r = client.patch(f"/v2/themes/models/{mid}/themes/billing-invoice", json={"label": "x"})
    assert r.status_code == 404 and r.json()["error"] == "unknown_theme"


def test_split_creates_subthemes_listed_in_the_model(client):
    body = _cluster(client, _comments(EDIT_GROUPS))
    mid = body["model_id"]
    old_subs = {t["theme_id"] for t in body["report"]["themes"] if t["parent_id"] == "after-sales"}
    r = client.post(f"/v2/themes/models/{mid}/themes/after-sales/split", json={"n": 2})
    assert r.status_code == 200, r.text
    new = r.json()["changed"]
    assert len(new) == 2 and not set(new) & old_subs
    listed = {t["theme_id"]: t for t in _model(client, mid)["themes"]}
    assert all(listed[t]["parent_id"] == "after-sales" and listed[t]["edited"] and listed[t]["level"] == 2 for t in new)
    assert not old_subs & set(listed)  # the split replaced the fitted sub-themes
    rep = _model(client, mid)["report"]
    in_report = {t["theme_id"]: t["size"] for t in rep["themes"] if t["parent_id"] == "after-sales"}
    assert set(in_report) <= set(new) and sum(in_report.values()) > 0
    probe = [{"id": c["id"], "text": c["text"]} for c in _comments(["p29", "p30"])]
    subs = {t["subtheme_id"] for x in _assign(client, probe, mid)["results"] for t in x["themes"]
            if t["theme_id"] == "after-sales"}
    assert subs & set(new) and not subs & old_subs


def test_delete_model(client):
    mid = _cluster(client, COMMENTS[:8])["model_id"]
    assert client.delete(f"/v2/themes/models/{mid}").status_code == 204
    assert client.get(f"/v2/themes/models/{mid}").status_code == 404
    assert client.post("/v2/themes/assign", json={"comments": NEW[:1], "model_id": mid}).status_code == 404
    assert client.delete(f"/v2/themes/models/{mid}").status_code == 404


def test_store_refuses_an_edit_over_a_changed_model_and_a_changed_taxonomy_is_409(client):
    store = client.app.state.theme_models
    comp = client.app.state.pipeline.themes.components
    mid = _cluster(client, COMMENTS[:8])["model_id"]
    first, second = store.open(mid, comp), store.open(mid, comp)
    first.model.rename("delivery", "First")
    assert store.update(mid, first.model, first.report, revision=first.revision)
    second.model.rename("delivery", "Second")  # read before the first edit was saved: refused, not lost
    assert not store.update(mid, second.model, second.report, revision=second.revision)
    assert next(t for t in _model(client, mid)["themes"] if t["theme_id"] == "delivery")["label"] == "First"
    stale = comp.taxonomy_model()
    stale.themes_[0].touchpoint = "retired_touchpoint"  # as if fitted with another taxonomy
    sid = store.save(stale, first.report)
    for r in (client.get(f"/v2/themes/models/{sid}"),
              client.post("/v2/themes/assign", json={"comments": NEW[:1], "model_id": sid}),
              client.patch(f"/v2/themes/models/{sid}/themes/delivery", json={"label": "x"})):
        assert r.status_code == 409 and r.json()["error"] == "model_outdated" and "taxonomy" in r.json()["detail"], r.text
    assert client.delete(f"/v2/themes/models/{sid}").status_code == 204


# --- errors: a 4xx with a reason, never a 5xx ----------------------------------------------

def test_unknown_model_or_theme_is_404(client, clustered):
    mid = clustered["model_id"]
    for method, path, body in [
        ("get", "/v2/themes/models/nope", None), ("delete", "/v2/themes/models/nope", None),
        ("patch", "/v2/themes/models/nope/themes/delivery", {"label": "x"}),
        ("post", "/v2/themes/models/nope/merge", {"theme_ids": ["delivery", "price"]}),
        ("post", "/v2/themes/models/nope/themes/delivery/split", {"n": 2}),
        ("post", "/v2/themes/assign", {"comments": NEW[:1], "model_id": "nope"}),
    ]:
        r = client.request(method, path, json=body)
        assert r.status_code == 404 and r.json()["error"] == "unknown_model" and "nope" in r.json()["detail"], (path, r.text)
    for method, path, body in [
        ("patch", f"/v2/themes/models/{mid}/themes/no-such-theme", {"label": "x"}),
        ("post", f"/v2/themes/models/{mid}/merge", {"theme_ids": ["delivery", "no-such-theme"]}),
        ("post", f"/v2/themes/models/{mid}/themes/no-such-theme/split", {"n": 2}),
    ]:
        r = client.request(method, path, json=body)
        assert r.status_code == 404 and r.json()["error"] == "unknown_theme" and "no-such-theme" in r.json()["detail"], r.text


def test_bad_edits_are_422_and_change_nothing(client, clustered):
    mid = clustered["model_id"]
    themes = _model(client, mid)["themes"]
    empty = next(t["theme_id"] for t in themes if t["level"] == 1 and t["size"] == 0)  # no stored members
    sub = next(t for t in themes if t["level"] == 2)
    cases = [
        ("patch", "themes/delivery", {"label": ""}, "invalid_request"),
        ("patch", "themes/delivery", {"label": "x", "extra": 1}, "invalid_request"),
        ("post", "merge", {"theme_ids": ["delivery"]}, "invalid_request"),
        ("post", "merge", {"theme_ids": ["delivery", "delivery"]}, "invalid_edit"),
        ("post", "merge", {"theme_ids": ["delivery", sub["theme_id"]]}, "invalid_edit"),  # different levels
        ("post", "themes/delivery/split", {"n": 1}, "invalid_request"),
        ("post", "themes/delivery/split", {"n": 9}, "invalid_request"),
        ("post", f"themes/{empty}/split", {"n": 2}, "invalid_edit"),
    ]
    for method, path, body, error in cases:
        r = client.request(method, f"/v2/themes/models/{mid}/{path}", json=body)
        assert r.status_code == 422 and r.json()["error"] == error and r.json()["detail"], (path, body, r.text)
    assert _model(client, mid)["report"] == clustered["report"]


def test_cluster_bad_input_is_4xx(client):
    ok = COMMENTS[:4]
    cases = [
        ({"comments": []}, 422, "invalid_request"),
        ({"comments": ok, "extra": 1}, 422, "invalid_request"),
        ({"comments": ok, "n_themes": 3}, 422, "invalid_request"),  # the v1 parameter is gone
        ({"comments": [*ok, {"id": "x", "text": "  "}]}, 422, "invalid_request"),
        ({"comments": [ok[0], ok[0]]}, 422, "invalid_request"),
        ({"comments": [{"id": f"i{i}", "text": "Bra leverans"} for i in range(51)]}, 413, "too_many_comments"),
    ]
    for body, status, error in cases:
        r = client.post("/v2/themes/cluster", json=body)
        assert r.status_code == status and r.json()["error"] == error, (body, r.text)
    r = client.post("/v2/themes/cluster", content=b"{not json", headers={"content-type": "application/json"})
    assert r.status_code == 422 and r.json()["error"] == "invalid_request", r.text
    r = client.post("/v2/themes/cluster", params={"on_invalid": "report"}, json={"comments": [{"id": "b", "text": " "}]})
    assert r.status_code == 422 and "no usable" in str(r.json()["detail"])


def test_cluster_report_mode_lists_unusable_comments(client):
    r = client.post("/v2/themes/cluster", params={"on_invalid": "report"},
                    json={"comments": [*COMMENTS[:4], {"id": "bad", "text": "x\x07y"}]})
    assert r.status_code == 200 and [e["id"] for e in r.json()["errors"]] == ["bad"]
    assert r.json()["report"]["n_comments"] == 4


def test_assign_bad_input_is_4xx(client):
    assert client.post("/v2/themes/assign", json={"comments": [{"id": "1", "text": ""}]}).status_code == 422
    r = client.post("/v2/themes/assign", json={"comments": NEW[:1], "themes": []})  # the v1 inline themes are gone
    assert r.status_code == 422
    r = client.post("/v2/themes/assign", params={"on_invalid": "report"}, json={"comments": [{"id": "1", "text": " "}]})
    assert r.status_code == 200 and r.json()["results"][0]["status"] == "error" and r.json()["n_unassigned"] == 0


def test_v1_cluster_and_assign_are_gone(client):
    for path, new in (("/v1/themes/cluster", "/v2/themes/cluster"), ("/v1/themes/assign", "/v2/themes/assign")):
        for body in ({"comments": COMMENTS[:2]}, {"anything": 1}):
            r = client.post(path, json=body)
            assert r.status_code == 410 and r.json()["error"] == "gone" and new in r.json()["detail"], r.text


# --- taxonomy and docs ----------------------------------------------------------------------

def test_taxonomy_endpoint_lists_examples(client):
    r = client.get("/v1/themes/taxonomy")
    assert r.status_code == 200
    body = r.json()
    assert body["model_version"].startswith("themes-e5-")
    delivery = next(t for t in body["touchpoints"] if t["key"] == "delivery")
    assert set(delivery["examples"]) == set(LANGUAGES) and all(delivery["examples"].values())
    assert delivery["description"] and delivery["labels"]["sv"] and "parcel" in delivery["concepts"]
    assert all(isinstance(c, str) for t in body["touchpoints"] for c in t["concepts"])


def test_theme_routes_are_documented(client):
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/v2/themes/cluster", "/v2/themes/assign", "/v2/themes/models", "/v2/themes/models/{model_id}",
            "/v2/themes/models/{model_id}/themes/{theme_id}", "/v2/themes/models/{model_id}/merge",
            "/v2/themes/models/{model_id}/themes/{theme_id}/split", "/v1/themes/taxonomy"} <= set(paths)
    assert paths["/v1/themes/cluster"]["post"]["deprecated"] is True


def test_analyze_fills_theme_fields(client):
    r = client.post("/v1/comments/analyze", json={"comments": [{"id": "1", "text": "Asiakaspalvelu ei vastannut."}]})
    assert r.status_code == 200
    assert r.json()["results"][0]["themes"][0]["touchpoint"] == "customer_service"
