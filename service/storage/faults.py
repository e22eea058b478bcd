"""Recognise storage faults (a full disk, a read-only database or directory) among exceptions.

Why one classifier: the same fault reaches the service in several shapes (SQLAlchemy's
``OperationalError`` wrapping sqlite3's "database or disk is full", an ``OSError`` with ENOSPC from
an upload spool or a results file, pyarrow's own IO error quoting "No space left on device"), and
the API, the job worker and the CLI must all answer it the same way: a clear reason and a status
that tells the caller to retry later, never a 500 or a traceback, and never a job marked failed
for what is the machine's condition rather than the data's.
"""

from __future__ import annotations

import errno
from dataclasses import dataclass

_FULL_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}
_READ_ONLY_ERRNOS = {errno.EROFS, errno.EACCES, errno.EPERM}
# sqlite3 / driver messages (lower case) -> kind; first match wins
_MESSAGES = (
    ("database or disk is full", "disk_full"),
    ("no space left on device", "disk_full"),
    ("disk quota exceeded", "disk_full"),
    ("readonly database", "read_only"),
    ("read-only file system", "read_only"),
    ("unable to open database file", "read_only"),
    ("disk i/o error", "io_error"),
)
_STATUS = {"disk_full": 507, "read_only": 503, "io_error": 503}
_CODE = {"disk_full": "insufficient_storage", "read_only": "storage_read_only", "io_error": "storage_unavailable"}
_WHAT = {
    "disk_full": "disk is full",
    "read_only": "storage is read-only or not writable",
    "io_error": "storage failed to write (disk I/O error)",
}


@dataclass(frozen=True)
class StorageFault:
    kind: str  # disk_full | read_only | io_error

    @property
    def status(self) -> int:
        """507 Insufficient Storage for a full disk; 503 (the service cannot store anything now) otherwise."""
        return _STATUS[self.kind]

    @property
    def code(self) -> str:
        return _CODE[self.kind]

    @property
    def what(self) -> str:
        """For the command line: "the disk is full"."""
        return f"the {_WHAT[self.kind]}"

    @property
    def reason(self) -> str:
        """For an API answer: the request's own writes were rolled back, earlier ones stand."""
        return (f"the service's {_WHAT[self.kind]}; nothing from this request was stored "
                "(what was accepted before is kept)")


def storage_fault(exc: BaseException) -> StorageFault | None:
    """The storage fault behind ``exc`` (or any exception it was raised from), else None."""
    seen: set[int] = set()
    e: BaseException | None = exc
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        if (kind := _kind(e)) is not None:
            return StorageFault(kind)
        orig = getattr(e, "orig", None)  # SQLAlchemy DBAPIError -> the driver's exception
        e = orig if isinstance(orig, BaseException) else (e.__cause__ or e.__context__)
    return None


def _kind(e: BaseException) -> str | None:
    if isinstance(e, OSError) and e.errno is not None:
        if e.errno in _FULL_ERRNOS:
            return "disk_full"
        if e.errno in _READ_ONLY_ERRNOS:
            return "read_only"
    if not isinstance(e, (OSError, _db_errors())):
        return None
    msg = str(e).lower()
    return next((kind for text, kind in _MESSAGES if text in msg), None)


def _db_errors() -> tuple[type[BaseException], ...]:
    import sqlite3  # noqa: PLC0415

    from sqlalchemy.exc import OperationalError  # noqa: PLC0415

    return (sqlite3.OperationalError, sqlite3.DatabaseError, OperationalError)
