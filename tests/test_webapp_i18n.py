"""The web app's UI language: every message the pages, the routes and app.js show is in the catalogue
in Swedish, Danish and Finnish with the same ``{fields}``; the language is negotiated as documented."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from starlette.requests import Request

from service.webapp import i18n, views
from service.webapp.messages import MESSAGES

WEBAPP = Path(__file__).resolve().parent.parent / "service" / "webapp"
STRING = r'"((?:[^"\\]|\\.)*)"'


def used_messages() -> set[str]:
    found: set[str] = set()
    for f in (WEBAPP / "templates").glob("*.html"):
        for m in re.finditer(r'''\bt\(\s*(?:"((?:[^"\\]|\\.)*)"|'((?:[^'\\]|\\.)*)')''', f.read_text()):
            found.add(m.group(1) if m.group(1) is not None else m.group(2))
    routes = re.sub(r'"\s*\n\s*"', "", "\n".join(  # the page modules; implicit concatenation joined
        f.read_text() for f in sorted(WEBAPP.glob("*.py")) if f.name != "messages.py"))
    found |= set(re.findall(r"(?:\bt\(|\btr\(request\)\()\s*" + STRING, routes))
    for title, detail in re.findall(r"PageError\(\d+,\s*" + STRING + r",\s*(?:v\.state_detail or )?" + STRING, routes):
        found |= {title, detail}
    found |= set(re.findall(r'return "(?:no_model|model_deleted)", \(?' + STRING, routes))
    found |= set(views._VERSION_TEXT.values()) | {spec[0] for spec in views.SORTS.values()}
    found |= set(views.LANGUAGE_NAMES.values()) | set(i18n.JS_MESSAGES)
    return found


def test_every_message_shown_is_translated_with_the_same_fields():
    used = used_messages()
    assert len(used) > 200  # the extraction finds the pages' text
    missing = sorted(m for m in used if m not in MESSAGES)
    assert not missing, missing
    for message, translations in MESSAGES.items():
        fields = set(re.findall(r"\{(\w+)\}", message))
        assert len(translations) == 3 and all(translations), message
        for text in translations:
            assert set(re.findall(r"\{(\w+)\}", text)) == fields, (message, text)


def request(cookie: str | None = None, accept: str | None = None) -> Request:
    headers = []
    if cookie:
        headers.append((b"cookie", f"{i18n.COOKIE}={cookie}".encode()))
    if accept:
        headers.append((b"accept-language", accept.encode()))
    return Request({"type": "http", "headers": headers})


@pytest.mark.parametrize(("cookie", "accept", "lang"), [
    (None, None, "en"), (None, "sv-SE,sv;q=0.9,en;q=0.8", "sv"), (None, "de-DE,da;q=0.7,fi;q=0.8", "fi"),
    (None, "nb-NO", "da"), (None, "fr, *;q=0.5", "en"), ("da", "fi", "da"), ("xx", "sv", "sv"), (None, "fi;q=0", "en"),
])
def test_language_is_the_cookie_else_accept_language_else_english(cookie, accept, lang):
    assert i18n.negotiate(request(cookie, accept)) == lang


def test_translator_fills_fields_after_translating():
    assert i18n.translator("fi")("page {page} of {pages}", page=2, pages=5) == "sivu 2/5"
    assert i18n.translator("en")("page {page} of {pages}", page=2, pages=5) == "page 2 of 5"
    assert i18n.translator("sv")("not in the catalogue") == "not in the catalogue"
