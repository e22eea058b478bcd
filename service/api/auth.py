"""Who is calling: the ``current_tenant`` dependency of every API route, and ``page_tenant`` for the web app.

With ``settings.auth_required`` off (the default, for local use) every caller is the ``default`` tenant
and nothing is checked. On, an API request carries a key (``Authorization: Bearer <key>`` or
``X-API-Key: <key>``) or the web app's sign-in cookie; a missing, unknown or revoked key is a 401 with
``WWW-Authenticate``, and each key is rate-limited (a 429 with ``Retry-After``). The routes pass the
tenant to the repository and the theme-model store, which answer another tenant's object as missing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from fastapi import Depends, FastAPI, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from service.api.errors import ApiError
from service.auth.keys import ApiKeyStore, KeyInfo
from service.auth.rate_limit import TokenBucketLimiter
from service.auth.session import COOKIE_NAME, SessionSigner
from service.config import Settings
from service.storage import make_engine
from service.storage.models import DEFAULT_TENANT

_KEY_DOC = "An API key from `touchpoints keys create`; required when the service runs with TOUCHPOINTS_AUTH_REQUIRED=true."
bearer_scheme = HTTPBearer(auto_error=False, scheme_name="BearerKey", description=_KEY_DOC)
api_key_scheme = APIKeyHeader(name="X-API-Key", auto_error=False, scheme_name="ApiKeyHeader", description=_KEY_DOC)
SESSION_SECRET_NAME = "session"
_SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


@dataclass
class AuthRuntime:
    keys: ApiKeyStore
    limiter: TokenBucketLimiter | None
    settings: Settings
    _signer: SessionSigner | None = field(default=None, init=False)

    @property
    def signer(self) -> SessionSigner:
        """The sign-in cookie's signer (its secret is generated and stored on first use when not configured)."""
        if self._signer is None:
            configured = self.settings.session_secret
            secret = configured.get_secret_value() if configured else self.keys.secret(SESSION_SECRET_NAME)
            self._signer = SessionSigner(secret, self.settings.session_max_age_seconds)
        return self._signer


def start_auth(app: FastAPI) -> None:
    """Open the key store on ``settings.database_url`` (with the job runtime, from the app's lifespan)."""
    settings: Settings = app.state.settings
    limiter = (TokenBucketLimiter(settings.rate_limit_per_minute, settings.rate_limit_burst)
               if settings.rate_limit_per_minute > 0 else None)
    app.state.auth = AuthRuntime(ApiKeyStore(make_engine(settings.database_url)), limiter, settings)


def stop_auth(app: FastAPI) -> None:
    rt: AuthRuntime | None = getattr(app.state, "auth", None)
    if rt is not None:
        rt.keys.engine.dispose()


def auth_runtime(request: Request) -> AuthRuntime:
    rt: AuthRuntime | None = getattr(request.app.state, "auth", None)
    if rt is None:
        raise ApiError(503, "auth_unavailable", "API keys cannot be checked: the database is not open (see /readyz)")
    return rt


def _unauthorized(reason: str, error: str = "invalid_token") -> ApiError:
    challenge = 'Bearer realm="touchpoints"' + (f', error="{error}"' if error else "")
    return ApiError(401, "unauthorized", reason, headers={"WWW-Authenticate": challenge})


def cross_site(request: Request) -> bool:
    """A request a browser sent from another site (Sec-Fetch-Site, or an Origin other than this host)."""
    if request.headers.get("sec-fetch-site") == "cross-site":
        return True
    origin = request.headers.get("origin")
    return bool(origin and origin != "null" and urlsplit(origin).netloc != request.headers.get("host"))


def session_key(request: Request, rt: AuthRuntime) -> KeyInfo | None:
    """The still-active key a web app sign-in cookie names; None without a valid cookie."""
    cookie = request.cookies.get(COOKIE_NAME)
    key_id = rt.signer.verify(cookie) if cookie else None
    key = rt.keys.get(key_id) if key_id else None
    return key if key is not None and key.active else None


def actor(key: KeyInfo) -> str:
    """Who a key is, in words (edit histories, the web app's header): its name and tenant, never the key."""
    return f"{key.name or key.prefix} ({key.tenant})"


def rate_limit(rt: AuthRuntime, key: KeyInfo) -> None:
    wait = rt.limiter.acquire(key.id) if rt.limiter is not None else 0.0
    if wait > 0:
        seconds = max(1, math.ceil(wait))
        raise ApiError(429, "rate_limited", f"too many requests for this API key (limit "
                       f"{rt.settings.rate_limit_per_minute:g}/min, burst {rt.settings.rate_limit_burst}); "
                       f"retry in {seconds} s", headers={"Retry-After": str(seconds)})


def current_tenant(
    request: Request,
    bearer: HTTPAuthorizationCredentials | None = Depends(bearer_scheme),
    header_key: str | None = Depends(api_key_scheme),
) -> str:
    """The caller's tenant (``default`` when keys are off); 401 / 429 / 503 otherwise, as described above."""
    settings: Settings = request.app.state.settings
    if not settings.auth_required:
        return DEFAULT_TENANT
    rt = auth_runtime(request)
    raw = header_key or (bearer.credentials if bearer is not None else None)
    if raw:
        key = rt.keys.authenticate(raw.strip())
        if key is None:
            raise _unauthorized("the API key is unknown or revoked")
    else:
        key = session_key(request, rt)
        if key is None:
            raise _unauthorized("an API key is required: send 'Authorization: Bearer <key>' or 'X-API-Key: <key>'",
                                error="")
        if request.method not in _SAFE_METHODS and cross_site(request):
            raise ApiError(403, "cross_site", "a signed-in browser session may only be used from the Touchpoints app")
    rate_limit(rt, key)
    request.state.tenant, request.state.actor = key.tenant, actor(key)
    return key.tenant


class SignInRequired(Exception):
    """A web app page without a valid sign-in: answered with a redirect to the sign-in page."""


def page_tenant(request: Request) -> str:
    """The signed-in tenant of a web app page (``default`` when keys are off), kept on ``request.state.tenant``
    (and who signed in on ``request.state.signed_in``) for the pages' repository and header."""
    settings: Settings = request.app.state.settings
    request.state.signed_in = None
    if not settings.auth_required:
        request.state.tenant = DEFAULT_TENANT
        return DEFAULT_TENANT
    rt = auth_runtime(request)
    key = session_key(request, rt)
    if key is None:
        raise SignInRequired
    rate_limit(rt, key)
    request.state.tenant, request.state.actor = key.tenant, actor(key)
    request.state.signed_in = request.state.actor
    return key.tenant
