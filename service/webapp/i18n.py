"""The web app's UI language (sv/da/fi/en) and its message catalogue: the one place UI text is translated.

Templates and routes write English messages and pass them through ``t`` (``translator(lang)``); the
catalogue (``service/webapp/messages.py``: English -> (Swedish, Danish, Finnish)) gives the others. A
message with ``{name}`` fields is formatted after translation, so every language can order them itself.
The language is the ``tp_lang`` cookie (set by the header's selector), else the best of the browser's
``Accept-Language``, else English. ``tests/test_webapp_i18n.py`` checks every message used has all three.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Any

from fastapi import Request

from service.webapp.messages import MESSAGES

COOKIE = "tp_lang"
DEFAULT = "en"
UI_LANGUAGES = {"en": "English", "sv": "Svenska", "da": "Dansk", "fi": "Suomi"}  # each in its own language
_COLUMN = {"sv": 0, "da": 1, "fi": 2}
JS_MESSAGES = ("Uploading…", "Uploaded: job {id} started.", "Upload refused: {why}", "upload failed",
               "Merge {n} themes", "Merge (choose at least two)", "{status}: {done} of {total} rows, {pct}%",
               "{n} rows with errors", "pending", "running", "completed", "failed", "scoring", "themes report")


def negotiate(request: Request) -> str:
    """The cookie's language, else the first supported one of Accept-Language (by q), else English."""
    chosen = request.cookies.get(COOKIE)
    if chosen in UI_LANGUAGES:
        return chosen
    return _from_header(request.headers.get("accept-language", ""))


@lru_cache(maxsize=256)
def _from_header(header: str) -> str:
    ranked = []
    for k, part in enumerate(header.split(",")[:20]):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        base = tag.strip().lower().split("-")[0]
        if base in ("nb", "nn", "no"):  # Norwegian readers: Danish is the closest written language here
            base = "da"
        if base in UI_LANGUAGES and q > 0:
            ranked.append((-q, k, base))
    return min(ranked)[2] if ranked else DEFAULT


def gettext(lang: str, message: str) -> str:
    col = _COLUMN.get(lang)
    if col is None:
        return message
    row = MESSAGES.get(message)
    return row[col] if row else message


def translator(lang: str) -> Callable[..., str]:
    """``t(message, **fields)``: the message in ``lang`` with its ``{fields}`` filled in."""
    def t(message: Any, **fields: Any) -> str:
        text = gettext(lang, str(message))
        return text.format(**fields) if fields else text
    return t


def js_messages(lang: str) -> dict[str, str]:
    """What app.js shows (upload, progress, merge button), for the page's ``tp-messages`` JSON."""
    return {m: gettext(lang, m) for m in JS_MESSAGES}
