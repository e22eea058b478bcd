"""The themes report of a scored dump: one typed ``DumpReport``, built once, stored, rendered on demand.

Scoring stored every row's theme units and their e5 vectors (``tp_job_units``), so nothing is
re-encoded here. Themes are fitted on an even sample (``settings.themes_report_max_comments``
comments: clustering memory stays bounded on million-row dumps), then every scored comment is
assigned to them, so sizes, aspect sentiment, NPS impact and trends describe the whole dump.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Callable
from datetime import datetime

import numpy as np
from pydantic import BaseModel, Field

from service.batch.columns import ColumnMapping, to_comment
from service.config import Settings
from service.segmentation import Unit
from service.storage import Repository
from service.storage.models import Dataset, Job, utcnow
from service.themes import ThemeComponents, ThemeReport, build_report as build_theme_report
from service.themes.clustering import even_sample
from service.themes.model import CommentTheme

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

    def add(self, text: str, lang: str, cid: str, sentiment: dict | None, score: float | None,
            when: datetime | None, units_json: str, blob: bytes) -> None:
        i = len(self.texts)
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


def build_report(repo: Repository, job: Job, dataset: Dataset, settings: Settings,
                 components: ThemeComponents | None, heartbeat: Callable[[], object] = lambda: None) -> DumpReport:
    """``heartbeat`` is called between batches so a job's lease outlives a long report on a big dump."""
    mapping = ColumnMapping.from_dict(json.loads(dataset.mapping_json))
    languages: Counter[str] = Counter()
    sentiments: Counter[str] = Counter()
    dump = _Dump()
    rows = ok = errors = no_units = 0
    for batch in repo.iter_export(job.id, dataset.id, with_units=True):
        heartbeat()
        for row in batch:
            rows += 1
            r = row.result
            if r is None:
                continue
            if r["status"] != "ok":
                errors += 1
                continue
            ok += 1
            languages[r["language"] or "und"] += 1
            sentiments[r["sentiment"] or "unscored"] += 1
            if row.units is None:
                no_units += 1
                continue
            comment = to_comment(row.record, row.row_idx, mapping)
            meta = comment.metadata if not isinstance(comment, str) else None
            dump.add(str(row.record.get(mapping.text, "")), r["language"] or "und", str(r["comment_id"]),
                     {"label": r["sentiment"], "score": r["sentiment_score"]} if r["sentiment"] else None,
                     meta.score if meta else None, meta.timestamp if meta else None, *row.units)
    notes = []
    if no_units:
        notes.append(f"{no_units} scored rows have no stored theme vectors (themes were off when they were scored); "
                     "they are not in the themes report")
    themes = None
    sample = even_sample(len(dump.texts), settings.themes_report_max_comments)
    if components is None:
        notes.append("themes are not loaded (no models/themes)")
    elif len(dump.texts) < 2:
        notes.append("themes skipped: fewer than 2 comments with theme vectors")
    else:
        themes = _themes(dump, sample, components, heartbeat)
    return DumpReport(
        job_id=job.id, dataset=dataset.name, generated_at=utcnow().isoformat() + "Z", rows=rows, scored=ok,
        errors=errors, languages=dict(languages.most_common()), sentiment=dict(sentiments.most_common()),
        sampled_comments=len(sample) if themes else 0, note="; ".join(notes) or None, themes=themes,
    )


def _themes(dump: _Dump, sample: np.ndarray, components: ThemeComponents,
            heartbeat: Callable[[], object]) -> ThemeReport:
    texts, langs, units, X = dump.subset(sample)
    model = components.new_model().fit(texts, langs, units, X)
    heartbeat()
    first_unit = np.cumsum([0] + [len(us) for us in dump.units])
    assigned: list[list[CommentTheme]] = []
    for start in range(0, len(dump.texts), PREDICT_CHUNK):
        idx = np.arange(start, min(start + PREDICT_CHUNK, len(dump.texts)))
        offset = int(first_unit[start])  # chunk-local unit indices -> indices into the whole dump's units
        for row in model.predict(*dump.subset(idx)):
            assigned.append([CommentTheme(c.theme, c.sub, c.confidence, tuple(offset + k for k in c.units)) for c in row])
        heartbeat()
    flat = [unit for us in dump.units for unit in us]
    vectors = np.concatenate([v for v in dump.vectors if len(v)])
    return build_theme_report(
        model, dump.texts, dump.langs, dump.sentiments, dump.unit_sents, ids=dump.ids, scores=dump.scores,
        timestamps=dump.times, rows=assigned, units=flat, vectors=vectors, include_assignments=False,
        version=components.version)
