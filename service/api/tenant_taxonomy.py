"""Each tenant's taxonomy: the shipped touchpoints plus the ones that tenant's people added (``tp_taxonomy_additions``).

Real-time analysis, ``/v1/themes/taxonomy``, ``/v2/themes``, batch jobs and the web app all map comments
to touchpoints with :func:`components_of` for the caller's (or the job's) tenant, so a tenant's additions
and their example comments reach no other tenant. Additions are read on every call (one small indexed
query), so one added in one process is used by every process at once; their embeddings are cached by
content (``ThemeComponents.with_additions``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from fastapi import Depends, FastAPI, Request
from sqlalchemy.exc import SQLAlchemyError

from service.api.auth import current_tenant
from service.logsafe import log_exception
from service.pipeline import AnalysisPipeline
from service.storage.taxonomy_additions import TaxonomyAdditions
from service.themes import ThemeComponents

log = logging.getLogger(__name__)


def start_taxonomy(app: FastAPI) -> None:
    """Open the additions on the theme-model store's database (after it is open, in ``open_database``)."""
    app.state.taxonomy_additions = TaxonomyAdditions(app.state.theme_models.engine)


def components_of(pipeline: AnalysisPipeline | None, additions: TaxonomyAdditions | None,
                  tenant: str) -> ThemeComponents | None:
    """``tenant``'s theme components; None without a theme stage, the shipped taxonomy while no database is open."""
    if pipeline is None or pipeline.themes is None:
        return None
    base = pipeline.themes.components
    return base if additions is None else base.with_additions(additions.for_tenant(tenant).all())


def app_components(app: FastAPI) -> Callable[[str], ThemeComponents | None]:
    """:func:`components_of` on the app's pipeline and additions, for its job worker and theme updater."""
    return lambda tenant: components_of(app.state.pipeline, getattr(app.state, "taxonomy_additions", None), tenant)


def analysis_themes(request: Request, tenant: str = Depends(current_tenant)) -> ThemeComponents | None:
    """The caller's taxonomy for real-time analysis, which needs no database: the shipped one if the additions
    cannot be read."""
    pipeline: AnalysisPipeline | None = request.app.state.pipeline
    try:
        return components_of(pipeline, getattr(request.app.state, "taxonomy_additions", None), tenant)
    except SQLAlchemyError:
        log_exception(log, "taxonomy additions of tenant %s unreadable; analysing with the shipped taxonomy",
                      tenant, level=logging.WARNING)
        return components_of(pipeline, None, tenant)
