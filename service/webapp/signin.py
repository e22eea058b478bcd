"""Sign-in for the web app when API keys are on: a person pastes an API key once, gets a signed cookie.

The cookie (``service/auth/session.py``) is HttpOnly and SameSite=Lax, names the key (never holds it)
and scopes every page, and the API calls the pages make, to that key's tenant until it expires, the
person signs out or the key is revoked. With keys off the sign-in page just leads to the jobs.
"""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from service.api.auth import SignInRequired, auth_runtime
from service.auth.session import COOKIE_NAME
from service.config import Settings
from service.webapp.pages import PageError, error_page, local, render, root, same_origin, tr

router = APIRouter()  # included under /app by service.webapp.routes


def install_redirect(app: FastAPI) -> None:
    """A page without a valid sign-in redirects to the sign-in page, which comes back to it afterwards."""

    @app.exception_handler(SignInRequired)
    async def _to_sign_in(request: Request, exc: SignInRequired) -> RedirectResponse:
        here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"{root(request)}/app/sign-in?next={quote(here, safe='')}", status_code=303)


def _page(request: Request, next_url: str, status: int = 200, error: str | None = None) -> HTMLResponse:
    return render(request, "signin.html", status=status, next_url=next_url, error=error)


@router.get("/sign-in", response_class=HTMLResponse, response_model=None)
def sign_in_page(request: Request, next: str | None = None) -> HTMLResponse | RedirectResponse:  # noqa: A002
    settings: Settings = request.app.state.settings
    target = local(next, f"{root(request)}/app")
    if not settings.auth_required:
        return RedirectResponse(target, status_code=303)
    return _page(request, target)


@router.post("/sign-in", response_class=HTMLResponse, response_model=None)
async def sign_in(request: Request) -> HTMLResponse | RedirectResponse:
    settings: Settings = request.app.state.settings
    form = await request.form(max_files=0, max_fields=5)
    target = local(str(form.get("next") or ""), f"{root(request)}/app")
    if not settings.auth_required:
        return RedirectResponse(target, status_code=303)
    try:
        same_origin(request)  # no signing a person into someone else's tenant from another site
    except PageError as exc:
        return error_page(request, exc)
    raw = form.get("api_key")
    rt = auth_runtime(request)
    key = rt.keys.authenticate(raw.strip()) if isinstance(raw, str) and raw.strip() else None
    if key is None:
        return _page(request, target, status=401, error=tr(request)(
            "That API key is unknown or has been revoked. Check it and try again, or ask an administrator for a new one."))
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(COOKIE_NAME, rt.signer.issue(key.id), max_age=settings.session_max_age_seconds,
                        path=f"{root(request)}/", httponly=True, samesite="lax",
                        secure=request.url.scheme == "https")
    return response


@router.post("/sign-out", response_model=None)
def sign_out(request: Request) -> HTMLResponse | RedirectResponse:
    try:
        same_origin(request)
    except PageError as exc:
        return error_page(request, exc)
    notice = quote(tr(request)("Signed out."))
    response = RedirectResponse(f"{root(request)}/app/sign-in?notice={notice}", status_code=303)
    response.delete_cookie(COOKIE_NAME, path=f"{root(request)}/", httponly=True, samesite="lax",
                           secure=request.url.scheme == "https")
    return response
