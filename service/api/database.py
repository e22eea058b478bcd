"""The service's database (``settings.database_url``): opened at start-up, checked by ``/readyz``.

An unusable database (a SQLite path in a missing or read-only directory, a PostgreSQL server that is
down) does not stop the service from starting: real-time analysis needs no database, the job and
theme-model routes answer 503, and ``/readyz`` answers 503 naming the ``database`` component and the
reason. Each readiness check re-tries opening it, so the service becomes ready once the database is
back without a restart.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence

from fastapi import FastAPI
from sqlalchemy import text

from service.api import auth, routes_jobs, routes_themes, tenant_taxonomy
from service.logsafe import describe_error

log = logging.getLogger(__name__)
_LOCK = threading.Lock()


def open_database(app: FastAPI, then: Sequence[Callable[[FastAPI], None]] = ()) -> str | None:
    """Open what is not open yet (the job runtime, the theme-model store and taxonomy additions, the API keys),
    then run each of ``then`` once (starters that need them; kept for a later call when opening fails now).
    None if all is open, else why not."""
    with _LOCK:
        pending: list[Callable[[FastAPI], None]] = getattr(app.state, "database_pending", [])
        app.state.database_pending = pending = [*pending, *then]
        try:
            if getattr(app.state, "theme_models", None) is None:
                routes_themes.start_store(app)
            if getattr(app.state, "taxonomy_additions", None) is None:
                tenant_taxonomy.start_taxonomy(app)  # before the job worker, which maps jobs with them
            if getattr(app.state, "jobs", None) is None:
                routes_jobs.start_jobs(app)
            if getattr(app.state, "auth", None) is None:
                auth.start_auth(app)
            while pending:
                pending[0](app)
                pending.pop(0)
        except Exception as exc:  # noqa: BLE001 - any failure to open is reported, never raised
            reason = describe_error(exc)
            if getattr(app.state, "database_error", None) != reason:
                log.error("database unusable (jobs and theme models unavailable): %s", reason)
            app.state.database_error = reason
            return reason
    app.state.database_error = None
    return None


def database_status(app: FastAPI) -> str:
    """'ok', or 'unavailable: <reason>' (opening failed, or a trivial query on the open engine fails)."""
    reason = open_database(app)
    if reason is None:
        try:
            with app.state.jobs.repo.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except Exception as exc:  # noqa: BLE001
            reason = describe_error(exc)
    return "ok" if reason is None else f"unavailable: {reason}"
