"""Share links: read-only URLs to a job's overview and theme pages, with an unguessable token.

The token (192 random bits, URL-safe) is shown once, when the link is made; only its SHA-256 is stored,
so a copy of the database does not open the links. A revoked link stays listed and never opens again.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid

from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from service.storage.models import ShareLinkRow, utcnow


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


class ShareLinks:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def _session(self) -> Session:
        return Session(self.engine, expire_on_commit=False)

    def create(self, job_id: str, created_by: str) -> tuple[ShareLinkRow, str]:
        """The new link and its token (which is not stored)."""
        token = secrets.token_urlsafe(24)
        row = ShareLinkRow(id=uuid.uuid4().hex, job_id=job_id, token_hash=token_hash(token), created_by=created_by[:200])
        with self._session() as s, s.begin():
            s.add(row)
        return row, token

    def job_of(self, token: str) -> str | None:
        """The job a live (not revoked) link opens; None for an unknown or revoked token."""
        if not token or len(token) > 100:
            return None
        with self._session() as s:
            return s.scalar(select(ShareLinkRow.job_id).where(ShareLinkRow.token_hash == token_hash(token),
                                                              ShareLinkRow.revoked_at.is_(None)))

    def of_job(self, job_id: str) -> list[ShareLinkRow]:
        """Every link of a job, newest first (revoked ones included)."""
        with self._session() as s:
            return list(s.scalars(select(ShareLinkRow).where(ShareLinkRow.job_id == job_id)
                                  .order_by(ShareLinkRow.created_at.desc()).limit(100)))

    def revoke(self, job_id: str, link_id: str) -> bool:
        with self._session() as s, s.begin():
            return s.execute(update(ShareLinkRow).where(
                ShareLinkRow.id == link_id, ShareLinkRow.job_id == job_id, ShareLinkRow.revoked_at.is_(None))
                .values(revoked_at=utcnow())).rowcount == 1
