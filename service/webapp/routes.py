"""The CX review web app at ``/app``: server-rendered pages over the stored jobs and theme models.

:data:`router` (included by the app factory) assembles the pages, one module each: ``jobs`` (the jobs
list, a job's overview), ``theme_pages`` (a theme and its comments), ``downloads`` (CSV/XLSX of the
current view), ``edits`` (rename, merge, split, move, keyword themes, undo), ``taxonomy`` (touchpoints
added to the taxonomy), ``sharing`` (share links and the read-only pages they open), ``ui_language``
(the language selector) and ``signin``. The pages of a tenant's jobs need a sign-in when API keys are on
(``auth.page_tenant``); sign-in, share links and the language selector do not. What the pages share is
in ``pages.py`` (rendering, errors, forms) and ``job_view.py`` (a job, its report and its themes' state).
Pages speak sv/da/fi/en (``i18n.py``: a cookie set by the header's selector, else Accept-Language).
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Depends, FastAPI
from fastapi.staticfiles import StaticFiles

from service.api.auth import page_tenant
from service.api.tenant_taxonomy import app_components
from service.storage.shares import ShareLinks
from service.webapp import downloads, edits, jobs, sharing, signin, taxonomy, theme_pages, ui_language
from service.webapp.updater import ThemeUpdater

PREFIX = "/app"
STATIC = Path(__file__).parent / "static"

router = APIRouter(tags=["web app"], include_in_schema=False)
router.include_router(signin.router, prefix=PREFIX)  # before the pages that need it
for _pages in (jobs.router, theme_pages.router, downloads.router, edits.router, taxonomy.router, sharing.router):
    router.include_router(_pages, prefix=PREFIX, dependencies=[Depends(page_tenant)])
for _public in (sharing.public_router, ui_language.public_router):  # share links (read-only), the UI language
    router.include_router(_public, prefix=PREFIX)


def start_webapp(app: FastAPI) -> None:
    """After the job runtime, the theme store and the taxonomy additions are up (the app's lifespan)."""
    updater = ThemeUpdater(app.state.jobs.repo, app.state.theme_models, app_components(app))
    updater.start()
    app.state.theme_updater = updater
    app.state.share_links = ShareLinks(app.state.jobs.repo.engine)


def stop_webapp(app: FastAPI) -> None:
    updater: ThemeUpdater | None = getattr(app.state, "theme_updater", None)
    if updater is not None:
        updater.stop()


def mount_static(app: FastAPI) -> None:
    app.mount(f"{PREFIX}/static", StaticFiles(directory=STATIC), name="app-static")
