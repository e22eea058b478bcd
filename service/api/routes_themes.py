"""Theme routes (/v2): cluster a batch into a stored theme model, assign comments to it, read and edit it.

Themes are referenced by a stored model id (``tp_theme_models``); the public format never carries the
feature space. Edits (rename, merge, split, keyword themes; the web app adds moves and taxonomy additions)
change the stored model, so later assignments follow them, and rebuild the stored report from the model
and the comments it was fitted on (see ``service/storage/theme_models.py``). Every edit is a version
(who, when, what: ``GET .../history``); ``POST .../undo`` returns to the version before the last one. ``GET /v1/themes/taxonomy`` stays; the concept-centroid
``/v1/themes/cluster`` and ``/v1/themes/assign`` answer 410.

The routes get the pipeline, the caller's tenant's taxonomy and the store through the provider functions
below (``Depends``), never
the ORM; tests may replace them with ``app.dependency_overrides``.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Query, Request, Response

from service.api.auth import current_tenant
from service.api.comment_checks import ON_INVALID, REDACT, OnInvalid, check_and_analyze_with_inputs
from service.api.errors import ApiError
from service.api.tenant_taxonomy import components_of
from service.config import Settings
from service.pipeline import AnalysisPipeline
from service.schemas import MAX_OFFSET, CommentIn, ErrorResponse
from service.storage import make_engine
from service.storage.theme_models import EditNote, FitRecord, StoredThemeModel, ThemeModelStore, VersionInfo
from service.themes import ThemeComponents, ThemeModel, build_report, theme_outs
from service.themes.schemas import (
    AssignRequest, AssignResponse, AssignResult, ClusterRequest, ClusterResponse, CommentError, HistoryOut,
    KeywordThemeRequest, MergeRequest, ModelInfo, ModelListOut, ModelOut, ModelTheme, RenameRequest, SplitRequest,
    TaxonomyResponse, ThemeEditResponse, TouchpointOut, VersionOut,
)

router = APIRouter(tags=["themes"])
_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorResponse} for code in (400, 404, 409, 413, 422, 503)
}
_EDIT_LOCK = threading.Lock()  # one edit at a time in this process; update(revision=...) guards across processes


# -- providers (FastAPI dependencies) and lifecycle ------------------------------------------
def start_store(app: FastAPI) -> None:
    """Open the theme-model store on ``settings.database_url`` (called from the app's lifespan)."""
    settings: Settings = app.state.settings
    app.state.theme_models = ThemeModelStore(make_engine(settings.database_url))


def stop_store(app: FastAPI) -> None:
    store: ThemeModelStore | None = getattr(app.state, "theme_models", None)
    if store is not None:
        store.engine.dispose()


def theme_pipeline(request: Request) -> AnalysisPipeline:
    pipeline: AnalysisPipeline | None = request.app.state.pipeline
    if pipeline is None or pipeline.themes is None:
        raise ApiError(503, "themes_unavailable",
                       "no theme taxonomy is loaded (expected models/themes/taxonomy.yaml and language_means.npz)")
    return pipeline


def theme_store(request: Request, tenant: Annotated[str, Depends(current_tenant)]) -> ThemeModelStore:
    """The store as the caller's tenant sees it: another tenant's model is missing (404)."""
    store: ThemeModelStore | None = getattr(request.app.state, "theme_models", None)
    if store is None:
        raise ApiError(503, "theme_store_unavailable", "the theme model store is not open")
    return store.for_tenant(tenant)


def theme_components(request: Request, pipeline: Annotated[AnalysisPipeline, Depends(theme_pipeline)],
                     tenant: Annotated[str, Depends(current_tenant)]) -> ThemeComponents:
    """The caller's tenant's taxonomy: the shipped touchpoints plus the tenant's additions (``tenant_taxonomy``)."""
    components = components_of(pipeline, getattr(request.app.state, "taxonomy_additions", None), tenant)
    assert components is not None  # theme_pipeline checked
    return components


# -- helpers -------------------------------------------------------------------------------
def _score(c: CommentIn) -> float | None:
    s = c.metadata.score if c.metadata else None
    return float(s) if s is not None and math.isfinite(s) else None


def _timestamp(c: CommentIn) -> datetime | None:
    """Naive UTC, so offset-aware and naive timestamps of one batch compare."""
    t = c.metadata.timestamp if c.metadata else None
    return t.astimezone(UTC).replace(tzinfo=None) if t is not None and t.tzinfo is not None else t


def _open(store: ThemeModelStore, model_id: str, components: ThemeComponents, with_fit: bool = True) -> StoredThemeModel:
    try:
        stored = store.open(model_id, components, with_fit=with_fit)
    except ValueError as exc:
        raise ApiError(409, "model_outdated", f"theme model {model_id!r} cannot be used: {exc}") from None
    if stored is None:
        raise ApiError(404, "unknown_model", f"no stored theme model {model_id!r} (never created, or deleted)")
    return stored


def model_themes(model: ThemeModel, report: Mapping[str, Any]) -> list[ModelTheme]:
    """Every live theme of ``model`` (edits included): top-level themes by size, each followed by its sub-themes."""
    size = {t["theme_id"]: int(t["size"]) for t in report.get("themes", [])}
    live = [(j, th) for j, th in enumerate(model.themes_) if th.merged_into is None]
    order = lambda jt: (-size.get(jt[1].theme_id, 0), jt[0])  # noqa: E731
    out: list[ModelTheme] = []
    for j, th in sorted(((j, th) for j, th in live if th.parent is None), key=order):
        for _, t in [(j, th), *sorted(((k, s) for k, s in live if s.parent == j), key=order)]:
            parent = model.themes_[t.parent] if t.parent is not None else None
            out.append(ModelTheme(
                theme_id=t.theme_id, parent_id=parent.theme_id if parent else None, level=2 if parent else 1,
                label=t.label, labels=t.labels, touchpoint=t.touchpoint, discovered=t.discovered, edited=t.edited,
                size=size.get(t.theme_id, 0), keywords=t.keywords))
    return out


def _relabelled(report: Mapping[str, Any], model: ThemeModel) -> dict[str, Any]:
    """A stored report without a fit record (cannot be rebuilt): keep the themes the model still has, with their
    current labels and parents; drop merged-away ones. Sizes stay those of the fit."""
    live = {th.theme_id: th for th in model.themes_ if th.merged_into is None}
    themes = []
    for t in report.get("themes", []):
        th = live.get(t["theme_id"])
        if th is None:
            continue
        parent = model.themes_[th.parent].theme_id if th.parent is not None else None
        themes.append({**t, "label": th.label, "labels": th.labels, "edited": th.edited, "parent_id": parent,
                       "level": 2 if parent else 1})
    return {**report, "themes": themes, "n_themes": sum(1 for t in themes if t["level"] == 1),
            "n_subthemes": sum(1 for t in themes if t["level"] == 2)}


def editor(request: Request, source: str) -> str:
    """Who an edit is recorded under: the signed-in principal when the app has one, else where it came from."""
    actor = getattr(request.state, "actor", None)
    return str(actor) if actor else source


def _edit(store: ThemeModelStore, components: ThemeComponents, model_id: str,
          apply: Callable[[ThemeModel], Sequence[str]], note: EditNote) -> ThemeEditResponse:
    """Load (with the model's tenant's ``components``), apply the edit, rebuild the report, save as a new version
    (only over the state that was read)."""
    with _EDIT_LOCK:
        stored = _open(store, model_id, components)
        try:
            changed = list(apply(stored.model))
        except KeyError as exc:
            raise ApiError(404, "unknown_theme", f"theme model {model_id!r} has no theme {exc.args[0]!r} "
                           "(merged themes are addressed by the theme they were merged into)") from None
        except ValueError as exc:
            raise ApiError(422, "invalid_edit", str(exc)) from None
        return _save(store, stored, model_id, changed, note)


def undo(store: ThemeModelStore, components: ThemeComponents, model_id: str, author: str) -> ThemeEditResponse:
    """Write the live version before the current one back (the current one is marked undone)."""
    with _EDIT_LOCK:
        stored = _open(store, model_id, components)
        target = store.undo_target(model_id)
        if target is None:
            raise ApiError(409, "nothing_to_undo", "the model is as fitted: there is no edit to undo")
        current, previous, meta, arrays = target
        try:
            stored.model.load_state(meta, arrays)
        except ValueError as exc:
            raise ApiError(409, "model_outdated", f"version {previous.number} cannot be restored: {exc}") from None
        note = EditNote(author, "undo", {"action": current.action, "number": current.number}, undoes=current.id)
        return _save(store, stored, model_id, [], note)


def _save(store: ThemeModelStore, stored: StoredThemeModel, model_id: str, changed: list[str],
          note: EditNote) -> ThemeEditResponse:
    if stored.fit is not None:
        report: dict[str, Any] = stored.fit.report(
            stored.model, model_id, str(stored.report.get("model_version", stored.info.model_version))
        ).model_dump(mode="json")
    else:
        report = _relabelled(stored.report, stored.model)
    if not store.update(model_id, stored.model, report, fit=stored.fit, revision=stored.revision, note=note):
        raise ApiError(409, "edit_conflict", f"theme model {model_id!r} was changed or deleted meanwhile; "
                       "read it again and retry")
    return ThemeEditResponse(model_id=model_id, changed=changed, themes=model_themes(stored.model, report))


def version_out(v: VersionInfo) -> VersionOut:
    return VersionOut(number=v.number, created_at=v.created_at, author=v.author, action=v.action, params=v.params,
                      undone=v.undone_at is not None, undone_at=v.undone_at, undone_by=v.undone_by)


# -- /v2/themes ------------------------------------------------------------------------------
@router.post("/v2/themes/cluster", response_model=ClusterResponse, responses=_ERRORS,
             summary="Find the themes of a batch of comments; stores the model and returns its id and report")
def cluster(body: ClusterRequest, request: Request, on_invalid: OnInvalid = ON_INVALID,
            redact: bool | None = REDACT, pipeline: AnalysisPipeline = Depends(theme_pipeline),
            comp: ThemeComponents = Depends(theme_components),
            store: ThemeModelStore = Depends(theme_store)) -> ClusterResponse:
    """Taxonomy touchpoints and their sub-themes, plus themes discovered outside the taxonomy, with keywords,
    representative comments per language, clause-level sentiment, and the NPS/CSAT impact and trend when
    the comments' metadata carry ``score`` and ``timestamp``."""
    results, inputs = check_and_analyze_with_inputs(pipeline, body.comments, on_invalid, redact, themes=comp)
    errors = [CommentError(id=r.id, error=r.error or "invalid") for r in results if r.status != "ok"]
    if inputs is None or not inputs.indices:
        raise ApiError(422, "invalid_request", [{"loc": ["body", "comments"], "type": "no_usable_comments",
                                                 "msg": "no usable comment to find themes in"}])
    try:
        model = comp.new_model().fit(inputs.texts, inputs.languages, inputs.units, inputs.vectors)
    except ValueError as exc:
        raise ApiError(422, "cannot_cluster", str(exc)) from None
    used = [body.comments[i] for i in inputs.indices]
    context: dict[str, Any] = dict(
        ids=[c.id for c in used], sentiments=[results[i].sentiment for i in inputs.indices],
        unit_sentiments=inputs.unit_sentiments, scores=[_score(c) for c in used],
        timestamps=[_timestamp(c) for c in used], include_assignments=body.include_assignments)
    report = build_report(model, inputs.texts, inputs.languages, version=comp.version, **context)
    model_id = store.save(model, report, FitRecord.capture(model, inputs.texts, inputs.languages, **context))
    report.model_id = model_id
    redacted = [r.redacted for r in results if r.redacted is not None]
    return ClusterResponse(request_id=request.state.request_id, model_id=model_id, report=report, errors=errors,
                           redacted=sum(redacted) if redacted else None, models=pipeline.components(comp))


@router.post("/v2/themes/assign", response_model=AssignResponse, responses=_ERRORS,
             summary="Assign comments to a stored model's themes (edits included), or to the taxonomy alone")
def assign(body: AssignRequest, request: Request, on_invalid: OnInvalid = ON_INVALID,
           redact: bool | None = REDACT, pipeline: AnalysisPipeline = Depends(theme_pipeline),
           comp: ThemeComponents = Depends(theme_components),
           store: ThemeModelStore = Depends(theme_store)) -> AssignResponse:
    model = (_open(store, body.model_id, comp, with_fit=False).model if body.model_id is not None
             else comp.taxonomy_model())
    results, inputs = check_and_analyze_with_inputs(pipeline, body.comments, on_invalid, redact, themes=comp)
    by_index: dict[int, list] = {}
    if inputs is not None and inputs.indices:  # the analysis pass's units and vectors: no second encoding
        rows = model.predict(inputs.texts, inputs.languages, inputs.units, inputs.vectors)
        by_index = dict(zip(inputs.indices, theme_outs(model, rows)))
    out = [AssignResult(id=r.id, status=r.status, error=r.error, language=r.language, themes=by_index.get(i, []),
                        redacted=r.redacted, redacted_text=r.redacted_text)
           for i, r in enumerate(results)]
    return AssignResponse(request_id=request.state.request_id, model_id=body.model_id, model_version=comp.version,
                          n_unassigned=sum(1 for t in by_index.values() if not t), results=out,
                          models=pipeline.components(comp))


@router.get("/v2/themes/models", response_model=ModelListOut, responses=_ERRORS,
            summary="Stored theme models, newest first")
def list_models(limit: int = Query(100, ge=1, le=1000), offset: int = Query(0, ge=0, le=MAX_OFFSET),
                store: ThemeModelStore = Depends(theme_store)) -> ModelListOut:
    return ModelListOut(models=[ModelInfo(model_id=m.id, created_at=m.created_at, model_version=m.model_version,
                                          n_comments=m.n_comments) for m in store.list(limit, offset)])


@router.get("/v2/themes/models/{model_id}", response_model=ModelOut, responses=_ERRORS,
            summary="A stored model: its themes (edited labels included) and its report")
def get_model(model_id: str, comp: ThemeComponents = Depends(theme_components),
              store: ThemeModelStore = Depends(theme_store)) -> ModelOut:
    stored = _open(store, model_id, comp, with_fit=False)
    info = stored.info
    return ModelOut(model_id=info.id, created_at=info.created_at, model_version=info.model_version,
                    n_comments=info.n_comments, themes=model_themes(stored.model, stored.report),
                    report=stored.report)  # type: ignore[arg-type]  # validated into ThemeReport


@router.delete("/v2/themes/models/{model_id}", status_code=204, response_class=Response, responses=_ERRORS,
               summary="Delete a stored model")
def delete_model(model_id: str, store: ThemeModelStore = Depends(theme_store)) -> Response:
    if not store.delete(model_id):
        raise ApiError(404, "unknown_model", f"no stored theme model {model_id!r}")
    return Response(status_code=204)


@router.patch("/v2/themes/models/{model_id}/themes/{theme_id}", response_model=ThemeEditResponse,
              responses=_ERRORS, summary="Rename a theme (kept for later assignments)")
def rename_theme(model_id: str, theme_id: str, body: RenameRequest, request: Request,
                 comp: ThemeComponents = Depends(theme_components),
                 store: ThemeModelStore = Depends(theme_store)) -> ThemeEditResponse:
    note = EditNote(editor(request, "API"), "rename", {"theme_id": theme_id, "label": body.label})
    return _edit(store, comp, model_id, lambda m: [m.rename(theme_id, body.label, body.labels).theme_id], note)


@router.post("/v2/themes/models/{model_id}/merge", response_model=ThemeEditResponse, responses=_ERRORS,
             summary="Merge themes of the same level into the first one (its id stays)")
def merge_themes(model_id: str, body: MergeRequest, request: Request,
                 comp: ThemeComponents = Depends(theme_components),
                 store: ThemeModelStore = Depends(theme_store)) -> ThemeEditResponse:
    note = EditNote(editor(request, "API"), "merge", {"theme_ids": body.theme_ids, "label": body.label})
    return _edit(store, comp, model_id, lambda m: [m.merge(body.theme_ids, body.label).theme_id], note)


@router.post("/v2/themes/models/{model_id}/themes/{theme_id}/split", response_model=ThemeEditResponse,
             responses=_ERRORS, summary="Split a theme into n sub-themes (a sub-theme into n siblings)")
def split_theme(model_id: str, theme_id: str, body: SplitRequest, request: Request,
                comp: ThemeComponents = Depends(theme_components),
                store: ThemeModelStore = Depends(theme_store)) -> ThemeEditResponse:
    note = EditNote(editor(request, "API"), "split", {"theme_id": theme_id, "n": body.n})
    return _edit(store, comp, model_id, lambda m: [t.theme_id for t in m.split(theme_id, body.n)], note)


@router.post("/v2/themes/models/{model_id}/keyword-themes", response_model=ThemeEditResponse, responses=_ERRORS,
             summary="Add a theme of every comment whose text has a keyword or phrase (optionally in one language)")
def keyword_theme(model_id: str, body: KeywordThemeRequest, request: Request,
                  comp: ThemeComponents = Depends(theme_components),
                  store: ThemeModelStore = Depends(theme_store)) -> ThemeEditResponse:
    note = EditNote(editor(request, "API"), "keyword", {"phrase": body.phrase, "language": body.language,
                                                        "label": body.label})
    return _edit(store, comp, model_id,
                 lambda m: [m.add_keyword_theme(body.phrase, body.label, body.language).theme_id], note)


@router.get("/v2/themes/models/{model_id}/history", response_model=HistoryOut, responses=_ERRORS,
            summary="The model's versions, newest first: who edited it, when and how (undone ones marked)")
def history(model_id: str, store: ThemeModelStore = Depends(theme_store)) -> HistoryOut:
    if not store.exists(model_id):
        raise ApiError(404, "unknown_model", f"no stored theme model {model_id!r}")
    return HistoryOut(model_id=model_id, versions=[version_out(v) for v in store.history(model_id)])


@router.post("/v2/themes/models/{model_id}/undo", response_model=ThemeEditResponse, responses=_ERRORS,
             summary="Undo the last edit that is not undone yet (the model returns to the version before it)")
def undo_edit(model_id: str, request: Request, comp: ThemeComponents = Depends(theme_components),
              store: ThemeModelStore = Depends(theme_store)) -> ThemeEditResponse:
    return undo(store, comp, model_id, editor(request, "API"))


# -- /v1/themes ------------------------------------------------------------------------------
@router.get("/v1/themes/taxonomy", response_model=TaxonomyResponse, responses=_ERRORS,
            summary="The touchpoint taxonomy: labels, descriptions, lexicon concepts and example clauses")
def taxonomy(comp: ThemeComponents = Depends(theme_components)) -> TaxonomyResponse:
    """The shipped touchpoints and the caller's tenant's additions (no other tenant's)."""
    tax = comp.taxonomy
    return TaxonomyResponse(
        version=tax.version, lexicon_version=tax.lexicon.version, model_version=comp.version,
        touchpoints=[TouchpointOut(key=t.key, label=t.label, labels=t.labels, description=t.description,
                                   concepts=list(t.concepts), examples={k: list(v) for k, v in t.examples.items()})
                     for t in tax.touchpoints])


_RETIRED = ("{route} is retired: its concept-centroid theme format no longer exists. Use {new}; themes are now "
            "referenced by a stored model id (POST /v2/themes/cluster returns it).")


@router.post("/v1/themes/cluster", status_code=410, deprecated=True, responses={410: {"model": ErrorResponse}},
             summary="Retired: use POST /v2/themes/cluster")
def cluster_v1() -> None:
    raise ApiError(410, "gone", _RETIRED.format(route="POST /v1/themes/cluster", new="POST /v2/themes/cluster"))


@router.post("/v1/themes/assign", status_code=410, deprecated=True, responses={410: {"model": ErrorResponse}},
             summary="Retired: use POST /v2/themes/assign")
def assign_v1() -> None:
    raise ApiError(410, "gone", _RETIRED.format(route="POST /v1/themes/assign",
                                                new="POST /v2/themes/assign with a model_id"))
