"""The web app end to end in a real headless Chromium (Debian's ``chromium``, driven by Playwright).

The service runs under uvicorn on a free localhost port (in a thread, sharing the session's loaded
models); the browser uploads a file through the page's form, waits on the progress view (which polls
``GET /v1/jobs/{id}`` and reloads itself), opens a theme, merges a sibling theme into it with the
page's form, reloads, checks the merge, and downloads the theme's comments as CSV. A second test
makes the newer edits the way a person would: moves a comment, makes a keyword theme from its
preview, undoes an edit, downloads an XLSX (opened with openpyxl), opens a share link read-only (and
sees it 404 once revoked), and switches the interface to Swedish.

Screenshots of the overview and a theme page go to ``$TOUCHPOINTS_SCREENSHOTS`` (``docs/screenshots``
for the README: ``TOUCHPOINTS_SCREENSHOTS=docs/screenshots make test PYTEST_ARGS=tests/test_webapp_browser.py``),
else to the test's temporary folder.

Needs ``apt-get install chromium`` (``.ci/run`` installs it) and the ``playwright`` package (the
``test`` extra); ``playwright install`` is never run: no browser is downloaded.
"""

from __future__ import annotations

import csv
import io
import os
import re
import shutil
import socket
import threading
import time
from pathlib import Path

import pytest

from service.api.app import create_app
from webapp_helpers import DUMP_FIELDS, app_settings, write_dump

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
CLIP = {"x": 0, "y": 0, "width": 1180, "height": 1300}  # screenshots: the top of each page, < 200 KB

try:
    from playwright.sync_api import expect, sync_playwright
except ImportError:  # pragma: no cover - depends on the environment
    sync_playwright = None

pytestmark = [
    pytest.mark.skipif(not CHROMIUM.exists(), reason="no /usr/bin/chromium (apt-get install chromium chromium-driver)"),
    pytest.mark.skipif(sync_playwright is None, reason="the playwright package is missing (pip install -e '.[test]')"),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(client, settings, tmp_path_factory):
    import uvicorn  # noqa: PLC0415

    db = tmp_path_factory.mktemp("browser") / "browser.db"
    app = create_app(app_settings(settings, db), pipeline=client.app.state.pipeline)
    port = _free_port()
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, name="uvicorn-webapp-test", daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not srv.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(30)


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture
def shots(tmp_path) -> Path:
    target = os.environ.get("TOUCHPOINTS_SCREENSHOTS")
    path = Path(target) if target else tmp_path
    path.mkdir(parents=True, exist_ok=True)
    return path


def test_upload_review_merge_and_export_in_a_browser(server, browser, shots, tmp_path):
    dump = write_dump(tmp_path / "survey-q4.csv")
    context = browser.new_context(viewport={"width": 1180, "height": 860}, accept_downloads=True)
    page = context.new_page()
    failed: list[str] = []
    page.on("requestfailed", lambda r: failed.append(r.url))
    page.on("pageerror", lambda e: failed.append(f"script error: {e}"))

    # jobs page: keyboard users land on the skip link first; upload through the form (fetch -> /v1/jobs/upload)
    page.goto(f"{server}/app")
    expect(page).to_have_title(re.compile("Jobs"))
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    page.get_by_label("File (").set_input_files(str(dump))
    page.get_by_label("Text column").fill("Answer")
    page.get_by_label("Id column").fill("RespondentID")
    page.get_by_label("Metadata columns").fill("score=NPS,timestamp=Date")
    page.get_by_role("button", name="Upload and start").click()

    # the progress view polls the job and reloads into the overview when it completes
    page.wait_for_url(re.compile(r"/app/jobs/[0-9a-f]{32}$"), timeout=30_000)
    job_url = page.url
    expect(page.get_by_role("heading", name="Themes", exact=True)).to_be_visible(timeout=180_000)
    expect(page.locator("svg[role=img]")).to_be_visible()
    assert page.locator("tr.top").count() >= 3
    page.screenshot(path=str(shots / "overview.png"), full_page=True, clip=CLIP)

    # server-side filter: Finnish only
    page.get_by_label("Language", exact=True).select_option("fi")
    page.get_by_role("button", name="Apply").click()
    expect(page.get_by_text("Comments (filtered)")).to_be_visible()
    assert "language=fi" in page.url
    page.goto(job_url)

    # open the biggest theme
    first = page.locator("tr.top th a").first
    label = first.inner_text()
    first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text(label)
    theme_url = page.url.split("?")[0]
    expect(page.locator("tr[data-row]").first).to_be_visible()
    page.screenshot(path=str(shots / "theme.png"), full_page=True, clip=CLIP)

    # merge a sibling theme into it with the page's form
    merge_form = page.locator("form[aria-label=Merge]")
    choice = merge_form.locator("input[type=checkbox]").first
    other_id = choice.get_attribute("value")
    other_label = choice.locator("xpath=..").inner_text().rsplit("(", 1)[0].strip()
    choice.check()
    merge_form.get_by_role("button").click()
    expect(page.get_by_role("status").filter(has_text="merged 2 themes")).to_be_visible(timeout=60_000)
    assert page.url.split("?")[0] == theme_url

    # reload: the merge is kept, the other theme is gone from the overview
    page.reload()
    expect(page.get_by_role("heading", level=1)).to_have_text(label)
    page.goto(job_url)
    expect(page.locator("tr.top th a", has_text=label)).to_have_count(1)
    gone = page.locator(f'a[href$="/themes/{other_id}"], a[href*="/themes/{other_id}?"]')  # its sub-themes stay
    assert gone.count() == 0, other_label
    page.goto(f"{job_url}/themes/{other_id}")  # the old address leads to the merged theme
    expect(page.get_by_role("heading", level=1)).to_have_text(label)

    # export the theme's comments
    total = int(re.search(r"(\d+) comments?", page.get_by_role("status").filter(has_text="comment").first
                          .inner_text()).group(1))
    with page.expect_download() as dl:
        page.get_by_role("link", name="Export these comments (CSV)").click()
    exported = tmp_path / "export.csv"
    shutil.copy(dl.value.path(), exported)
    with exported.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == total and rows[0]["text"]
    assert failed == [], failed  # nothing the pages load is missing or fetched from elsewhere
    context.close()


def _upload(server: str, path: Path) -> str:
    """A job made through the API (the first test covers the upload form), completed."""
    import httpx  # noqa: PLC0415

    with path.open("rb") as f:
        r = httpx.post(f"{server}/v1/jobs/upload", files={"file": (path.name, f, "text/csv")}, data=DUMP_FIELDS,
                       timeout=60)
    assert r.status_code == 202, r.text
    job_id = r.json()["id"]
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        status = httpx.get(f"{server}/v1/jobs/{job_id}", timeout=30).json()["status"]
        if status in ("completed", "failed"):
            assert status == "completed"
            return job_id
        time.sleep(0.2)
    raise AssertionError("the job did not finish")


def test_move_keyword_undo_xlsx_share_and_swedish_in_a_browser(server, browser, shots, tmp_path):
    from openpyxl import load_workbook  # noqa: PLC0415

    job_url = f"{server}/app/jobs/{_upload(server, write_dump(tmp_path / 'survey-edits.csv'))}"
    context = browser.new_context(viewport={"width": 1180, "height": 860}, accept_downloads=True)
    page = context.new_page()
    failed: list[str] = []
    page.on("pageerror", lambda e: failed.append(f"script error: {e}"))
    page.goto(job_url)
    expect(page.get_by_role("heading", name="Themes", exact=True)).to_be_visible(timeout=60_000)

    # move a comment: choose it on the theme page, pick the target theme, the comment leaves this theme
    page.locator("tr.top th a").first.click()
    theme_url = page.url.split("?")[0]
    first = page.locator("tr[data-row]").first
    row = first.get_attribute("data-row")
    first.locator("input[type=checkbox]").check()
    target = page.get_by_label("Move the chosen comments to")
    target_label = target.locator("option").nth(1).inner_text()
    target.select_option(index=1)
    page.get_by_role("button", name="Move", exact=True).click()
    expect(page.get_by_role("status").filter(has_text="moved 1 comments to")).to_be_visible(timeout=60_000)
    assert page.locator(f'tr[data-row="{row}"]').count() == 0
    page.goto(job_url)
    page.locator("tr.top th a", has_text=target_label).first.click()
    expect(page.locator(f'tr[data-row="{row}"]')).to_have_count(1)

    # keyword theme: preview the count, then make it; the new theme page lists that many comments
    page.goto(job_url)
    page.get_by_label("Keyword or phrase").fill("the")
    page.get_by_label("Only comments in").select_option("en")
    page.get_by_role("button", name="Preview").click()
    count = int(re.match(r"(\d+) ", page.locator("#kw-count").inner_text()).group(1))
    assert count > 0
    page.get_by_label("Name of the theme (optional)").fill("Keyword: the")
    page.get_by_role("button", name=re.compile("Make the theme of these")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Keyword: the", timeout=60_000)
    expect(page.get_by_role("status").filter(has_text=f"{count} comments")).to_be_visible()

    # undo: the keyword theme goes, the history marks the edit undone
    page.goto(job_url)
    page.get_by_role("button", name="Undo the last edit").click()
    expect(page.get_by_role("status").filter(has_text="undid the last edit")).to_be_visible(timeout=60_000)
    expect(page.locator("tr.top th a", has_text="Keyword: the")).to_have_count(0)
    expect(page.locator("ol.history li.undone").first).to_contain_text("made a theme of the")

    # XLSX of the current view: the theme's comments, opened with openpyxl
    page.goto(theme_url)
    total = int(re.search(r"(\d+) comments?", page.get_by_role("status").filter(has_text="comment").first
                          .inner_text()).group(1))
    with page.expect_download() as dl:
        page.get_by_role("link", name="Export these comments (Excel)").click()
    rows = list(load_workbook(io.BytesIO(Path(dl.value.path()).read_bytes()), read_only=True).active
                .iter_rows(values_only=True))
    assert rows[0][0] == "row" and len(rows) - 1 == total

    # share link: read-only pages without edit controls, 404 once revoked
    page.goto(job_url)
    page.get_by_role("link", name="Share links").click()
    page.get_by_role("button", name="Make a share link").click()
    link = page.get_by_label("The new link (copy it now: it is shown only once)").input_value()
    shared = context.new_page()
    shared.goto(link)
    expect(shared.get_by_text("A read-only view shared from Touchpoints.")).to_be_visible()
    assert shared.locator("form[action$='/merge'], input[type=checkbox]").count() == 0
    shared.locator("tr.top th a").first.click()
    expect(shared.get_by_role("heading", level=1)).to_be_visible()
    assert shared.locator("form[action$='/rename'], #move-form").count() == 0
    page.get_by_role("button", name=re.compile("Revoke")).first.click()
    expect(page.get_by_role("status").filter(has_text="the link is revoked")).to_be_visible()
    assert shared.goto(link).status == 404

    # the interface in Swedish, chosen with the header's selector (kept by a cookie)
    page.goto(job_url)
    page.get_by_label("Display in").select_option("sv")
    page.get_by_role("button", name="Change").click()
    expect(page.get_by_role("heading", name="Teman", exact=True)).to_be_visible()
    expect(page.get_by_role("button", name="Ångra den senaste ändringen")).to_be_visible()
    assert page.locator("html").get_attribute("lang") == "sv"
    page.reload()
    expect(page.get_by_label("Visa på")).to_have_value("sv")
    page.screenshot(path=str(shots / "overview-sv.png"), full_page=True, clip=CLIP)

    # printed (or saved as PDF): the report without header, filters, edit forms or buttons
    page.emulate_media(media="print")
    expect(page.locator("table.themes")).to_be_visible()
    for hidden in ("header.top", "form[aria-label='Filtrera kommentarerna']", "#merge-label", "#kw-phrase",
                   "button[data-print]"):
        expect(page.locator(hidden).first).to_be_hidden()
    assert failed == [], failed
    context.close()
