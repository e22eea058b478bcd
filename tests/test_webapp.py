"""The CX review web app (/app) through the real HTTP app: upload, pages, filters, edits, exports.

A small multilingual dump (12 touchpoint groups x sv/da/fi/en, NPS scores and dates) is uploaded
through ``POST /v1/jobs/upload`` and scored by the service's worker; the pages are then read as a
person would, and the edits (merge, rename, split) are made through the app's own form endpoints.
"""

from __future__ import annotations

import csv
import html
import io
import re
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from service.api.app import create_app
from service.storage.repository import ThemeFilter
from webapp_helpers import app_settings, links_to_theme, report, tops, upload_and_wait, wait_fresh, write_dump


@pytest.fixture(scope="module")
def db(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("webapp") / "webapp.db"


@pytest.fixture(scope="module")
def app(client, settings, db):
    """An app of its own database, sharing the session's loaded models."""
    with TestClient(create_app(app_settings(settings, db), pipeline=client.app.state.pipeline)) as c:
        yield c


@pytest.fixture(scope="module")
def job(app, tmp_path_factory) -> str:
    """A job only read (never edited) by the tests."""
    return upload_and_wait(app, write_dump(tmp_path_factory.mktemp("dump") / "survey-q4.csv"))


# -- backend: the fitted model is stored, every row's assignment is in tp_job_row_themes -------------
def test_report_names_its_stored_model_and_rows_match_the_report(app, job):
    rep = report(app, job)
    model_id = rep["model_id"]
    assert model_id and rep["themes"]["model_id"] == model_id and rep["model_revision"]
    model = app.get(f"/v2/themes/models/{model_id}")
    assert model.status_code == 200
    assert {t["theme_id"] for t in model.json()["themes"]} >= {t["theme_id"] for t in rep["themes"]["themes"]}
    # the SQL aggregates over the stored per-row assignments are the report's numbers, theme by theme
    counts = app.app.state.jobs.repo.theme_counts(job, ThemeFilter())
    for t in rep["themes"]["themes"]:
        c = counts[t["theme_id"]]
        assert c["size"] == t["size"], t["theme_id"]
        assert {k: c[k] for k in ("negative", "neutral", "positive")} == t["sentiment"]["counts"], t["theme_id"]
        if t["level"] == 1:
            assert c["main"] == t["n_main"], t["theme_id"]


# -- pages ------------------------------------------------------------------------------------------
def test_jobs_page_lists_the_job_and_has_a_labelled_upload_form(app, job):
    r = app.get("/app")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    page = r.text
    assert "survey-q4.csv" in page and f'href="/app/jobs/{job}"' in page and "completed" in page
    assert 'action="/v1/jobs/upload"' in page and 'enctype="multipart/form-data"' in page
    for field in ("file", "text_column", "id_column", "language_column", "metadata_columns"):
        assert f'<label for="{field}"' in page and f'id="{field}" name="{field}"' in page, field
    assert app.get("/app/static/app.js").status_code == 200 and app.get("/app/static/app.css").status_code == 200
    assert "http://" not in page and "https://" not in page  # nothing fetched from elsewhere


def test_overview_shows_counts_mixes_sorted_themes_and_a_chart(app, job):
    rep = report(app, job)
    t0 = time.perf_counter()
    r = app.get(f"/app/jobs/{job}")
    assert r.status_code == 200 and time.perf_counter() - t0 < 1.0
    page = r.text
    assert ">48<" in page  # comments
    for lang in ("Swedish", "Danish", "Finnish", "English"):
        assert lang in page
    assert "<svg" in page and 'role="img"' in page
    for t in tops(rep):
        assert html.escape(t["label"]) in page, t["label"]
        assert links_to_theme(page, job, t["theme_id"])
    # sorted by volume: the first top-level row is a biggest theme
    first = re.search(r'<tr class="top">.*?/themes/([^"?]+)', page, re.S).group(1)
    assert next(t for t in tops(rep) if t["theme_id"] == first)["size"] == max(t["size"] for t in tops(rep))
    assert "NPS impact, points (95% CI)" in page  # impact with its interval
    assert re.search(r"[+\u2212]\d+\.\d \[[+\u2212]\d+\.\d, [+\u2212]\d+\.\d\]", page)
    assert "2024-01: " in page and 'class="spark"' in page  # trend
    assert f"/v1/jobs/{job}/themes?format=csv" in page and f"/v1/jobs/{job}/themes?format=html" in page


def test_overview_filters_by_language_and_sentiment_server_side(app, job):
    r = app.get(f"/app/jobs/{job}", params={"language": "fi"})
    assert r.status_code == 200
    page = r.text
    assert "Comments (filtered)" in page and ">12<" in page  # 12 Finnish comments
    results = list(csv.DictReader(io.StringIO(app.get(f"/v1/jobs/{job}/results").text)))
    neg = sum(1 for row in results if row["tp_sentiment"] == "negative")
    r = app.get(f"/app/jobs/{job}", params={"sentiment": "negative"})
    assert r.status_code == 200 and f">{neg}<" in r.text
    # the filtered theme volumes are the theme pages' filtered counts
    repo = app.app.state.jobs.repo
    counts = repo.theme_counts(job, ThemeFilter(language="fi"))
    for t in tops(report(app, job)):
        n = repo.count_theme_comments(job, ThemeFilter(theme_id=t["theme_id"], language="fi"))
        assert counts.get(t["theme_id"], {"size": 0})["size"] == n


def test_theme_page_keywords_representatives_subthemes_and_paged_comments(app, job):
    rep = report(app, job)
    theme = max((t for t in tops(rep) if any(s["parent_id"] == t["theme_id"] for s in rep["themes"]["themes"])),
                key=lambda t: t["size"])
    r = app.get(f"/app/jobs/{job}/themes/{theme['theme_id']}")
    assert r.status_code == 200
    page = r.text
    assert html.escape(theme["label"]) in page
    for lang, words in theme["keywords"].items():
        assert html.escape(", ".join(words)) in page, lang
    for lang, reps in theme["representative"].items():
        assert html.escape(reps[0]["text"].split(reps[0]["clause"])[0]) in page or html.escape(reps[0]["clause"]) in page
    for sub in (s for s in rep["themes"]["themes"] if s["parent_id"] == theme["theme_id"]):
        assert links_to_theme(page, job, sub["theme_id"])
    assert page.count("<tr data-row=") == theme["size"]  # every comment of the theme (one page here)
    assert f"{theme['size']} comments" in page
    for label in ('for="rename-label"', 'for="split-n"', 'for="c-q"'):
        assert label in page

    # text search, server-side: a word of one of the theme's comments
    word = max(re.findall(r"\w{5,}", theme["representative"][next(iter(theme["representative"]))][0]["clause"]),
               key=len)
    r = app.get(f"/app/jobs/{job}/themes/{theme['theme_id']}", params={"q": word.upper()})
    assert 1 <= r.text.count("<tr data-row=") <= theme["size"]
    assert word.lower() in r.text.lower()


def test_a_clause_carrying_the_theme_is_highlighted(app, tmp_path):
    p = tmp_path / "two-clauses.csv"
    rows = [("a", "Personalen var trevliga men väntetiden i kassan var alldeles för lång."),
            ("b", "The staff were friendly but the queue at the checkout was far too long."),
            ("c", "Henkilökunta oli ystävällistä mutta jono kassalla oli aivan liian pitkä."),
            ("d", "Personalet var venlige, men køen ved kassen var alt for lang.")] * 2
    with p.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["id", "text"])
        w.writerows((f"{i}-{k}", t) for k, (i, t) in enumerate(rows))
    job_id = upload_and_wait(app, p, fields={})
    rep = report(app, job_id)
    pages = [app.get(f"/app/jobs/{job_id}/themes/{t['theme_id']}").text for t in tops(rep)]
    assert any("<mark>" in page for page in pages)


def test_pages_answer_html_errors(app):
    r = app.get("/app/jobs/nope")
    assert r.status_code == 404 and "No such job" in r.text and r.headers["content-type"].startswith("text/html")


# -- edits --------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def edited_job(app, tmp_path_factory) -> str:
    return upload_and_wait(app, write_dump(tmp_path_factory.mktemp("dump2") / "edits.csv"))


def test_merge_through_the_form_is_applied_to_the_pages_and_kept(app, edited_job, client, settings, db):
    job_id = edited_job
    before = report(app, job_id)
    a, b = sorted(tops(before), key=lambda t: -t["size"])[:2]
    r = app.post(f"/app/jobs/{job_id}/merge", data={"theme_ids": [a["theme_id"], b["theme_id"]],
                                                    "next": f"/app/jobs/{job_id}"}, follow_redirects=False)
    assert r.status_code == 303, r.text
    assert r.headers["location"].startswith(f"/app/jobs/{job_id}/themes/{a['theme_id']}")
    assert wait_fresh(app, job_id)["state"] == "fresh"
    page = app.get(r.headers["location"]).text
    assert "merged 2 themes" in page

    after = report(app, job_id)
    ids = {t["theme_id"] for t in after["themes"]["themes"]}
    assert b["theme_id"] not in ids and a["theme_id"] in ids
    merged = next(t for t in after["themes"]["themes"] if t["theme_id"] == a["theme_id"])
    assert max(a["size"], b["size"]) <= merged["size"] <= a["size"] + b["size"] and merged["edited"]
    assert after["model_id"] == before["model_id"] and after["model_revision"] != before["model_revision"]

    overview = app.get(f"/app/jobs/{job_id}").text
    assert not links_to_theme(overview, job_id, b["theme_id"]) and links_to_theme(overview, job_id, a["theme_id"])
    # the merged-away theme's page leads to the theme it went into
    r = app.get(f"/app/jobs/{job_id}/themes/{b['theme_id']}", follow_redirects=False)
    assert r.status_code == 303 and f"/themes/{a['theme_id']}" in r.headers["location"]
    # every comment of both themes is listed on the merged theme's page
    theme_page = app.get(f"/app/jobs/{job_id}/themes/{a['theme_id']}").text
    assert f"{merged['size']} comments" in theme_page

    # kept after a restart: a new app on the same database shows the merge
    with TestClient(create_app(app_settings(settings, db), pipeline=client.app.state.pipeline)) as again:
        overview = again.get(f"/app/jobs/{job_id}").text
        assert not links_to_theme(overview, job_id, b["theme_id"]) and links_to_theme(overview, job_id, a["theme_id"])
        assert again.get(f"/app/jobs/{job_id}/state").json()["state"] == "fresh"


def test_export_the_themes_comments_as_csv(app, edited_job):
    rep = report(app, edited_job)
    theme = tops(rep)[0]
    r = app.get(f"/app/jobs/{edited_job}/themes/{theme['theme_id']}/comments.csv")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert len(rows) == theme["size"]
    assert {"row", "id", "language", "sentiment", "theme", "main_theme", "text", "meta_score"} <= set(rows[0])
    assert all(row["theme_id"] == theme["theme_id"] and row["text"] for row in rows)
    fi = app.get(f"/app/jobs/{edited_job}/themes/{theme['theme_id']}/comments.csv", params={"language": "fi"})
    assert all(row["language"] == "fi" for row in csv.DictReader(io.StringIO(fi.text)))
    # the overview export is the service's report, which follows the edits
    overview = app.get(f"/v1/jobs/{edited_job}/themes", params={"format": "csv"}).text
    assert theme["theme_id"] in overview


def test_rename_escapes_the_new_label_and_split_makes_subthemes(app, edited_job):
    rep = report(app, edited_job)
    theme = max(tops(rep), key=lambda t: t["size"])
    evil = '<script>alert("x")</script> & Co'
    r = app.post(f"/app/jobs/{edited_job}/themes/{theme['theme_id']}/rename", data={"label": evil},
                 follow_redirects=True)
    assert r.status_code == 200
    assert "<script>alert" not in r.text and "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; Co" in r.text
    assert next(t for t in tops(report(app, edited_job)) if t["theme_id"] == theme["theme_id"])["label"] == evil

    r = app.post(f"/app/jobs/{edited_job}/themes/{theme['theme_id']}/split", data={"n": "2"}, follow_redirects=True)
    assert r.status_code == 200 and "split into 2 sub-themes" in r.text
    subs = [t for t in report(app, edited_job)["themes"]["themes"] if t["parent_id"] == theme["theme_id"]]
    assert len(subs) == 2 and all(".s" in s["theme_id"] for s in subs)
    assert all(links_to_theme(r.text, edited_job, s["theme_id"]) for s in subs)


def test_bad_and_cross_site_edits_change_nothing(app, edited_job):
    rep = report(app, edited_job)
    t = tops(rep)[0]
    r = app.post(f"/app/jobs/{edited_job}/merge", data={"theme_ids": [t["theme_id"]],
                                                        "next": f"/app/jobs/{edited_job}"}, follow_redirects=True)
    assert r.status_code == 200 and "choose at least two themes" in r.text
    r = app.post(f"/app/jobs/{edited_job}/themes/{t['theme_id']}/rename", data={"label": "x"},
                 headers={"origin": "https://elsewhere.example"})
    assert r.status_code == 403
    r = app.post(f"/app/jobs/{edited_job}/merge", data={"theme_ids": [t["theme_id"], "no-such-theme"],
                                                        "next": "https://elsewhere.example/"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith(f"/app/jobs/{edited_job}")  # never off-site
    assert report(app, edited_job)["model_revision"] == rep["model_revision"]


def test_an_edit_through_the_v2_api_reaches_the_jobs_pages(app, edited_job):
    rep = report(app, edited_job)
    t = tops(rep)[-1]
    r = app.patch(f"/v2/themes/models/{rep['model_id']}/themes/{t['theme_id']}", json={"label": "Renamed via API"})
    assert r.status_code == 200, r.text
    app.get(f"/app/jobs/{edited_job}")  # the page sees the model moved on and asks for an update
    assert wait_fresh(app, edited_job)["state"] == "fresh"
    assert "Renamed via API" in app.get(f"/app/jobs/{edited_job}").text


def test_deleting_the_dataset_deletes_the_jobs_theme_model_and_row_themes(app, tmp_path):
    job_id = upload_and_wait(app, write_dump(tmp_path / "to-delete.csv"))
    rep = report(app, job_id)
    repo = app.app.state.jobs.repo
    assert repo.count_theme_comments(job_id, ThemeFilter()) > 0
    dataset_id = app.get(f"/v1/jobs/{job_id}").json()["dataset_id"]
    assert app.delete(f"/v1/datasets/{dataset_id}").status_code == 204
    assert app.get(f"/v2/themes/models/{rep['model_id']}").status_code == 404
    assert repo.count_theme_comments(job_id, ThemeFilter()) == 0
    assert app.get(f"/app/jobs/{job_id}").status_code == 404
