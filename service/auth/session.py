"""The web app's sign-in cookie: ``<key id>.<issued at>.<HMAC-SHA256>``, signed with a server secret.

It names the API key a person signed in with, never the key itself; every request looks that key up
again, so revoking the key ends its sessions too. It expires ``max_age_s`` after sign-in.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Callable

COOKIE_NAME = "tp_session"


class SessionSigner:
    def __init__(self, secret: str, max_age_s: int, clock: Callable[[], float] = time.time) -> None:
        self._secret = secret.encode("utf-8")
        self.max_age_s = max_age_s
        self._clock = clock

    def _sign(self, payload: str) -> str:
        mac = hmac.new(self._secret, payload.encode("ascii"), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(mac).rstrip(b"=").decode("ascii")

    def issue(self, key_id: str) -> str:
        payload = f"{key_id}.{int(self._clock())}"
        return f"{payload}.{self._sign(payload)}"

    def verify(self, value: str) -> str | None:
        """The key id of a well-signed, unexpired cookie; None otherwise."""
        parts = value.split(".")
        if len(parts) != 3 or not parts[1].isdigit() or not (parts[0].isascii() and parts[0].isalnum()):
            return None
        payload = f"{parts[0]}.{parts[1]}"
        if not hmac.compare_digest(self._sign(payload), parts[2]):
            return None
        age = self._clock() - int(parts[1])
        return parts[0] if 0 <= age <= self.max_age_s else None
