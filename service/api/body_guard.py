"""ASGI middleware that bounds request bodies and rejects invalid UTF-8 before parsing.

Why here and not in the route: FastAPI turns a body that is not UTF-8 into a vague 400,
and would read an unbounded body into memory first. This guard buffers at most
``max_bytes``, answers 413 beyond that, and 400 with the byte offset for bad UTF-8.
"""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class BodyGuard:
    def __init__(self, app: ASGIApp, max_bytes: int, max_upload_bytes: int | None = None) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.max_upload_bytes = max_upload_bytes if max_upload_bytes is not None else max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in ("POST", "PUT", "PATCH"):
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        ctype = headers.get(b"content-type", b"").decode("latin-1").lower()
        declared = headers.get(b"content-length")
        if "multipart/form-data" in ctype:
            # File uploads are streamed and bounded by their own route, under their own (larger) limit.
            if declared is not None and declared.isdigit() and int(declared) > self.max_upload_bytes:
                await _reject(scope, send, 413, "payload_too_large",
                              f"upload is {int(declared)} bytes; the limit is {self.max_upload_bytes}")
                return
            await self.app(scope, receive, send)
            return
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await _reject(scope, send, 413, "payload_too_large",
                          f"request body is {int(declared)} bytes; the limit is {self.max_bytes}")
            return

        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body = message.get("body", b"")
            size += len(body)
            if size > self.max_bytes:
                await _reject(scope, send, 413, "payload_too_large", f"request body exceeds {self.max_bytes} bytes")
                return
            chunks.append(body)
            more = message.get("more_body", False)
        raw = b"".join(chunks)
        if "json" in ctype or not ctype:
            try:
                raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                await _reject(scope, send, 400, "invalid_utf8",
                              f"request body is not valid UTF-8 (byte offset {exc.start}: {exc.reason})")
                return

        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": raw, "more_body": False}

        await self.app(scope, replay, send)


async def _reject(scope: Scope, send: Send, status: int, error: str, detail: str) -> None:
    rid = (scope.get("state") or {}).get("request_id")
    payload = json.dumps({"error": error, "detail": detail, "request_id": rid}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]})
    await send({"type": "http.response.body", "body": payload})
