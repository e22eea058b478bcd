"""The header's UI-language selector (sv/da/fi/en; ``i18n.py`` negotiates the language of every page)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from service.webapp import i18n
from service.webapp.pages import PageError, error_page, form_text, local, read_form, redirect, root, same_origin

public_router = APIRouter()


@public_router.post("/language", response_model=None)
async def set_language(request: Request) -> HTMLResponse | RedirectResponse:
    """The choice is kept in a cookie for a year."""
    form = await read_form(request)
    try:
        same_origin(request)
    except PageError as exc:
        return error_page(request, exc)
    lang = form_text(form, "lang")
    back = local(str(form.get("next") or ""), f"{root(request)}/app")
    response = redirect(back)
    if lang in i18n.UI_LANGUAGES:
        response.set_cookie(i18n.COOKIE, lang, max_age=365 * 24 * 3600, samesite="lax", httponly=True)
    return response
