"""API keys, stored hashed: a key is ``tp_`` + 43 random URL-safe characters (256 bits), shown once.

Only the key's SHA-256 is kept (with a short prefix to recognise it in listings). A plain, unsalted hash
is enough here, unlike for passwords: the keys are random and far too long to guess or to look up in a
table, and an equality lookup on the hash finds a key in one indexed query.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from service.storage.models import ApiKey, AppSecret, utcnow

KEY_PREFIX = "tp_"
PREFIX_CHARS = 10  # shown in listings: "tp_" + 7 characters of the key
MAX_KEY_CHARS = 200  # anything longer is not one of ours (checked before hashing)
TENANT_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
LAST_USED_EVERY_S = 60.0  # last_used_at is written at most this often per key (not a write per request)


def new_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def check_tenant(tenant: str) -> str:
    """Tenant names are short identifiers (they appear in logs and listings); ValueError otherwise."""
    if not TENANT_PATTERN.fullmatch(tenant):
        raise ValueError(f"tenant {tenant[:80]!r}: use 1-64 letters, digits, '_', '-' or '.', starting with a "
                         "letter or digit")
    return tenant


@dataclass(frozen=True)
class KeyInfo:
    id: str
    tenant: str
    name: str
    prefix: str
    created_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


def _info(row: ApiKey) -> KeyInfo:
    return KeyInfo(row.id, row.tenant, row.name, row.prefix, row.created_at, row.revoked_at, row.last_used_at)


class ApiKeyStore:
    """create / list / revoke / authenticate API keys (``tp_api_keys``), and the service's own secrets."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._touched: dict[str, float] = {}
        self._lock = threading.Lock()

    def _session(self) -> Session:
        return Session(self.engine, expire_on_commit=False)

    def create(self, tenant: str, name: str) -> tuple[KeyInfo, str]:
        """A new key for ``tenant``: its record and the key itself (not stored; show it once)."""
        check_tenant(tenant)
        key = new_key()
        row = ApiKey(id=secrets.token_hex(6), tenant=tenant, name=name.strip()[:200], key_hash=hash_key(key),
                     prefix=key[:PREFIX_CHARS])
        with self._session() as s, s.begin():
            s.add(row)
        return _info(row), key

    def list(self, tenant: str | None = None) -> list[KeyInfo]:
        """Every key, oldest first (revoked ones too); only ``tenant``'s when given."""
        q = select(ApiKey).order_by(ApiKey.created_at, ApiKey.id)
        if tenant is not None:
            q = q.where(ApiKey.tenant == tenant)
        with self._session() as s:
            return [_info(r) for r in s.scalars(q)]

    def revoke(self, key_id: str) -> KeyInfo | None:
        """Revoke a key (at once, in every process: each request looks its key up); None if there is none.
        Revoking a revoked key keeps its first revocation time."""
        with self._session() as s, s.begin():
            row = s.get(ApiKey, key_id)
            if row is None:
                return None
            if row.revoked_at is None:
                row.revoked_at = utcnow()
            return _info(row)

    def get(self, key_id: str) -> KeyInfo | None:
        with self._session() as s:
            row = s.get(ApiKey, key_id)
            return _info(row) if row is not None else None

    def authenticate(self, key: str) -> KeyInfo | None:
        """The active key whose hash this is; None for an unknown, malformed or revoked key."""
        if not key.startswith(KEY_PREFIX) or len(key) > MAX_KEY_CHARS:
            return None
        with self._session() as s:
            row = s.scalar(select(ApiKey).where(ApiKey.key_hash == hash_key(key)))
        if row is None or row.revoked_at is not None:
            return None
        self.touch(row.id)
        return _info(row)

    def touch(self, key_id: str) -> None:
        """Record that the key was used (at most every ``LAST_USED_EVERY_S`` per key and process)."""
        now = time.monotonic()
        with self._lock:
            if now - self._touched.get(key_id, -LAST_USED_EVERY_S) < LAST_USED_EVERY_S:
                return
            self._touched[key_id] = now
        with self._session() as s, s.begin():
            s.execute(update(ApiKey).where(ApiKey.id == key_id).values(last_used_at=utcnow()))

    def secret(self, name: str) -> str:
        """A random secret generated once and shared by every process on this database."""
        with self._session() as s:
            value = s.scalar(select(AppSecret.value).where(AppSecret.name == name))
        if value is not None:
            return value
        try:
            with self._session() as s, s.begin():
                s.add(AppSecret(name=name, value=secrets.token_urlsafe(48)))
        except IntegrityError:
            pass  # another process made it first: use theirs
        with self._session() as s:
            value = s.scalar(select(AppSecret.value).where(AppSecret.name == name))
        assert value is not None
        return value
