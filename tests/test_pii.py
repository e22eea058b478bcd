"""PII redaction (issue #13): detectors with their checksums, no false positives on survey numbers, and the
``redact`` option of the API, the jobs upload and the ``score`` CLI (redacted before anything is analysed or
stored); comment text never reaches the logs."""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from batch_helpers import read_frame
from service.api.app import create_app
from service.batch.cli import run_score
from service.batch.scoring import score_rows
from service.batch.columns import ColumnMapping
from service.cli import build_parser
from service.pii import find_pii, redact
from service.pipeline import AnalysisPipeline


def _luhn_ok(digits: str) -> bool:  # the textbook algorithm, independent of service.pii
    s = 0
    for i, d in enumerate(int(c) for c in reversed(digits)):
        s += (d * 2 - 9 if d * 2 > 9 else d * 2) if i % 2 else d
    return s % 10 == 0


def kinds(text: str) -> list[tuple[str, str]]:
    return [(s.kind, text[s.start:s.end]) for s in find_pii(text)]


# -- detectors: valid ones are found whole, invalid checksums / dates are not -------------------
@pytest.mark.parametrize("value, kind", [
    ("anna.svensson@gmail.com", "EMAIL"),
    ("Sven.Ek+enkat@företaget.se", "EMAIL"),
    ("jussi_virtanen@posti.fi", "EMAIL"),
    ("https://www.example.com/order?id=5&x=1", "URL"),
    ("http://kund.example.dk/sag/123", "URL"),
    ("www.minbutik.se", "URL"),
    ("butiken.se/retur", "URL"),
    ("070-123 45 67", "PHONE"),            # sv mobile
    ("073 - 123 45 67", "PHONE"),
    ("08-12 34 56", "PHONE"),              # Stockholm landline
    ("+46 70 123 45 67", "PHONE"),
    ("0046701234567", "PHONE"),
    ("+45 23 45 67 89", "PHONE"),          # da
    ("23 45 67 89", "PHONE"),
    ("040 123 4567", "PHONE"),             # fi
    ("+358 40 123 4567", "PHONE"),
    ("+358 (0)40 123 4567", "PHONE"),
    ("+44 20 7946 0958", "PHONE"),         # international
    ("+1 (555) 123-4567", "PHONE"),
    ("4111 1111 1111 1111", "CARD"),       # Visa test number
    ("5555-5555-5555-4444", "CARD"),       # Mastercard
    ("378282246310005", "CARD"),           # Amex, contiguous
    ("3782 822463 10005", "CARD"),         # Amex, 4-6-5
    ("811228-9874", "PERSONAL_ID"),        # sv personnummer, 10 digits
    ("19811228-9874", "PERSONAL_ID"),      # 12 digits
    ("198112289874", "PERSONAL_ID"),
    ("8112289874", "PERSONAL_ID"),
    ("121212+1212", "PERSONAL_ID"),        # '+': over 100 years old
    ("701063-2391", "PERSONAL_ID"),        # samordningsnummer (day + 60)
    ("070761-4285", "PERSONAL_ID"),        # da CPR
    ("290200-4234", "PERSONAL_ID"),        # 29 Feb 2000: 7th digit 4 and year 00 -> 2000, a leap year
    ("131052-308T", "PERSONAL_ID"),        # fi henkilötunnus
    ("131052A308T", "PERSONAL_ID"),        # 2000s century sign
    ("010100A123D", "PERSONAL_ID"),
])
def test_each_type_is_found_whole_in_a_sentence(value, kind):
    text = f"Hej, här är det: {value} tack."
    assert kinds(text) == [(kind, value)]
    assert redact(text).text == f"Hej, här är det: [{kind}] tack."


def test_checksums_of_the_valid_examples_hold():
    for digits in ("4111111111111111", "5555555555554444", "378282246310005", "8112289874", "7010632391"):
        assert _luhn_ok(digits)
    alphabet = "0123456789ABCDEFHJKLMNPRSTUVWXY"
    assert alphabet[131052308 % 31] == "T" and alphabet[10100123 % 31] == "D"


@pytest.mark.parametrize("value", [
    "811228-9875",           # sv: wrong Luhn check digit
    "19811228-9875",
    "811232-9878",           # sv: day 32 (the Luhn digit is right for it)
    "320190-1234",           # da: day 32
    "290200-1234",           # da: 29 Feb 1900 (7th digit 1 -> 1900, not a leap year)
    "311399-5678",           # da: month 13
    "131052-308U",           # fi: wrong check character
    "310252-308X",           # fi: 31 Feb
    "4111 1111 1111 1112",   # card: wrong Luhn digit
    "5555-5555-5555-4445",
    "1234 5678 9012 3452",   # Luhn-valid but no card issuer starts with 1
])
def test_invalid_checksums_and_dates_are_not_redacted(value):
    if value == "811232-9878":
        assert _luhn_ok("8112329878")
    if value == "1234 5678 9012 3452":
        assert _luhn_ok("1234567890123452")
    text = f"Numret var {value} om det hjälper."
    assert find_pii(text) == [] and redact(text).text == text


@pytest.mark.parametrize("text", [
    # prices
    "Det kostade 1 299 kr och frakten 49 kr.", "Priset 12 995:- var för högt.", "Betalte kr 2.499,- for 2 stk.",
    "Hinta oli 1 299,90 € ja toimitus 4,90 e.", "We paid $1,299.00 and then 10 000 SEK more.",
    "Jag ringde och fick betala 1 299 000 kr.",
    # dates and times
    "Levererades 2024-01-15, inte 15.01.2024.", "Bestilt 01-02-2024, leveret 15/1-2024.", "Tilaus 3.4.2024 klo 12.00.",
    "Öppet 08:00-17:00 och 0800 - 1700 på lördagar.", "Ringde kundtjänst 2024-03-01 kl 10.15.", "20240115 var dagen.",
    # order, parcel, invoice, case numbers
    "Ordernummer 123456789 kom aldrig.", "Order #4711-2233 saknas.", "Tilausnumero 10023456 puuttuu.",
    "Ordre nr. 55512345678 er forsinket.", "Ärende 0701234567 är inte löst.", "Paketet 0012345678 försvann.",
    "Pakkenummer 00370730253465768.", "Faktura nr 4111111111111111 var fel.",
    # NPS / CSAT scores and other numbers
    "NPS 9, jag ger 9/10.", "10 av 10!", "Betyg: 3 av 5.", "Score: 8 (CSAT 4/5).", "Leverans tog 10-15 dagar.",
    "Version 2.3.1 av appen, iOS 17.4.", "Svarade inom 24/7, 1999-2024.",
    # abbreviations that look like domains
    "Bra t.ex. bl.a. osv. och f.eks. esim. Bra.Se till att.",
])
def test_no_false_positives_on_survey_numbers(text):
    assert find_pii(text) == [], kinds(text)


def test_mixed_language_comment_offsets_and_counts():
    text = ("Tack för hjälpen! Mejla kund.tjanst@example.se. Hyvä palvelu, soita 040 123 4567. "
            "Great service but card 4111 1111 1111 1111 was charged twice. Mit CPR er 070761-4285, "
            "ordrenummer 123456789. Henkilötunnus 131052-308T, www.firma.fi/palaute")
    red = redact(text)
    assert red.text == ("Tack för hjälpen! Mejla [EMAIL]. Hyvä palvelu, soita [PHONE]. "
                        "Great service but card [CARD] was charged twice. Mit CPR er [PERSONAL_ID], "
                        "ordrenummer 123456789. Henkilötunnus [PERSONAL_ID], [URL]")
    assert red.count == 6 and red.counts() == {"EMAIL": 1, "PHONE": 1, "CARD": 1, "PERSONAL_ID": 2, "URL": 1}
    # spans are offsets into the original; putting the placeholders there gives the redacted text
    rebuilt, pos = [], 0
    for s in red.spans:
        assert text[s.start:s.end].strip() == text[s.start:s.end]
        rebuilt += [text[pos:s.start], s.placeholder]
        pos = s.end
    assert "".join(rebuilt) + text[pos:] == red.text
    assert redact(red.text).text == red.text  # idempotent: placeholders hold nothing to redact


def test_url_user_info_and_email_do_not_split():
    assert kinds("se https://user@example.com/x och anna@ex.se.") == [
        ("URL", "https://user@example.com/x"), ("EMAIL", "anna@ex.se")]


# -- the API ---------------------------------------------------------------------------------------
PII_TEXT = "Personalen var trevlig. Ring mig på 070-123 45 67 eller mejla anna.svensson@example.se om ordern."


def _analyze(client, comments, **params):
    return client.post("/v1/comments/analyze", json={"comments": comments}, params=params)


def test_analyze_redacts_on_request_and_offsets_follow_the_redacted_text(client):
    r = _analyze(client, [{"id": "1", "text": PII_TEXT}, {"id": "2", "text": "Bra service"}], redact="true")
    assert r.status_code == 200, r.text
    one, two = r.json()["results"]
    assert one["redacted"] == 2 and one["redacted_text"] == (
        "Personalen var trevlig. Ring mig på [PHONE] eller mejla [EMAIL] om ordern.")
    assert two["redacted"] == 0 and two["redacted_text"] == "Bra service"
    sentences = one["sentiment"]["sentences"]
    assert len(sentences) == 2
    for s in sentences:
        assert one["redacted_text"][s["start"]:s["end"]] == s["text"]
    assert "070-123" not in r.text and "anna.svensson" not in r.text


def test_analyze_without_redaction_leaves_text_alone(client):
    body = _analyze(client, [{"id": "1", "text": PII_TEXT}]).json()["results"][0]
    assert body["redacted"] is None and body["redacted_text"] is None
    assert any("070-123 45 67" in s["text"] for s in body["sentiment"]["sentences"])


@pytest.fixture(scope="module")
def redacting_client(tmp_path_factory, settings, client):
    """An app whose TOUCHPOINTS_REDACT_PII default is on (sharing the loaded models)."""
    s = settings.model_copy(update={"redact_pii": True, "job_poll_seconds": 0.05,
                                    "database_url": f"sqlite:///{tmp_path_factory.mktemp('pii') / 'pii.db'}"})
    p = client.app.state.pipeline
    with TestClient(create_app(s, pipeline=AnalysisPipeline(s, p.language, p.sentiment, p.themes))) as c:
        yield c


def test_setting_turns_redaction_on_by_default_and_a_request_can_say_no(redacting_client):
    on = _analyze(redacting_client, [{"id": "1", "text": PII_TEXT}]).json()["results"][0]
    assert on["redacted"] == 2 and "[PHONE]" in on["redacted_text"]
    off = _analyze(redacting_client, [{"id": "1", "text": PII_TEXT}], redact="false").json()["results"][0]
    assert off["redacted"] is None


def _db_bytes(url: str) -> bytes:
    path = Path(url.removeprefix("sqlite:///"))
    return b"".join(p.read_bytes() for p in (path, Path(f"{path}-wal")) if p.exists())


def test_themes_cluster_and_assign_store_and_return_only_redacted_text(client, settings):
    comments = [{"id": f"c{i}", "text": t} for i, t in enumerate([
        "Leveransen tog två veckor, ring mig på 070-123 45 67.",
        "Leveringen tog to uger, skriv til mads.jensen@example.dk.",
        "Toimitus kesti kaksi viikkoa, soita 040 123 4567.",
        "Delivery took two weeks, my card 4111 1111 1111 1111 was charged.",
        "Kundeservice svarede aldrig på min mail.",
    ])]
    r = client.post("/v2/themes/cluster", json={"comments": comments}, params={"redact": "true"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["redacted"] == 4
    for secret in ("070-123", "mads.jensen", "040 123 4567", "4111 1111"):
        assert secret not in r.text
    stored = client.get(f"/v2/themes/models/{body['model_id']}")
    assert stored.status_code == 200 and "[PHONE]" in stored.text and "070-123" not in stored.text
    assert b"070-123 45 67" not in _db_bytes(settings.database_url)
    assert b"mads.jensen@example.dk" not in _db_bytes(settings.database_url)

    a = client.post("/v2/themes/assign", params={"redact": "true"},
                    json={"model_id": body["model_id"], "comments": [{"id": "x", "text": "Paketet kom aldrig, a@b.se"}]})
    assert a.status_code == 200, a.text
    res = a.json()["results"][0]
    assert res["redacted"] == 1 and res["redacted_text"] == "Paketet kom aldrig, [EMAIL]"


def test_jobs_upload_redacts_before_storing(redacting_client, tmp_path):
    df = pd.DataFrame([
        {"id": "a", "text": "Snabb leverans, tack! Ring 070-123 45 67.", "email": "kept@example.se"},
        {"id": "b", "text": "Mitt personnummer 811228-9874 syns i appen.", "email": ""},
        {"id": "c", "text": "Hyvä palvelu.", "email": ""},
    ])
    src = tmp_path / "survey.csv"
    df.to_csv(src, index=False)
    with open(src, "rb") as f:  # the form field overrides the app's default (on): ask for it explicitly
        r = redacting_client.post("/v1/jobs/upload", files={"file": ("survey.csv", f)}, data={"redact": "true"})
    assert r.status_code == 202, r.text
    job = r.json()
    assert job["redacted"] == 2
    import time
    for _ in range(600):
        state = redacting_client.get(f"/v1/jobs/{job['id']}").json()
        if state["status"] in ("completed", "failed"):
            break
        time.sleep(0.05)
    assert state["status"] == "completed", state
    out = redacting_client.get(f"/v1/jobs/{job['id']}/results", params={"format": "jsonl"})
    rows = {r["id"]: r for r in map(json.loads, out.text.splitlines())}
    assert rows["a"]["text"] == "Snabb leverans, tack! Ring [PHONE]." and rows["a"]["tp_redacted"] == 1
    assert rows["b"]["text"] == "Mitt personnummer [PERSONAL_ID] syns i appen." and rows["b"]["tp_redacted"] == 1
    assert rows["c"]["tp_redacted"] == 0 and rows["a"]["tp_status"] == "ok"
    assert rows["a"]["email"] == "kept@example.se"  # only the text column is redacted
    assert "_tp_redacted" not in rows["a"]
    db = _db_bytes(redacting_client.app.state.settings.database_url)
    assert b"070-123 45 67" not in db and b"811228-9874" not in db

    with open(src, "rb") as f:
        plain = redacting_client.post("/v1/jobs/upload", files={"file": ("survey.csv", f)}, data={"redact": "no"})
    assert plain.status_code == 202 and plain.json()["redacted"] is None
    with open(src, "rb") as f:
        bad = redacting_client.post("/v1/jobs/upload", files={"file": ("survey.csv", f)}, data={"redact": "maybe"})
    assert bad.status_code == 422 and "redact" in bad.text


def test_score_cli_redact_flag(client, settings, tmp_path):
    df = pd.DataFrame([
        {"id": "1", "text": "Ring mig på +46 70 123 45 67, tack."},
        {"id": "2", "text": "Kortet 5555-5555-5555-4444 drogs två gånger."},
        {"id": "3", "text": "Bra service."},
    ])
    src = tmp_path / "in.csv"
    df.to_csv(src, index=False)
    pipeline = client.app.state.pipeline

    def score(*argv: str) -> int:
        args: argparse.Namespace = build_parser().parse_args(["score", *argv, "--no-progress", "--no-report"])
        return run_score(args, pipeline=pipeline, settings=settings)

    out, state = tmp_path / "out.csv", tmp_path / "state.db"
    assert score(str(src), "-o", str(out), "--redact", "--keep-state", "--state", str(state)) == 0
    got = read_frame(out)
    assert list(got["text"]) == ["Ring mig på [PHONE], tack.", "Kortet [CARD] drogs två gånger.", "Bra service."]
    assert list(got["tp_redacted"]) == ["1", "1", "0"] and set(got["tp_status"]) == {"ok"}
    assert b"123 45 67" not in _db_bytes(f"sqlite:///{state}") and b"5555-5555" not in _db_bytes(f"sqlite:///{state}")

    plain = tmp_path / "plain.csv"
    assert score(str(src), "-o", str(plain)) == 0
    got = read_frame(plain)
    assert got["text"][0] == "Ring mig på +46 70 123 45 67, tack." and list(got["tp_redacted"]) == ["", "", ""]


def test_redacted_state_is_not_reused_for_a_plain_run_and_vice_versa(client, settings, tmp_path):
    src = tmp_path / "in.csv"
    pd.DataFrame([{"id": "1", "text": "Mejla a.b@example.com"}]).to_csv(src, index=False)
    out, state = tmp_path / "o.csv", tmp_path / "s.db"
    pipeline = client.app.state.pipeline
    for flag, expected in (("--no-redact", "Mejla a.b@example.com"), ("--redact", "Mejla [EMAIL]")):
        args = build_parser().parse_args(["score", str(src), "-o", str(out), flag, "--keep-state", "--state",
                                          str(state), "--no-progress", "--no-report"])
        assert run_score(args, pipeline=pipeline, settings=settings) == 0
        assert read_frame(out)["text"][0] == expected


# -- logs ------------------------------------------------------------------------------------------
MARKER = "Zqx7MarkerComment"


def test_comment_text_never_reaches_the_logs(client, caplog, monkeypatch):
    caplog.set_level(logging.DEBUG)
    text = f"{MARKER} leveransen var sen, ring 070-123 45 67"
    assert _analyze(client, [{"id": "log-1", "text": text}]).status_code == 200
    assert _analyze(client, [{"id": "log-2", "text": text}], redact="true").status_code == 200
    assert client.post("/v2/themes/assign", json={"comments": [{"id": "log-3", "text": text}]}).status_code == 200

    # an unexpected error whose message quotes the comment (as library errors do): logged without it
    pipeline = client.app.state.pipeline

    def boom(comments, reasons=None, **options):
        raise ValueError(f"cannot analyse {comments[0].text!r}")

    monkeypatch.setattr(pipeline, "analyze", boom)
    r = _analyze(client, [{"id": "log-4", "text": text}])  # answered, not re-raised to the server's own log
    assert r.status_code == 500 and r.json()["error"] == "internal_error" and MARKER not in r.text
    assert r.json()["request_id"] == r.headers["x-request-id"]
    assert "ValueError" in caplog.text and "unhandled error" in caplog.text
    assert MARKER not in caplog.text and "070-123" not in caplog.text


def test_batch_failures_are_logged_without_comment_text(client, caplog):
    caplog.set_level(logging.DEBUG)
    inner = client.app.state.pipeline

    class Failing:
        settings = inner.settings

        def analyze_with_inputs(self, comments, reasons=None, **options):
            raise RuntimeError(f"tokenizer choked on {comments[0].text}")

    rows = [(0, {"id": "1", "text": f"{MARKER} one"}, None), (1, {"id": "2", "text": f"{MARKER} two"}, None)]
    out = score_rows(Failing(), ColumnMapping(text="text", id="id"), rows)  # type: ignore[arg-type]
    assert [r["status"] for r in out] == ["error", "error"]
    assert "RuntimeError" in caplog.text and "analysis failed" in caplog.text
    assert MARKER not in caplog.text


def test_database_errors_do_not_quote_comment_text(tmp_path):
    from sqlalchemy.exc import IntegrityError

    from service.storage import Repository, make_engine

    engine = make_engine(f"sqlite:///{tmp_path / 'e.db'}")
    try:
        repo = Repository(engine)
        ds = repo.create_dataset("d", "csv", {})
        repo.add_rows(ds.id, [(0, {"text": f"{MARKER} row"}, None)])
        with pytest.raises(IntegrityError) as err:  # the same row again: the statement fails with its values
            repo.add_rows(ds.id, [(0, {"text": f"{MARKER} row"}, None)])
        assert MARKER not in str(err.value) and "hidden" in str(err.value).lower()
    finally:
        engine.dispose()
