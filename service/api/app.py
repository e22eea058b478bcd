"""FastAPI application factory: models are loaded once per process, at start-up."""

from __future__ import annotations

import logging
from contextlib import asynccontextmanager
from collections.abc import AsyncIterator

from fastapi import Depends, FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse

from service import __version__
from service.api.body_guard import BodyGuard
from service.api.errors import install_error_handlers
from service.api.request_id import RequestIdMiddleware
from service.api import auth, database, routes_comments, routes_jobs, routes_themes
from service.config import Settings, get_settings, server_settings
from service.malloc_arenas import release_freed_heap
from service.pipeline import AnalysisPipeline
from service.schemas import HealthOut, ReadyOut
from service.webapp import routes as webapp, signin

log = logging.getLogger(__name__)


def create_app(settings: Settings | None = None, pipeline: AnalysisPipeline | None = None) -> FastAPI:
    settings = server_settings(settings or get_settings())  # a long-running server: its own resolution of auto

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if app.state.pipeline is None:
            app.state.pipeline = AnalysisPipeline.from_settings(settings)
        log.info("models loaded: %s", app.state.pipeline.components())
        # the job runtime and theme store, then what needs them; a failure is reported by /readyz, never fatal
        database.open_database(app, then=[webapp.start_webapp])
        release_freed_heap()  # what loading freed (~150 MiB measured) would stay resident otherwise
        yield
        webapp.stop_webapp(app)
        auth.stop_auth(app)
        routes_themes.stop_store(app)
        routes_jobs.stop_jobs(app)

    app = FastAPI(
        title="Touchpoints",
        version=__version__,
        description="Language, sentiment and touchpoint themes for sv/da/fi/en customer survey comments.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.pipeline = pipeline
    install_error_handlers(app)
    app.add_middleware(BodyGuard, max_bytes=settings.max_request_bytes,
                       max_upload_bytes=settings.max_upload_bytes + 64 * 1024)  # + multipart framing
    app.add_middleware(RequestIdMiddleware)
    if settings.cors_origins:  # outermost: preflights answered before auth, and 401/429 readable by the page
        app.add_middleware(CORSMiddleware, allow_origins=settings.cors_origins, allow_credentials=False,
                           allow_methods=["GET", "POST", "PATCH", "DELETE"],
                           allow_headers=["Authorization", "X-API-Key", "Content-Type", "X-Request-ID"],
                           expose_headers=["Retry-After", "X-Request-ID", "WWW-Authenticate"], max_age=600)

    @app.get("/healthz", response_model=HealthOut, tags=["ops"], summary="Process is up")
    def healthz() -> HealthOut:
        return HealthOut(status="ok", version=__version__)

    @app.get("/readyz", response_model=ReadyOut, tags=["ops"], summary="Models are loaded and the database answers",
             responses={503: {"model": ReadyOut}})
    def readyz(request: Request) -> JSONResponse:
        p: AnalysisPipeline | None = request.app.state.pipeline
        components = dict(p.components()) if p else {}
        if p is not None and p.sentiment is not None:
            components["inference_engine"] = p.sentiment.engine  # "auto" resolved: what this CPU runs
        not_ready = [] if p is not None and p.ready else ["models"]
        components["database"] = database.database_status(request.app)
        if components["database"] != "ok":
            not_ready.append("database")
        body = ReadyOut(ready=not not_ready, components=components, not_ready=not_ready)
        return JSONResponse(body.model_dump(), status_code=503 if not_ready else 200)

    keyed = [Depends(auth.current_tenant)]  # every API route needs a key when settings.auth_required
    app.include_router(routes_comments.router, dependencies=keyed)
    app.include_router(routes_themes.router, dependencies=keyed)
    app.include_router(routes_jobs.router, dependencies=keyed)
    app.include_router(webapp.router)  # the CX review web app at /app (its pages need a sign-in when keys are on)
    signin.install_redirect(app)
    webapp.mount_static(app)
    return app
