"""Engine construction from ``settings.database_url``; SQLite gets the pragmas a worker thread needs."""

from __future__ import annotations

from sqlalchemy import Engine, create_engine, event

from service.storage.models import Base
from service.storage.upgrade import add_missing_columns


def make_engine(url: str) -> Engine:
    """Create the engine and the tables (idempotent; a database from an earlier version gains its new columns).

    SQLite: WAL lets the API read while the worker thread writes, and a busy timeout turns
    writer contention into waiting instead of "database is locked" errors. ``hide_parameters``: a
    database error never quotes the statement's values (comment text) into logs or job messages.
    """
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, hide_parameters=True)

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()
    else:
        engine = create_engine(url, pool_pre_ping=True, hide_parameters=True)
    Base.metadata.create_all(engine)
    add_missing_columns(engine, Base.metadata)
    return engine
