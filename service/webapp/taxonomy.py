"""Touchpoints added to the taxonomy from the web app: a discovered theme, or a name with example comments.

The addition is stored (``TaxonomyAdditions``), this process's theme components are extended with it, and
the job's model gets a theme of it, as a version like any other edit.
"""

from __future__ import annotations

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.datastructures import FormData

from service.api.errors import ApiError
from service.api.routes_themes import editor, theme_pipeline
from service.webapp.edits import apply_edit, model_edit
from service.webapp.job_view import job_url, job_view, theme_url
from service.webapp.pages import (
    PageError, error_page, form_text, local, read_form, redirect, root, same_origin, threaded, tr,
)

router = APIRouter()
LANGUAGES_OF_EXAMPLES = ("sv", "da", "fi", "en")


def extend_taxonomy(app: FastAPI) -> None:
    """The process's theme components get the stored taxonomy additions (fits, edits and assignments use them)."""
    p = app.state.pipeline
    if p is not None and p.themes is not None:
        p.themes.use_components(p.themes.components.with_additions(app.state.taxonomy_additions.all()))


def _examples(form: FormData) -> dict[str, list[str]]:
    """Chosen representative comments (``example_<lang>``) and typed ones (one a line, in ``extra_language``)."""
    out = {lang: [str(x) for x in form.getlist(f"example_{lang}")][:20] for lang in LANGUAGES_OF_EXAMPLES}
    lang = form_text(form, "extra_language")
    if lang in LANGUAGES_OF_EXAMPLES:
        out[lang] += [line for line in form_text(form, "extra_examples").splitlines() if line.strip()][:20]
    return out


def _add_touchpoint(request: Request, job_id: str, form: FormData, theme_id: str | None) -> HTMLResponse | RedirectResponse:
    """Store the touchpoint, extend this process's taxonomy, then give the job's model a theme of it (a version)."""
    base = root(request)
    back = local(str(form.get("next") or ""), job_url(base, job_id))
    t = tr(request)
    try:
        same_origin(request)
        if request.app.state.settings.auth_required:  # one taxonomy serves every tenant: its examples would leak
            raise PageError(403, "Not available with API keys", "taxonomy additions are shared by every tenant, "
                            "so they are switched off while API keys are on")
        v = job_view(request, job_id)
        if v.state != "fresh":
            raise PageError(409, "Themes are updating", "the previous edit is still being applied to this job's "
                            "comments; try again when the page has reloaded")
        pipeline = theme_pipeline(request)
        tp = request.app.state.taxonomy_additions.add(
            form_text(form, "label"), form_text(form, "description"), _examples(form), editor(request, "web app"),
            taken=pipeline.themes.components.taxonomy.keys)
    except PageError as exc:
        return error_page(request, exc)
    except ApiError as exc:
        return redirect(back, error=t(str(exc.detail)))
    except ValueError as exc:
        return redirect(back, error=t(str(exc)))
    extend_taxonomy(request.app)
    edit = model_edit("taxonomy", {"theme_id": theme_id or tp.key, "key": tp.key, "label": tp.label},
                      lambda m: [m.add_touchpoint(tp.key, tp.label, theme_id).theme_id])
    return apply_edit(request, job_id, form, edit, lambda ids: theme_url(base, job_id, ids[0]),
                      t("added “{label}” to the taxonomy", label=tp.label))


@router.post("/jobs/{job_id}/themes/{theme_id}/taxonomy", response_model=None)
async def taxonomy_from_theme(request: Request, job_id: str, theme_id: str) -> HTMLResponse | RedirectResponse:
    """A discovered theme becomes a touchpoint of the taxonomy (its chosen comments are the examples)."""
    form = await read_form(request)
    return await threaded(_add_touchpoint, request, job_id, form, theme_id)


@router.post("/jobs/{job_id}/taxonomy", response_model=None)
async def taxonomy_new(request: Request, job_id: str) -> HTMLResponse | RedirectResponse:
    """A new touchpoint from a name and a few example comments; the job's comments that fit it join it."""
    form = await read_form(request)
    return await threaded(_add_touchpoint, request, job_id, form, None)
