"""Theme routes: cluster a batch into themes, assign comments to existing themes, read the taxonomy."""

from __future__ import annotations

from fastapi import APIRouter, Request

from service.api.comment_checks import ON_INVALID, OnInvalid, check_and_analyze
from service.api.errors import ApiError
from service.pipeline import AnalysisPipeline
from service.schemas import ErrorResponse
from service.themes import ThemeModel, fit_themes, load_taxonomy, params_from_settings
from service.themes.registry import ModelRegistry, model_id_for
from service.themes.report import theme_outs
from service.themes.schemas import (
    AssignRequest, AssignResponse, AssignResult, ClusterRequest, ClusterResponse, CommentError, ConceptOut,
    TaxonomyResponse, TouchpointOut,
)
from service.themes.taxonomy import Taxonomy

router = APIRouter(prefix="/v1/themes", tags=["themes"])
_ERRORS = {400: {"model": ErrorResponse}, 404: {"model": ErrorResponse}, 413: {"model": ErrorResponse},
           422: {"model": ErrorResponse}, 503: {"model": ErrorResponse}}


def _pipeline(request: Request) -> AnalysisPipeline:
    pipeline: AnalysisPipeline | None = request.app.state.pipeline
    if pipeline is None or pipeline.themes is None:
        raise ApiError(503, "themes_unavailable",
                       "no theme taxonomy is loaded (expected models/themes/taxonomy.yaml)")
    return pipeline


def _taxonomy(pipeline: AnalysisPipeline) -> Taxonomy:
    return load_taxonomy(pipeline.settings.themes_path)


def _registry(request: Request, capacity: int) -> ModelRegistry:
    reg = getattr(request.app.state, "theme_models", None)
    if reg is None:
        reg = request.app.state.theme_models = ModelRegistry(capacity)
    return reg


@router.post("/cluster", response_model=ClusterResponse, responses=_ERRORS,
             summary="Group a batch of comments into touchpoint themes and summarise each theme")
def cluster(body: ClusterRequest, request: Request, on_invalid: OnInvalid = ON_INVALID) -> ClusterResponse:
    pipeline = _pipeline(request)
    settings = pipeline.settings
    if body.n_themes is not None and body.n_themes > settings.themes_max_themes:
        raise ApiError(422, "invalid_request", [{"loc": ["body", "n_themes"], "type": "less_than_equal",
                                                 "msg": f"n_themes must be at most {settings.themes_max_themes}"}])
    results = check_and_analyze(pipeline, body.comments, on_invalid)
    ok = [(c, r) for c, r in zip(body.comments, results) if r.status == "ok"]
    errors = [CommentError(id=r.id, error=r.error or "invalid") for r in results if r.status != "ok"]
    if not ok:
        raise ApiError(422, "invalid_request", [{"loc": ["body", "comments"], "type": "no_usable_comments",
                                                 "msg": "no usable comment to cluster"}])
    texts = [c.text for c, _ in ok]
    langs = [r.language.code if r.language else "und" for _, r in ok]
    model, report = fit_themes(texts, langs, [r.sentiment for _, r in ok], n_themes=body.n_themes,
                               settings=settings, ids=[c.id for c, _ in ok])
    model_id = model_id_for(model.version, texts, langs, body.n_themes, model.params)
    _registry(request, settings.themes_model_cache_size).put(model_id, model)
    return ClusterResponse(request_id=request.state.request_id, model_id=model_id, ids=[c.id for c, _ in ok],
                           report=report, errors=errors, models=pipeline.components())


@router.post("/assign", response_model=AssignResponse, responses=_ERRORS,
             summary="Assign comments to existing themes without re-clustering")
def assign(body: AssignRequest, request: Request, on_invalid: OnInvalid = ON_INVALID) -> AssignResponse:
    """Themes come from ``model_id`` (a clustering of this process), inline ``themes`` from a stored report,
    or, with neither, the taxonomy touchpoints (as in /v1/comments/analyze)."""
    pipeline = _pipeline(request)
    settings = pipeline.settings
    if body.model_id is not None and body.themes is not None:
        raise ApiError(422, "invalid_request", [{"loc": ["body"], "type": "conflict",
                                                 "msg": "give model_id or themes, not both"}])
    model: ThemeModel
    if body.model_id is not None:
        found = _registry(request, settings.themes_model_cache_size).get(body.model_id)
        if found is None:
            raise ApiError(404, "unknown_model", f"no theme model {body.model_id!r} in this process (expired or never "
                           "created); cluster again or pass the report's themes instead")
        model = found
    elif body.themes is not None:
        try:
            model = ThemeModel.from_centroids(
                _taxonomy(pipeline), [(t.theme_id, t.label, t.touchpoint, t.centroid) for t in body.themes],
                params_from_settings(settings))
        except ValueError as exc:
            raise ApiError(422, "invalid_request", [{"loc": ["body", "themes"], "type": "invalid_theme",
                                                     "msg": str(exc)}]) from exc
    else:
        model = ThemeModel.from_taxonomy(_taxonomy(pipeline), params_from_settings(settings))
    results = check_and_analyze(pipeline, body.comments, on_invalid)
    ok = [i for i, r in enumerate(results) if r.status == "ok"]
    outs = theme_outs(model, model.predict([body.comments[i].text for i in ok],
                                           [results[i].language.code if results[i].language else "und" for i in ok]))
    by_index = dict(zip(ok, outs))
    rows = [AssignResult(id=r.id, status=r.status, error=r.error, language=r.language, themes=by_index.get(i, []))
            for i, r in enumerate(results)]
    return AssignResponse(request_id=request.state.request_id, model_id=body.model_id, model_version=model.version,
                          n_unassigned=sum(1 for i in ok if not by_index[i]), results=rows)


@router.get("/taxonomy", response_model=TaxonomyResponse, responses=_ERRORS,
            summary="The touchpoint taxonomy and the multilingual concept lexicon behind it")
def taxonomy(request: Request) -> TaxonomyResponse:
    tax = _taxonomy(_pipeline(request))
    lex = tax.lexicon

    def concept(cid: str) -> ConceptOut:
        c = lex.concepts[lex.index[cid]]
        return ConceptOut(id=c.id, label=c.label, weight=c.weight, terms={k: list(v) for k, v in c.terms.items()})

    claimed = {c for t in tax.touchpoints for c in t.concepts}
    return TaxonomyResponse(
        version=tax.version, lexicon_version=lex.version,
        touchpoints=[TouchpointOut(key=t.key, label=t.label, labels=t.labels, description=t.description,
                                   concepts=[concept(c) for c in t.concepts]) for t in tax.touchpoints],
        discovery_concepts=[concept(c) for c in lex.ids if c not in claimed],
    )
