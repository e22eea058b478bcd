"""What every page and form of the web app shares: rendering in the UI language, the error page, redirects
that stay inside the app, and the rule that forms are only accepted from the app itself.

Forms post ``application/x-www-form-urlencoded`` to the same origin; posts from another site are refused
(Origin / Sec-Fetch-Site, :func:`service.api.auth.cross_site`), so a foreign page cannot merge a team's themes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import quote, urlsplit

from fastapi import Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.datastructures import FormData

from service.api.auth import cross_site
from service.webapp import i18n, views

_ENV = views.environment()


class PageError(Exception):
    """``title`` and ``detail`` are catalogue messages (``i18n.py``), ``params`` fill them in."""

    def __init__(self, status: int, title: str, detail: str, **params: Any) -> None:
        super().__init__(title)
        self.status, self.title, self.detail, self.params = status, title, detail, params


def root(request: Request) -> str:
    """The path the app is served under (``--root-path`` behind a proxy), for the links it writes."""
    return request.scope.get("root_path", "")


def render(request: Request, template: str, status: int = 200, **ctx: Any) -> HTMLResponse:
    lang = i18n.negotiate(request)
    ctx.setdefault("readonly", False)
    ctx.setdefault("notice", request.query_params.get("notice"))
    ctx.setdefault("error", request.query_params.get("error"))
    ctx.setdefault("self_url", request.url.path + (f"?{request.url.query}" if request.url.query else ""))
    ctx.setdefault("state_detail", None)
    ctx.setdefault("signed_in", getattr(request.state, "signed_in", None))  # auth.page_tenant: who, when keys are on
    html = _ENV.get_template(template).render(root=root(request), lang=lang,
                                              t=i18n.translator(lang), ui_languages=i18n.UI_LANGUAGES,
                                              js_messages=i18n.js_messages(lang), **ctx)
    return HTMLResponse(html, status_code=status, headers={"Cache-Control": "no-store", "Content-Language": lang,
                                                           "Vary": "Cookie, Accept-Language"})


def error_page(request: Request, exc: PageError) -> HTMLResponse:
    t = tr(request)
    return render(request, "error.html", status=exc.status, title=t(exc.title), detail=t(exc.detail, **exc.params))


def tr(request: Request) -> Callable[..., str]:
    """``t(message, **fields)`` in the request's UI language."""
    return i18n.translator(i18n.negotiate(request))


def choice(value: str | None, allowed: Sequence[str]) -> str | None:
    return value if value in allowed else None


def local(path: str | None, fallback: str) -> str:
    """A redirect target inside the app (never another site)."""
    if path and path.startswith("/app") and not urlsplit(path).netloc and "\\" not in path:
        return path
    return fallback


def redirect(url: str, **message: str | None) -> RedirectResponse:
    extra = "&".join(f"{k}={quote(v)}" for k, v in message.items() if v)
    if extra:
        url += ("&" if "?" in url else "?") + extra
    return RedirectResponse(url, status_code=303)


def same_origin(request: Request) -> None:
    if cross_site(request):  # the rule the API applies to the pages' cookie-signed calls too
        raise PageError(403, "Refused", "this form may only be sent from the Touchpoints app itself")


async def read_form(request: Request) -> FormData:
    return await request.form(max_files=0, max_fields=200)


def form_text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


async def threaded(fn: Callable[..., Any], *args: Any) -> Any:
    """Edits load the model, re-assign and wait: off the event loop."""
    return await run_in_threadpool(fn, *args)
