"""Touchpoints added to the taxonomy from the web app: a discovered theme, or a name with example comments.

The addition is stored as the signed-in tenant's (``TaxonomyAdditions``): from then on that tenant's taxonomy
(``tenant_taxonomy``: ``/v1/themes/taxonomy``, real-time analysis, fits, jobs) has it, no other tenant's does.
The job's model gets a theme of it, as a version like any other edit.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.datastructures import FormData

from service.api.errors import ApiError
from service.api.routes_themes import editor
from service.storage.taxonomy_additions import TaxonomyAdditions
from service.webapp.edits import apply_edit, model_edit
from service.webapp.job_view import components, editable_view, job_url, theme_url
from service.webapp.pages import (
    PageError, error_page, form_text, local, read_form, redirect, root, threaded, tr,
)

router = APIRouter()
LANGUAGES_OF_EXAMPLES = ("sv", "da", "fi", "en")


def _additions(request: Request) -> TaxonomyAdditions:
    """The signed-in tenant's additions."""
    additions: TaxonomyAdditions | None = getattr(request.app.state, "taxonomy_additions", None)
    if additions is None:
        raise PageError(503, "Service starting", "the web app is not running yet; reload in a moment")
    return additions.for_tenant(request.state.tenant)


def _examples(form: FormData) -> dict[str, list[str]]:
    """Chosen representative comments (``example_<lang>``) and typed ones (one a line, in ``extra_language``)."""
    out = {lang: [str(x) for x in form.getlist(f"example_{lang}")][:20] for lang in LANGUAGES_OF_EXAMPLES}
    lang = form_text(form, "extra_language")
    if lang in LANGUAGES_OF_EXAMPLES:
        out[lang] += [line for line in form_text(form, "extra_examples").splitlines() if line.strip()][:20]
    return out


def _add_touchpoint(request: Request, job_id: str, form: FormData, theme_id: str | None) -> HTMLResponse | RedirectResponse:
    """Store the touchpoint as the tenant's, then give the job's model a theme of it (a version)."""
    base = root(request)
    back = local(str(form.get("next") or ""), job_url(base, job_id))
    t = tr(request)
    try:
        editable_view(request, job_id)
        tp = _additions(request).add(
            form_text(form, "label"), form_text(form, "description"), _examples(form), editor(request, "web app"),
            taken=components(request).taxonomy.keys)
    except PageError as exc:
        return error_page(request, exc)
    except ApiError as exc:
        return redirect(back, error=t(str(exc.detail)))
    except ValueError as exc:
        return redirect(back, error=t(str(exc)))
    edit = model_edit("taxonomy", {"theme_id": theme_id or tp.key, "key": tp.key, "label": tp.label},
                      lambda m: [m.add_touchpoint(tp.key, tp.label, theme_id).theme_id])
    return apply_edit(request, job_id, form, edit, lambda ids: theme_url(base, job_id, ids[0]),
                      t("added “{label}” to the taxonomy", label=tp.label))


@router.post("/jobs/{job_id}/themes/{theme_id}/taxonomy", response_model=None)
async def taxonomy_from_theme(request: Request, job_id: str, theme_id: str) -> HTMLResponse | RedirectResponse:
    """A discovered theme becomes a touchpoint of the tenant's taxonomy (its chosen comments are the examples)."""
    form = await read_form(request)
    return await threaded(_add_touchpoint, request, job_id, form, theme_id)


@router.post("/jobs/{job_id}/taxonomy", response_model=None)
async def taxonomy_new(request: Request, job_id: str) -> HTMLResponse | RedirectResponse:
    """A new touchpoint from a name and a few example comments; the job's comments that fit it join it."""
    form = await read_form(request)
    return await threaded(_add_touchpoint, request, job_id, form, None)
