"""The web app's edits beyond rename/merge/split, and what they feed: moved comments, keyword themes,
versions with undo, XLSX exports, share links and the UI language.

One small multilingual dump (``webapp_helpers.write_dump``) per module, uploaded through the real
HTTP app; edits go through the app's forms, then the job's comments are read back from the pages,
the exports and ``/v2/themes`` (so what is checked is what a person or a client would see).
"""

from __future__ import annotations

import html
import io
import re

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import text

from service.api.app import create_app
from service.storage.repository import ThemeFilter
from service.themes.model import phrase_pattern
from webapp_helpers import TEXTS, LANGS, GROUPS, PICK, app_settings, report, tops, upload_and_wait, wait_fresh, write_dump


@pytest.fixture(scope="module")
def app(client, settings, tmp_path_factory):
    db = tmp_path_factory.mktemp("webapp-edits") / "edits.db"
    with TestClient(create_app(app_settings(settings, db), pipeline=client.app.state.pipeline)) as c:
        yield c


@pytest.fixture(scope="module")
def job(app, tmp_path_factory) -> str:
    return upload_and_wait(app, write_dump(tmp_path_factory.mktemp("dump") / "survey-edits.csv"))


def rows_of(app: TestClient, job_id: str, theme_id: str) -> set[int]:
    page = app.get(f"/app/jobs/{job_id}/themes/{theme_id}").text
    return {int(r) for r in re.findall(r'<tr data-row="(\d+)"', page)}


def history(app: TestClient, job_id: str) -> list[dict]:
    r = app.get(f"/v2/themes/models/{report(app, job_id)['model_id']}/history")
    assert r.status_code == 200, r.text
    return r.json()["versions"]


def test_move_comments_to_another_theme_is_kept_and_versioned(app, job):
    a, b = sorted(tops(report(app, job)), key=lambda t: -t["size"])[:2]
    moving = sorted(rows_of(app, job, a["theme_id"]) - rows_of(app, job, b["theme_id"]))[:2]
    assert moving
    page = app.get(f"/app/jobs/{job}/themes/{a['theme_id']}").text
    assert 'id="move-form"' in page and 'for="move-target"' in page and f'value="{b["theme_id"]}"' in page
    r = app.post(f"/app/jobs/{job}/themes/{a['theme_id']}/move",
                 data={"rows": [str(x) for x in moving], "target": b["theme_id"]}, follow_redirects=False)
    assert r.status_code == 303 and "error=" not in r.headers["location"], r.headers["location"]
    assert wait_fresh(app, job)["state"] == "fresh"
    assert not set(moving) & rows_of(app, job, a["theme_id"])
    assert set(moving) <= rows_of(app, job, b["theme_id"])
    latest = history(app, job)[0]
    assert latest["action"] == "move" and latest["author"] == "web app" and latest["params"]["n"] == len(moving)
    assert "moved 2 comments from" in app.get(f"/app/jobs/{job}").text or len(moving) == 1

    # a later re-assignment of the job (any edit) keeps the moved comments where they were put
    other = tops(report(app, job))[-1]
    app.post(f"/app/jobs/{job}/themes/{other['theme_id']}/rename", data={"label": "Renamed later"})
    assert wait_fresh(app, job)["state"] == "fresh"
    assert set(moving) <= rows_of(app, job, b["theme_id"]) and not set(moving) & rows_of(app, job, a["theme_id"])

    # refused: no comment chosen, a sub-theme or the same theme as target
    r = app.post(f"/app/jobs/{job}/themes/{a['theme_id']}/move", data={"target": b["theme_id"]})
    assert r.status_code == 200 and "choose at least one comment to move" in r.text
    r = app.post(f"/app/jobs/{job}/themes/{a['theme_id']}/move", data={"rows": "1", "target": a["theme_id"]})
    assert "choose another theme than the comments&#39; own" in r.text


def expected_matches(phrase: str, language: str | None = None) -> int:
    pat = phrase_pattern(phrase)
    return sum(1 for text, lang, group in zip(TEXTS, LANGS, GROUPS)
               if group in PICK and (language is None or lang == language) and pat.search(text.lower()))


def common_word(language: str) -> str:
    """A word that starts words in several (not all) of the dump's comments in ``language``."""
    texts = [t.lower() for t, lang, g in zip(TEXTS, LANGS, GROUPS) if g in PICK and lang == language]
    words = sorted({w for t in texts for w in re.findall(r"\w{4,}", t)},
                   key=lambda w: (-sum(1 for t in texts if phrase_pattern(w).search(t)), w))
    return next(w for w in words if 2 <= sum(1 for t in texts if phrase_pattern(w).search(t)) < len(texts))


def test_keyword_theme_preview_count_is_what_the_theme_gets(app, job):
    word = common_word("sv")
    n = expected_matches(word, "sv")
    r = app.get(f"/app/jobs/{job}/keyword", params={"phrase": word.upper(), "language": "sv"})
    assert r.status_code == 200
    assert re.search(rf'id="kw-count">{n} ', r.text), r.text[-3000:]
    assert "<mark>" in r.text and 'name="phrase"' in r.text
    r = app.post(f"/app/jobs/{job}/keyword", data={"phrase": word, "language": "sv", "label": "Keyword theme"},
                 follow_redirects=False)
    assert r.status_code == 303 and "/themes/kw-1" in r.headers["location"], r.headers["location"]
    assert wait_fresh(app, job)["state"] == "fresh"
    theme = next(t for t in tops(report(app, job)) if t["theme_id"] == "kw-1")
    assert theme["label"] == "Keyword theme" and theme["size"] == n and theme["n_main"] == n
    repo = app.app.state.jobs.repo
    assert repo.count_theme_comments(job, ThemeFilter(theme_id="kw-1", language="sv")) == n
    assert repo.count_theme_comments(job, ThemeFilter(theme_id="kw-1")) == n  # only Swedish ones
    # later assignment of new comments follows the rule: a new Swedish comment with the word joins the theme
    model_id = report(app, job)["model_id"]
    body = {"model_id": model_id, "comments": [{"id": "new", "text": f"Helt ärligt: {word} igen, varje gång.",
                                                "language": "sv"}]}
    got = app.post("/v2/themes/assign", json=body)
    assert got.status_code == 200, got.text
    assert got.json()["results"][0]["themes"][0]["theme_id"] == "kw-1"
    # a keyword of one character is refused with a reason
    r = app.post(f"/app/jobs/{job}/keyword", data={"phrase": "a"})
    assert "a keyword needs at least two characters" in r.text


def test_undo_restores_the_previous_version_and_the_history_says_so(app, job):
    before = report(app, job)
    t = max(tops(before), key=lambda x: x["size"])
    r = app.post(f"/app/jobs/{job}/themes/{t['theme_id']}/rename", data={"label": "To be undone"})
    assert r.status_code == 200 and wait_fresh(app, job)["state"] == "fresh"
    assert next(x for x in tops(report(app, job)) if x["theme_id"] == t["theme_id"])["label"] == "To be undone"
    overview = app.get(f"/app/jobs/{job}").text
    assert "renamed" in overview and "To be undone" in overview and "Undo the last edit" in overview

    r = app.post(f"/app/jobs/{job}/undo", data={"next": f"/app/jobs/{job}"})
    assert r.status_code == 200 and "undid the last edit" in r.text
    assert wait_fresh(app, job)["state"] == "fresh"
    after = report(app, job)
    assert next(x for x in tops(after) if x["theme_id"] == t["theme_id"])["label"] == t["label"]
    assert after["model_revision"] == before["model_revision"]  # the very state before the rename
    versions = history(app, job)
    assert versions[0]["action"] == "rename" and versions[0]["undone"] and versions[0]["undone_by"] == "web app"
    assert versions[-1]["number"] == 1 and versions[-1]["action"] == "fit"
    # a rename keeps the model's arrays: its version shares them with the version it was made from
    with app.app.state.jobs.repo.engine.connect() as conn:
        stored = conn.execute(text("SELECT number, length(arrays), arrays_of FROM tp_theme_model_versions "
                                   "WHERE model_id = :m ORDER BY number"), {"m": after["model_id"]}).all()
    rename = next(r for r in stored if r[0] == versions[0]["number"])
    assert rename[1] == 0 and rename[2] is not None and stored[0][1] > 0
    assert 'class="undone"' in app.get(f"/app/jobs/{job}").text


def test_api_edits_are_versions_and_undo_through_the_api(app, job):
    model_id = report(app, job)["model_id"]
    n_before = len(history(app, job))
    t = tops(report(app, job))[0]
    r = app.patch(f"/v2/themes/models/{model_id}/themes/{t['theme_id']}", json={"label": "Via the API"})
    assert r.status_code == 200
    versions = history(app, job)
    assert len(versions) == n_before + 1 and versions[0]["author"] == "API" and versions[0]["params"]["label"] == "Via the API"
    r = app.post(f"/v2/themes/models/{model_id}/undo")
    assert r.status_code == 200, r.text
    assert history(app, job)[0]["undone"]
    app.get(f"/app/jobs/{job}")  # the page sees the model moved on and asks for an update
    assert wait_fresh(app, job)["state"] == "fresh"
    assert "Via the API" not in [x["label"] for x in tops(report(app, job))]
    assert app.get("/v2/themes/models/nope/history").status_code == 404


def test_nothing_to_undo_on_a_model_as_fitted(app, tmp_path):
    job_id = upload_and_wait(app, write_dump(tmp_path / "fresh.csv"))
    r = app.post(f"/v2/themes/models/{report(app, job_id)['model_id']}/undo")
    assert r.status_code == 409 and r.json()["error"] == "nothing_to_undo"
    r = app.post(f"/app/jobs/{job_id}/undo", data={"next": f"/app/jobs/{job_id}"})
    assert r.status_code == 200 and "there is no edit to undo" in r.text


def test_xlsx_exports_of_the_current_view_open_in_openpyxl(app, job):
    rep = report(app, job)
    theme = max(tops(rep), key=lambda t: t["size"])
    r = app.get(f"/app/jobs/{job}/themes/{theme['theme_id']}/comments.xlsx")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/vnd.openxmlformats")
    assert "attachment" in r.headers["content-disposition"]
    ws = load_workbook(io.BytesIO(r.content), read_only=True).active
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0][:3] == ("row", "id", "language") and len(rows) - 1 == theme["size"]
    assert all(row[5] == theme["theme_id"] and row[12] for row in rows[1:])
    # the overview's table, filtered to Finnish: one row per theme shown, counts of the filtered view
    r = app.get(f"/app/jobs/{job}/themes.xlsx", params={"language": "fi"})
    rows = list(load_workbook(io.BytesIO(r.content), read_only=True).active.iter_rows(values_only=True))
    counts = app.app.state.jobs.repo.theme_counts(job, ThemeFilter(language="fi"))
    assert rows[0][0] == "theme_id" and len(rows) > 1
    assert all(row[7] == counts[row[0]]["size"] for row in rows[1:])
    csv_rows = app.get(f"/app/jobs/{job}/themes.csv", params={"language": "fi"}).text.strip().splitlines()
    assert len(csv_rows) == len(rows)
    assert app.get(f"/app/jobs/{job}/themes.pdf").status_code == 404


def test_share_link_is_read_only_and_404s_when_revoked(app, job):
    r = app.post(f"/app/jobs/{job}/share")
    assert r.status_code == 201
    url = re.search(r'id="new-link" type="text" readonly value="([^"]+)"', r.text).group(1)
    token = url.rsplit("/", 1)[1]
    assert len(token) >= 32
    shared = app.get(f"/app/shared/{token}")
    assert shared.status_code == 200 and "A read-only view shared from Touchpoints." in shared.text
    assert 'method="post"' not in shared.text.split('action="/app/language"')[1]  # only the language selector posts
    assert "/merge" not in shared.text and "/v1/jobs" not in shared.text and "Undo" not in shared.text
    theme = tops(report(app, job))[0]
    page = app.get(f"/app/shared/{token}/themes/{theme['theme_id']}")
    assert page.status_code == 200 and "/rename" not in page.text and 'id="move-form"' not in page.text
    assert f'href="/app/shared/{token}/themes/' in shared.text
    assert app.get(f"/app/shared/{token}/themes/{theme['theme_id']}/comments.xlsx").status_code == 200
    # the token is stored hashed only
    links = app.app.state.share_links.of_job(job)
    assert links and all(token not in (l.token_hash, l.id) for l in links)

    listing = app.get(f"/app/jobs/{job}/share").text
    link_id = re.search(rf'action="/app/jobs/{job}/share/([0-9a-f]+)/revoke"', listing).group(1)
    r = app.post(f"/app/jobs/{job}/share/{link_id}/revoke")
    assert r.status_code == 200 and "the link is revoked" in r.text
    assert app.get(f"/app/shared/{token}").status_code == 404
    assert app.get(f"/app/shared/{token}/themes/{theme['theme_id']}").status_code == 404
    assert app.get("/app/shared/not-a-token").status_code == 404


def test_ui_language_from_the_selector_cookie_and_accept_language(app, job):
    page = app.get(f"/app/jobs/{job}", headers={"accept-language": "fi-FI,fi;q=0.9,en;q=0.5"}).text
    assert '<html lang="fi">' in page and "Kommentit" in page
    r = app.post("/app/language", data={"lang": "sv", "next": f"/app/jobs/{job}"}, follow_redirects=False)
    assert r.status_code == 303 and "tp_lang=sv" in r.headers["set-cookie"]
    app.cookies.set("tp_lang", "sv")
    try:
        page = app.get(f"/app/jobs/{job}").text
        assert '<html lang="sv">' in page and "Teman" in page and "Ångra den senaste ändringen" in page
        assert 'aria-label="Filtrera kommentarerna"' in page
    finally:
        app.cookies.delete("tp_lang")
    assert '<html lang="en">' in app.get(f"/app/jobs/{job}").text
    r = app.post("/app/language", data={"lang": "xx"}, follow_redirects=False)
    assert "set-cookie" not in r.headers


def row_of(group: str, language: str) -> int:
    """The dataset row of a comment of ``write_dump`` (rows are written in corpus order)."""
    picked = [(g, lang) for g, lang in zip(GROUPS, LANGS) if g in PICK]
    return picked.index((group, language))


def test_a_new_touchpoint_is_stored_outside_the_yaml_and_used_by_assignments_and_later_fits(app, job, tmp_path):
    """Keys off: the single user's (the default tenant's) touchpoint, in its taxonomy, real-time analysis,
    /v2/themes and later fits."""
    shipped = app.get("/v1/themes/taxonomy").json()["touchpoints"]
    examples = "I was charged twice for the same order.\nThey took the payment two times for one order."
    r = app.post(f"/app/jobs/{job}/taxonomy", data={"label": "Double charges", "extra_language": "en",
                                                   "extra_examples": examples, "next": f"/app/jobs/{job}"},
                 follow_redirects=False)
    assert r.status_code == 303 and "error=" not in r.headers["location"], r.headers["location"]
    assert wait_fresh(app, job)["state"] == "fresh"
    taxonomy = app.get("/v1/themes/taxonomy").json()["touchpoints"]
    assert [t["key"] for t in taxonomy] == [t["key"] for t in shipped] + ["custom_double_charges"]
    theme = next(t for t in tops(report(app, job)) if t["touchpoint"] == "custom_double_charges")
    assert theme["label"] == "Double charges" and row_of("p17", "en") in rows_of(app, job, theme["theme_id"])
    assert history(app, job)[0]["action"] == "taxonomy"
    # new comments: assigned to it through the stored model; a later fit has it as a touchpoint theme
    model_id = report(app, job)["model_id"]
    got = app.post("/v2/themes/assign", json={"model_id": model_id, "comments": [
        {"id": "x", "text": "I was charged twice for the same order again.", "language": "en"}]}).json()
    assert got["results"][0]["themes"][0]["theme_id"] == theme["theme_id"]
    realtime = app.post("/v1/comments/analyze", json={"comments": [
        {"id": "x", "text": "I was charged twice for the same order again.", "language": "en"}]}).json()
    assert "custom_double_charges" in {t["touchpoint"] for t in realtime["results"][0]["themes"]}
    later = upload_and_wait(app, write_dump(tmp_path / "later.csv"))
    assert "custom_double_charges" in {t["touchpoint"] for t in tops(report(app, later))}
    # refused with a reason: neither examples nor a description
    r = app.post(f"/app/jobs/{job}/taxonomy", data={"label": "Empty", "extra_language": "en"})
    assert "the touchpoint needs a description or at least one example comment" in r.text

    discovered = [t for t in tops(report(app, job)) if t["discovered"]]
    if discovered:  # a discovered theme becomes a touchpoint, its representative comments the examples
        d = discovered[0]
        page = app.get(f"/app/jobs/{job}/themes/{d['theme_id']}").text
        picked = re.findall(r'name="(example_\w+)" value="([^"]+)" checked', page)
        assert picked
        data: dict = {"label": "From discovered", "next": f"/app/jobs/{job}"}
        for k, v in picked:
            data.setdefault(k, []).append(html.unescape(v))
        r = app.post(f"/app/jobs/{job}/themes/{d['theme_id']}/taxonomy", data=data, follow_redirects=False)
        assert r.status_code == 303 and "error=" not in r.headers["location"]
        assert wait_fresh(app, job)["state"] == "fresh"
        again = next(t for t in tops(report(app, job)) if t["theme_id"] == d["theme_id"])
        assert again["touchpoint"] == "custom_from_discovered" and not again["discovered"]
