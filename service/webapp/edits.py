"""The forms that edit a job's theme model: rename, merge, split, move comments, keyword themes, undo.

Edits go through the same code as ``/v2/themes/models/{id}/...`` (``routes_themes._edit``: lock, revision
check, the model's own rename/merge/split), and each is a version of the model (``ThemeModelStore.history``);
undo writes the version before the last one back. The job's comments are then re-assigned to the edited
model by the :class:`ThemeUpdater` thread; the form waits for that up to ``EDIT_WAIT_S`` and redirects to
the page, which shows "updating" and reloads itself if the job is too big to finish in that time.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.datastructures import FormData

from service.api.errors import ApiError
from service.api.routes_themes import _edit as edit_model, editor, undo as undo_model
from service.batch.columns import ColumnMapping
from service.storage.theme_models import EditNote, ThemeModelStore
from service.themes import ThemeComponents
from service.themes.model import ThemeModel, phrase_pattern
from service.webapp import views
from service.webapp.job_view import (
    components, editable_view, job_out, job_url, repo, reported_view, store, theme_url, updater,
)
from service.webapp.pages import (
    PageError, error_page, form_text, local, read_form, redirect, render, root, same_origin, threaded, tr,
)

router = APIRouter()
EDIT_WAIT_S = 6.0  # an edit's form waits this long for the job's re-assignment before redirecting
MOVE_LIMIT = 500  # comments one move may name
PREVIEW_EXAMPLES = 10

Edit = Callable[[ThemeModelStore, ThemeComponents, str, str], list[str]]  # (store, taxonomy, model, author) -> ids


def model_edit(action: str, params: dict[str, Any], apply: Callable[[ThemeModel], Sequence[str]]) -> Edit:
    """An edit of the model, stored as a version (``action``/``params`` are what the history says)."""
    return lambda models, taxonomy, model_id, author: edit_model(
        models, taxonomy, model_id, apply, EditNote(author, action, params)).changed


def apply_edit(request: Request, job_id: str, form: FormData, edit: Edit, done: Callable[[list[str]], str],
               describe: str) -> HTMLResponse | RedirectResponse:
    """Edit the job's model, re-assign the job's comments (waiting up to ``EDIT_WAIT_S``), redirect with a notice."""
    back = local(str(form.get("next") or ""), job_url(root(request), job_id))
    t = tr(request)
    try:
        v = editable_view(request, job_id)
        if v.report is None or not v.report.model_id:
            raise PageError(409, "Not editable", v.state_detail or "this job has no stored theme model")
        try:
            changed = edit(store(request), components(request), v.report.model_id, editor(request, "web app"))
        except ApiError as exc:
            return redirect(back, error=t(str(exc.detail)))
        up = updater(request)
        up.request(job_id)
        finished = up.wait(job_id, EDIT_WAIT_S)
    except PageError as exc:
        return error_page(request, exc)
    note = describe if finished else t("{done}; re-assigning this job's comments, the page reloads when done",
                                       done=describe)
    return redirect(local(done(changed), back), notice=note)


@router.post("/jobs/{job_id}/themes/{theme_id}/rename", response_model=None)
async def rename(request: Request, job_id: str, theme_id: str) -> HTMLResponse | RedirectResponse:
    form = await read_form(request)
    label = form_text(form, "label")[:200]
    base = root(request)

    def apply(m: ThemeModel) -> list[str]:
        if not label:
            raise ValueError("a new name is required")
        return [m.rename(theme_id, label).theme_id]

    edit = model_edit("rename", {"theme_id": theme_id, "label": label}, apply)
    return await threaded(apply_edit, request, job_id, form, edit, lambda ids: theme_url(base, job_id, ids[0]),
                          tr(request)("renamed to “{label}”", label=label))


@router.post("/jobs/{job_id}/merge", response_model=None)
async def merge(request: Request, job_id: str) -> HTMLResponse | RedirectResponse:
    form = await read_form(request)
    ids = [i for i in dict.fromkeys(str(x).strip() for x in form.getlist("theme_ids")) if i][:50]
    label = form_text(form, "label")[:200] or None
    base = root(request)

    def apply(m: ThemeModel) -> list[str]:
        if len(ids) < 2:
            raise ValueError("choose at least two themes to merge")
        return [m.merge(ids, label).theme_id]

    t = tr(request)
    edit = model_edit("merge", {"theme_ids": ids, "label": label}, apply)
    return await threaded(apply_edit, request, job_id, form, edit, lambda kept: theme_url(base, job_id, kept[0]),
                          t("merged {n} themes as “{label}”", n=len(ids), label=label) if label
                          else t("merged {n} themes", n=len(ids)))


@router.post("/jobs/{job_id}/themes/{theme_id}/split", response_model=None)
async def split(request: Request, job_id: str, theme_id: str) -> HTMLResponse | RedirectResponse:
    form = await read_form(request)
    base = root(request)
    try:
        n = int(form_text(form, "n") or "2")
    except ValueError:
        n = 0

    def apply(m: ThemeModel) -> list[str]:
        if not 2 <= n <= 8:
            raise ValueError("split into 2 to 8 parts")
        j = m.index_of(theme_id)
        parent = m.themes_[j].parent
        made = [t.theme_id for t in m.split(theme_id, n)]
        return [m.themes_[parent].theme_id if parent is not None else theme_id, *made]

    edit = model_edit("split", {"theme_id": theme_id, "n": n}, apply)
    return await threaded(apply_edit, request, job_id, form, edit, lambda ids: theme_url(base, job_id, ids[0]),
                          tr(request)("split into {n} sub-themes", n=n))


@router.post("/jobs/{job_id}/themes/{theme_id}/move", response_model=None)
async def move(request: Request, job_id: str, theme_id: str) -> HTMLResponse | RedirectResponse:
    """The chosen comments (their rows) leave this theme for ``target``; kept for every later re-assignment."""
    form = await read_form(request)
    base = root(request)
    target = form_text(form, "target")
    try:
        rows = sorted({int(str(x)) for x in form.getlist("rows")})[:MOVE_LIMIT]
    except ValueError:
        rows = []

    def apply(m: ThemeModel) -> list[str]:
        if not rows:
            raise ValueError("choose at least one comment to move")
        if not target:
            raise ValueError("choose the theme to move the comments to")
        return [m.move([str(r) for r in rows], theme_id, target).theme_id]

    edit = model_edit("move", {"from": theme_id, "to": target, "n": len(rows)}, apply)
    return await threaded(apply_edit, request, job_id, form, edit, lambda ids: theme_url(base, job_id, theme_id),
                          tr(request)("moved {n} comments to {theme}", n=len(rows), theme=target))


def _keyword_input(language: str | None, phrase: str | None) -> tuple[str, str | None]:
    return " ".join((phrase or "").split())[:200], (language or "").strip()[:8] or None


@router.get("/jobs/{job_id}/keyword", response_class=HTMLResponse)
def keyword_preview(request: Request, job_id: str, phrase: str | None = None, language: str | None = None,
                    label: str | None = None) -> HTMLResponse:
    """How many comments a keyword theme would take (and a few of them), before it is made."""
    phrase, lang = _keyword_input(language, phrase)
    try:
        v = reported_view(request, job_id)
    except PageError as exc:
        return error_page(request, exc)
    n, first = 0, []
    text_col = ColumnMapping.from_dict(json.loads(v.dataset.mapping_json)).text
    jobs = repo(request)
    if len(phrase) >= 2:  # the rule the theme will apply (``ThemeModel.apply_edits``), on SQL's candidates
        pat = phrase_pattern(phrase)
        for batch in jobs.keyword_candidates(v.job.id, v.dataset.id, text_col, phrase.lower(), lang):
            for row, lowered, row_lang in batch:
                if pat.search(lowered):
                    n += 1
                    if len(first) < PREVIEW_EXAMPLES:
                        first.append((row, row_lang))
    records = jobs.records(v.dataset.id, [row for row, _ in sorted(first)])
    examples = []
    for row, row_lang in sorted(first):
        text = str(records.get(row, {}).get(text_col, ""))
        m = phrase_pattern(phrase).search(text.lower())
        examples.append({"row": row, "language": row_lang,
                         "pieces": views.highlight(text, [(m.start(), m.end())] if m else [])})
    return render(request, "keyword.html", job=job_out(v.job), dataset=v.dataset.name,
                  job_url=job_url(root(request), job_id), phrase=phrase, language=lang,
                  label=(label or "").strip()[:200], n=n, examples=examples, all_languages=list(v.report.languages),
                  editable=v.state == "fresh", state=v.state, searched=bool(phrase))


@router.post("/jobs/{job_id}/keyword", response_model=None)
async def keyword_theme(request: Request, job_id: str) -> HTMLResponse | RedirectResponse:
    form = await read_form(request)
    base = root(request)
    phrase, lang = _keyword_input(form_text(form, "language"), form_text(form, "phrase"))
    label = form_text(form, "label")[:200] or None

    def apply(m: ThemeModel) -> list[str]:
        return [m.add_keyword_theme(phrase, label, lang).theme_id]

    edit = model_edit("keyword", {"phrase": phrase, "language": lang, "label": label}, apply)
    return await threaded(apply_edit, request, job_id, form, edit, lambda ids: theme_url(base, job_id, ids[0]),
                          tr(request)("made a theme of the comments with “{phrase}”", phrase=phrase))


@router.post("/jobs/{job_id}/undo", response_model=None)
async def undo(request: Request, job_id: str) -> HTMLResponse | RedirectResponse:
    """Back to the version before the last edit (the job's comments are re-assigned to it)."""
    form = await read_form(request)
    base = root(request)

    def edit(models: ThemeModelStore, taxonomy: ThemeComponents, model_id: str, author: str) -> list[str]:
        return undo_model(models, taxonomy, model_id, author).changed

    return await threaded(apply_edit, request, job_id, form, edit, lambda _: job_url(base, job_id),
                          tr(request)("undid the last edit"))


@router.post("/jobs/{job_id}/reassign", response_model=None)
async def reassign(request: Request, job_id: str) -> HTMLResponse | RedirectResponse:
    """Retry a failed re-assignment (the job's comments to its stored model)."""
    form = await read_form(request)

    def run() -> HTMLResponse | RedirectResponse:
        try:
            same_origin(request)
            updater(request).request(job_id)
            updater(request).wait(job_id, EDIT_WAIT_S)
        except PageError as exc:
            return error_page(request, exc)
        return redirect(local(str(form.get("next") or ""), job_url(root(request), job_id)))

    return await threaded(run)
