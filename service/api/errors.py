"""Uniform JSON error bodies: ``{"error": code, "detail": ..., "request_id": ...}``."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.logsafe import log_exception
from service.storage.faults import storage_fault

log = logging.getLogger(__name__)


class ApiError(Exception):
    """Raise from a route to answer ``status`` with a machine-readable ``error``, a reason and optional
    headers (``WWW-Authenticate`` on a 401, ``Retry-After`` on a 429)."""

    def __init__(self, status: int, error: str, detail: object, headers: dict[str, str] | None = None) -> None:
        super().__init__(f"{status} {error}")
        self.status, self.error, self.detail, self.headers = status, error, detail, headers


def _rid(request: Request) -> str | None:
    return getattr(request.state, "request_id", None)


def _body(request: Request, error: str, detail: object) -> dict:
    return {"error": error, "detail": jsonable_encoder(detail), "request_id": _rid(request)}


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse(_body(request, exc.error, exc.detail), status_code=exc.status, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        detail = [
            {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
            for e in exc.errors()
        ]
        return JSONResponse(_body(request, "invalid_request", detail), status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {400: "bad_request", 404: "not_found", 405: "method_not_allowed", 413: "payload_too_large"}
        return JSONResponse(
            _body(request, code.get(exc.status_code, "http_error"), exc.detail),
            status_code=exc.status_code, headers=getattr(exc, "headers", None),
        )

    app.add_middleware(UnhandledErrors)  # added first: the innermost middleware, right around the routes


class UnhandledErrors:
    """An exception no route handled becomes a JSON 500 here, logged by type and stack but without its
    message (it may quote comment text). Unlike an ``exception_handler(Exception)``, which Starlette
    re-raises to the server after answering, it ends here: the server's own "Exception in ASGI
    application" log, which would print the message, never sees it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as exc:  # noqa: BLE001 - the last line of defence
            rid = (scope.get("state") or {}).get("request_id")
            if (fault := storage_fault(exc)) is not None:  # a full or read-only disk: the caller may retry later
                log_exception(log, "storage fault %s (request %s)", fault.kind, rid, exc=exc, level=logging.WARNING)
                if not started:
                    body = {"error": fault.code, "detail": fault.reason, "request_id": rid}
                    await JSONResponse(body, status_code=fault.status, headers={"Retry-After": "60"})(
                        scope, receive, send)
                return
            log_exception(log, "unhandled error (request %s)", rid, exc=exc)
            if not started:
                body = {"error": "internal_error", "detail": "unexpected server error; see logs", "request_id": rid}
                await JSONResponse(body, status_code=500)(scope, receive, send)
