"""The themes report of a scored dump: one typed ``DumpReport``, built once, stored, rendered on demand.

Scoring stored every row's theme units and their e5 vectors (``tp_job_units``), so nothing is
re-encoded here. Themes are fitted on an even sample (``settings.themes_report_max_comments``
comments: clustering memory stays bounded on million-row dumps), then every scored comment is
assigned to them, so sizes, aspect sentiment, NPS impact and trends describe the whole dump.

The fitted model is stored in the theme-model store (``tp_theme_models``, without a fit record: the
dump is the record) and its id goes into the report; every scored row's assignment goes into
``tp_job_row_themes``, so the web app pages and filters a theme's comments in SQL. After the model is
edited (rename / merge / split), :func:`rebuild_report` assigns the job's stored vectors to the edited
model again and replaces the rows and the report in one transaction.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any

import numpy as np
from pydantic import BaseModel, Field

from service.batch.columns import ColumnMapping, to_comment
from service.config import Settings
from service.segmentation import Unit
from service.storage import Repository
from service.storage.models import Dataset, Job, utcnow
from service.themes import ThemeComponents, ThemeReport, build_report as build_theme_report
from service.themes.clustering import even_sample
from service.themes.model import CommentTheme, ThemeModel

if TYPE_CHECKING:
    from service.storage.theme_models import ThemeModelStore

log = logging.getLogger(__name__)
PREDICT_CHUNK = 5000  # comments assigned per step (bounded temporary memory)


class DumpReport(BaseModel):
    job_id: str
    dataset: str
    generated_at: str
    rows: int = Field(description="Rows in the input.")
    scored: int
    errors: int = Field(description="Rows reported with an error (see the job's errors).")
    languages: dict[str, int]
    sentiment: dict[str, int] = Field(description="negative/neutral/positive/unscored -> comments.")
    sampled_comments: int = Field(description="Comments the themes were fitted on; all scored comments are assigned.")
    note: str | None = None
    themes: ThemeReport | None = None
    model_id: str | None = Field(default=None, description="The stored theme model (``/v2/themes/models/{id}``) "
                                 "every comment is assigned to; edits to it re-assign the job's comments.")
    model_revision: str | None = Field(default=None, description="Revision of that model this report was built "
                                       "from (a later edit makes it stale until the job is re-assigned).")


class _Dump:
    """Every scored comment with its stored units and vectors, in row order (what the themes need)."""

    def __init__(self) -> None:
        self.texts: list[str] = []
        self.langs: list[str] = []
        self.ids: list[str] = []
        self.sentiments: list[dict | None] = []
        self.scores: list[float | None] = []
        self.times: list[datetime | None] = []
        self.units: list[list[Unit]] = []
        self.unit_sents: list[dict | None] = []  # plain dicts: 300k pydantic objects would cost ~0.5 GB
        self.vectors: list[np.ndarray] = []
        self.rows: list[int] = []  # the dataset row of each comment

    def add(self, text: str, lang: str, cid: str, sentiment: dict | None, score: float | None,
            when: datetime | None, units_json: str, blob: bytes, row_idx: int | None = None) -> None:
        i = len(self.texts)
        self.rows.append(i if row_idx is None else row_idx)
        rows = json.loads(units_json)
        vec = np.frombuffer(blob, dtype=np.float16)
        self.vectors.append(vec.reshape(len(rows), -1) if rows else vec.reshape(0, 0))
        self.texts.append(text)
        self.langs.append(lang)
        self.ids.append(cid)
        self.sentiments.append(sentiment)
        self.scores.append(score)
        self.times.append(when)
        self.units.append([Unit(i, text if whole else text[start:end], start, end, bool(whole))
                           for start, end, whole, _, _ in rows])
        self.unit_sents += [None if label is None else {"label": label, "score": score_}
                            for _, _, _, label, score_ in rows]

    def subset(self, idx: np.ndarray) -> tuple[list[str], list[str], list[list[Unit]], np.ndarray]:
        """Texts, languages, units (re-indexed) and float32 vectors of the comments ``idx``."""
        units = [[Unit(k, u.text, u.start, u.end, u.whole) for u in self.units[i]] for k, i in enumerate(idx)]
        vecs = [self.vectors[i] for i in idx if len(self.units[i])]
        X = np.concatenate(vecs).astype(np.float32) if vecs else np.zeros((0, 0), np.float32)
        return [self.texts[i] for i in idx], [self.langs[i] for i in idx], units, X


class _Collected:
    """One pass over a job's stored rows: the counts of the report and the comments the themes need."""

    def __init__(self, repo: Repository, job: Job, dataset: Dataset, heartbeat: Callable[[], object]) -> None:
        mapping = ColumnMapping.from_dict(json.loads(dataset.mapping_json))
        self.languages: Counter[str] = Counter()
        self.sentiments: Counter[str] = Counter()
        self.dump = _Dump()
        self.rows = self.ok = self.errors = no_units = 0
        for batch in repo.iter_export(job.id, dataset.id, with_units=True):
            heartbeat()
            for row in batch:
                self.rows += 1
                r = row.result
                if r is None:
                    continue
                if r["status"] != "ok":
                    self.errors += 1
                    continue
                self.ok += 1
                self.languages[r["language"] or "und"] += 1
                self.sentiments[r["sentiment"] or "unscored"] += 1
                if row.units is None:
                    no_units += 1
                    continue
                comment = to_comment(row.record, row.row_idx, mapping)
                meta = comment.metadata if not isinstance(comment, str) else None
                self.dump.add(str(row.record.get(mapping.text, "")), r["language"] or "und", str(r["comment_id"]),
                              {"label": r["sentiment"], "score": r["sentiment_score"]} if r["sentiment"] else None,
                              meta.score if meta else None, meta.timestamp if meta else None, *row.units,
                              row_idx=row.row_idx)
        self.notes: list[str] = []
        if no_units:
            self.notes.append(f"{no_units} scored rows have no stored theme vectors (themes were off when they were "
                              "scored); they are not in the themes report")

    def report(self, job: Job, dataset: Dataset, themes: ThemeReport | None, sampled: int,
               model_id: str | None = None, revision: str | None = None) -> DumpReport:
        return DumpReport(
            job_id=job.id, dataset=dataset.name, generated_at=utcnow().isoformat() + "Z", rows=self.rows,
            scored=self.ok, errors=self.errors, languages=dict(self.languages.most_common()),
            sentiment=dict(self.sentiments.most_common()), sampled_comments=sampled if themes else 0,
            note="; ".join(self.notes) or None, themes=themes, model_id=model_id, model_revision=revision,
        )


def build_report(repo: Repository, job: Job, dataset: Dataset, settings: Settings,
                 components: ThemeComponents | None, heartbeat: Callable[[], object] = lambda: None) -> DumpReport:
    """Fit, store the model, store every row's assignment; the caller stores the returned report.

    ``heartbeat`` is called between batches so a job's lease outlives a long report on a big dump."""
    got = _Collected(repo, job, dataset, heartbeat)
    dump = got.dump
    sample = even_sample(len(dump.texts), settings.themes_report_max_comments)
    if components is None:
        got.notes.append("themes are not loaded (no models/themes)")
    elif len(dump.texts) < 2:
        got.notes.append("themes skipped: fewer than 2 comments with theme vectors")
    else:
        from service.storage.theme_models import ThemeModelStore  # noqa: PLC0415 - loads the themes stack

        model, assigned = _fit_assign(dump, sample, components, heartbeat)
        themes = _theme_report(model, dump, assigned, components.version)
        store = ThemeModelStore(repo.engine, tenant=job.tenant)  # the job's model is the job's tenant's
        _forget_model(repo, store, job.id)  # a report built again (job re-run) replaces its model
        model_id = store.save(model, themes)  # no FitRecord: the job's stored rows are the record
        themes.model_id = model_id
        heartbeat()
        repo.replace_row_themes(job.id, row_themes(model, dump, assigned))
        return got.report(job, dataset, themes, len(sample), model_id, repo.theme_model_revision(model_id))
    repo.replace_row_themes(job.id, iter(()))
    return got.report(job, dataset, None, 0)


def _forget_model(repo: Repository, store: "ThemeModelStore", job_id: str) -> None:
    old = repo.get_themes(job_id)
    if old and old.get("model_id"):
        store.delete(old["model_id"])


def rebuild_report(repo: Repository, store: "ThemeModelStore", job: Job, dataset: Dataset,
                   components: ThemeComponents, heartbeat: Callable[[], object] = lambda: None) -> DumpReport | None:
    """Assign the job's stored comments to its (edited) stored model again; replace its rows and report.

    No re-fit and no re-encoding: the model is the edited one, the vectors are ``tp_job_units``. Rows and
    report are written in one transaction, and only if the model is still at the revision that was read
    (an edit meanwhile: None, and the caller runs this again). Returns the new report, or None then.
    """
    old = repo.get_themes(job.id)
    if not old or not old.get("model_id"):
        raise LookupError(f"job {job.id} has no stored theme model (its report predates them: run the job again)")
    model_id = old["model_id"]
    stored = store.open(model_id, components, with_fit=False)
    if stored is None:
        raise LookupError(f"the theme model {model_id} of job {job.id} was deleted")
    revision = repo.revision_of(stored.revision)
    got = _Collected(repo, job, dataset, heartbeat)
    dump = got.dump
    if len(dump.texts) < 1:
        return None
    assigned = _assign(stored.model, dump, heartbeat)
    themes = _theme_report(stored.model, dump, assigned, components.version)
    themes.model_id = model_id
    report = got.report(job, dataset, themes, int(old.get("sampled_comments") or 0), model_id, revision)
    heartbeat()
    if not repo.replace_row_themes(job.id, row_themes(stored.model, dump, assigned),
                                   report=report.model_dump(mode="json"), model=(model_id, revision)):
        return None
    store.set_report(model_id, themes, revision=stored.revision)  # /v2/themes/models/{id} shows the job's sizes
    return report


def _fit_assign(dump: _Dump, sample: np.ndarray, components: ThemeComponents,
                heartbeat: Callable[[], object]) -> tuple[ThemeModel, list[list[CommentTheme]]]:
    texts, langs, units, X = dump.subset(sample)
    model = components.new_model().fit(texts, langs, units, X)
    heartbeat()
    return model, _assign(model, dump, heartbeat)


def _assign(model: ThemeModel, dump: _Dump, heartbeat: Callable[[], object]) -> list[list[CommentTheme]]:
    """Every comment of the dump assigned to ``model``; unit indices index the whole dump's flattened units."""
    first_unit = np.cumsum([0] + [len(us) for us in dump.units])
    assigned: list[list[CommentTheme]] = []
    for start in range(0, len(dump.texts), PREDICT_CHUNK):
        idx = np.arange(start, min(start + PREDICT_CHUNK, len(dump.texts)))
        offset = int(first_unit[start])  # chunk-local unit indices -> indices into the whole dump's units
        keys = [str(dump.rows[i]) for i in idx]  # a comment moved by hand is pinned by its dataset row
        for row in model.predict(*dump.subset(idx), keys=keys):
            assigned.append([CommentTheme(c.theme, c.sub, c.confidence, tuple(offset + k for k in c.units)) for c in row])
        heartbeat()
    return assigned


def _theme_report(model: ThemeModel, dump: _Dump, assigned: list[list[CommentTheme]], version: str) -> ThemeReport:
    flat = [unit for us in dump.units for unit in us]
    vectors = np.concatenate([v for v in dump.vectors if len(v)])
    return build_theme_report(
        model, dump.texts, dump.langs, dump.sentiments, dump.unit_sents, ids=dump.ids, scores=dump.scores,
        timestamps=dump.times, rows=assigned, units=flat, vectors=vectors, include_assignments=False,
        version=version)


def _themes(dump: _Dump, sample: np.ndarray, components: ThemeComponents,
            heartbeat: Callable[[], object]) -> ThemeReport:
    """Fit on ``sample``, assign all, report (what ``benchmarks/bench_themes.py`` times)."""
    model, assigned = _fit_assign(dump, sample, components, heartbeat)
    return _theme_report(model, dump, assigned, components.version)


def row_themes(model: ThemeModel, dump: _Dump, assigned: list[list[CommentTheme]]) -> Iterator[dict[str, Any]]:
    """``tp_job_row_themes`` rows (without ``job_id``): one per comment and top-level theme, main theme rank 0.

    The mention sentiment is the report's aspect sentiment (``service.themes.report.build_report``): the
    majority label of the clauses carrying the theme, the comment's label when only the whole comment does.
    """
    flat = [unit for us in dump.units for unit in us]
    for i, row in enumerate(assigned):
        if not row:
            continue
        text = dump.texts[i].lower()
        comment_label = dump.sentiments[i]["label"] if dump.sentiments[i] else None
        for rank, c in enumerate(row):
            top = model.themes_[model.canonical(c.theme)]
            sub = model.themes_[model.canonical(c.sub)] if c.sub is not None else None
            carried = [k for k in c.units if not flat[k].whole]
            mention = comment_label
            if carried:
                labs = [dump.unit_sents[k] for k in carried]
                best = Counter(s["label"] for s in labs if s is not None and s["label"]).most_common(1)
                mention = best[0][0] if best else None
            yield {"theme_id": top.theme_id, "row_idx": dump.rows[i], "rank": rank,
                   "subtheme_id": sub.theme_id if sub is not None else None,
                   "confidence": round(float(min(1.0, max(0.0, c.confidence))), 4), "language": dump.langs[i],
                   "sentiment": comment_label, "mention_sentiment": mention,
                   "spans_json": json.dumps([[flat[k].start, flat[k].end] for k in carried]), "search_text": text}
