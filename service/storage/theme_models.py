"""Durable theme models: a fitted :class:`ThemeModel` and its report in ``tp_theme_models``.

A stored model is what ``POST /v2/themes/assign`` assigns new comments to and what the edit routes
(rename, merge, split) change; the edits live in the model's state, so later assignments follow them.

Next to the model the store keeps a :class:`FitRecord`: the comments the model was fitted on (texts,
languages, clause units, their vectors, sentiments, scores, timestamps) and the fit-time assignment of
every unit. It rebuilds the report after an edit with :func:`build_report`, so sizes, sentiment,
representative comments, impact and trend follow a merge or a split exactly as a fresh report would.

Tenancy: a model belongs to a tenant (a batch job's model to the job's). A store made for a tenant
(:meth:`ThemeModelStore.for_tenant`, what the API routes get) saves models as that tenant's and answers
another tenant's model as missing; the unscoped store (``tenant=None``) is the service's own workers'.

Concurrent edits: :meth:`ThemeModelStore.update` takes the ``revision`` read by :meth:`ThemeModelStore.open`
and writes only if the stored model is still at that revision (a conditional UPDATE, so this holds
across processes too); the caller answers a lost race with a conflict instead of losing an edit.
"""

from __future__ import annotations

import io
import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import numpy as np
from sqlalchemy import Engine, delete, func, select, update
from sqlalchemy.orm import Session

from service.segmentation import Unit
from service.storage.models import DEFAULT_TENANT, ThemeModelRow, ThemeModelVersionRow, utcnow
from service.themes.model import ThemeModel, UnitHit
from service.themes.report import SentimentLike, ThemeReport, build_report, label_score

if TYPE_CHECKING:  # runtime import would load the embedder stack for every storage user
    from service.themes import ThemeComponents

_MODEL, _FIT = "model_", "fit_"


def _dumps(obj: Any) -> str:
    """``ensure_ascii`` keeps lone surrogates storable (as in the other tables)."""
    return json.dumps(obj, ensure_ascii=True, separators=(",", ":"))


def _pack(arrays: Mapping[str, np.ndarray]) -> bytes:
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    return buf.getvalue()


def _unpack(blob: bytes, prefixes: tuple[str, ...] = (_MODEL, _FIT)) -> dict[str, np.ndarray]:
    """The arrays whose names start with one of ``prefixes`` (npz members are read only when asked for)."""
    with np.load(io.BytesIO(blob), allow_pickle=False) as z:
        return {k: z[k] for k in z.files if k.startswith(prefixes)}


def _pair(s: SentimentLike) -> list | None:
    label, score = label_score(s)
    return None if label is None else [label, score]


def _sentiment(p: Sequence | None) -> dict | None:
    return None if p is None else {"label": p[0], "score": p[1]}


@dataclass
class FitRecord:
    """The comments a model was fitted on and the fit-time assignment of each of their units."""

    texts: list[str]
    languages: list[str]
    units: list[Unit]                       # flattened, as ``model.units_``
    vectors: np.ndarray                     # float32, one row per unit (``model.vectors_``)
    hits: list[list[UnitHit]]               # ``model.unit_hits_`` as fitted
    n_themes: int                           # themes at fit time; later ones were made by split
    ids: list[str] | None = None
    sentiments: list[list | None] | None = None       # per comment [label, score]
    unit_sentiments: list[list | None] | None = None  # per unit [label, score]
    scores: list[float | None] | None = None
    timestamps: list[datetime | None] | None = None
    include_assignments: bool = True

    @classmethod
    def capture(cls, model: ThemeModel, texts: Sequence[str], languages: Sequence[str], *,
                ids: Sequence[str] | None = None, sentiments: Sequence[SentimentLike] | None = None,
                unit_sentiments: Sequence[SentimentLike] | None = None, scores: Sequence[float | None] | None = None,
                timestamps: Sequence[datetime | None] | None = None, include_assignments: bool = True) -> "FitRecord":
        """Right after ``model.fit`` (the same arguments ``build_report`` gets)."""
        return cls(
            texts=list(texts), languages=list(languages), units=list(model.units_),
            vectors=np.asarray(model.vectors_, dtype=np.float32), hits=[list(r) for r in model.unit_hits_],
            n_themes=len(model.themes_), ids=list(ids) if ids is not None else None,
            sentiments=[_pair(s) for s in sentiments] if sentiments is not None else None,
            unit_sentiments=[_pair(s) for s in unit_sentiments] if unit_sentiments is not None else None,
            scores=list(scores) if scores is not None else None,
            timestamps=list(timestamps) if timestamps is not None else None,
            include_assignments=include_assignments,
        )

    # -- (de)serialisation ------------------------------------------------------------------
    def to_state(self) -> tuple[dict, dict[str, np.ndarray]]:
        flat = [(i, h) for i, row in enumerate(self.hits) for h in row]
        meta = {
            "texts": self.texts, "languages": self.languages, "ids": self.ids, "n_themes": self.n_themes,
            "units": [[u.comment, u.start, u.end, u.whole, u.text] for u in self.units],
            "sentiments": self.sentiments, "unit_sentiments": self.unit_sentiments, "scores": self.scores,
            "timestamps": [t.isoformat() if t else None for t in self.timestamps] if self.timestamps is not None else None,
            "include_assignments": self.include_assignments,
        }
        arrays = {
            "vectors": self.vectors.astype(np.float32),
            "hit_unit": np.array([i for i, _ in flat], dtype=np.int32),
            "hit_theme": np.array([h.theme for _, h in flat], dtype=np.int32),
            "hit_sub": np.array([-1 if h.sub is None else h.sub for _, h in flat], dtype=np.int32),
            "hit_confidence": np.array([h.confidence for _, h in flat], dtype=np.float64),
        }
        return meta, arrays

    @classmethod
    def from_state(cls, meta: dict, arrays: Mapping[str, np.ndarray]) -> "FitRecord":
        units = [Unit(int(c), str(t), int(s), int(e), bool(w)) for c, s, e, w, t in meta["units"]]
        hits: list[list[UnitHit]] = [[] for _ in units]
        for i, t, s, c in zip(arrays["hit_unit"].tolist(), arrays["hit_theme"].tolist(), arrays["hit_sub"].tolist(),
                              arrays["hit_confidence"].tolist()):
            hits[i].append(UnitHit(int(t), None if s < 0 else int(s), float(c)))
        ts = meta.get("timestamps")
        return cls(
            texts=list(meta["texts"]), languages=list(meta["languages"]), units=units,
            vectors=np.asarray(arrays["vectors"], dtype=np.float32), hits=hits, n_themes=int(meta["n_themes"]),
            ids=meta.get("ids"), sentiments=meta.get("sentiments"), unit_sentiments=meta.get("unit_sentiments"),
            scores=meta.get("scores"),
            timestamps=[datetime.fromisoformat(t) if t else None for t in ts] if ts is not None else None,
            include_assignments=bool(meta.get("include_assignments", True)),
        )

    # -- the report of an edited model ------------------------------------------------------
    def restore(self, model: ThemeModel) -> ThemeModel:
        """Give a loaded (possibly edited) model its fit-time units, vectors and unit assignments.

        Rename and merge need nothing more (reports resolve merged themes through ``model.canonical``).
        A split replaces sub-themes: a unit whose sub-theme was split away, or that sits in a theme
        that gained sub-themes by a split, gets its sub-theme again by the model's own rule
        (the closest live sub-theme within its radius, as for a new comment).
        """
        X = self.vectors
        split_tops = {th.parent for th in model.themes_[self.n_themes:] if th.parent is not None and th.merged_into is None}
        refreshed: list[list[UnitHit]] = []
        for i, row in enumerate(self.hits):
            out = []
            for h in row:
                top = model.canonical(h.theme)
                sub = model.canonical(h.sub) if h.sub is not None else None
                stale = sub is not None and (sub == top or model.themes_[sub].parent != top)
                if stale or (sub is None and top in split_tops):
                    sub = model.sub_for(top, X[i])
                out.append(UnitHit(top, sub, h.confidence))
            refreshed.append(out)
        model.units_, model.vectors_, model.unit_hits_ = list(self.units), X, refreshed
        model.n_comments_ = len(self.texts)
        return model

    def report(self, model: ThemeModel, model_id: str | None, version: str) -> ThemeReport:
        """The report ``model`` (as edited) gives over the comments it was fitted on."""
        self.restore(model)
        return build_report(
            model, self.texts, self.languages,
            sentiments=[_sentiment(s) for s in self.sentiments] if self.sentiments is not None else None,
            unit_sentiments=[_sentiment(s) for s in self.unit_sentiments] if self.unit_sentiments is not None else None,
            ids=self.ids, scores=self.scores, timestamps=self.timestamps,
            include_assignments=self.include_assignments, model_id=model_id, version=version,
        )


@dataclass(frozen=True)
class ThemeModelInfo:
    id: str
    created_at: datetime
    model_version: str
    n_comments: int


@dataclass
class StoredThemeModel:
    info: ThemeModelInfo
    model: ThemeModel
    fit: FitRecord | None                   # None: stored without one, or opened without it
    report: dict[str, Any]
    revision: str                           # pass to ``update`` to write only over this state


class _Conflict(Exception):
    """The model changed between the read and the conditional write: roll the transaction back."""


@dataclass(frozen=True)
class EditNote:
    """Who made an edit and what it was (``action`` and its ``params``, which the history puts into words).

    ``undoes``: the id of the version this write reverts (an undo marks it undone, it adds no version)."""

    author: str
    action: str
    params: Mapping[str, Any]
    undoes: int | None = None


@dataclass(frozen=True)
class VersionInfo:
    id: int
    number: int
    created_at: datetime
    author: str
    action: str
    params: dict[str, Any]
    undone_at: datetime | None
    undone_by: str | None


def _version_info(r: Any) -> VersionInfo:
    return VersionInfo(r.id, r.number, r.created_at, r.author, r.action, json.loads(r.params_json), r.undone_at,
                       r.undone_by)


def _info(row: ThemeModelRow) -> ThemeModelInfo:
    return ThemeModelInfo(row.id, row.created_at, row.model_version, row.n_comments)


def _prefixed(arrays: Mapping[str, np.ndarray], prefix: str) -> dict[str, np.ndarray]:
    return {k[len(prefix):]: v for k, v in arrays.items() if k.startswith(prefix)}


def _fit_of(stored: Mapping[str, Any], arrays: Mapping[str, np.ndarray]) -> FitRecord | None:
    return FitRecord.from_state(stored["fit"], _prefixed(arrays, _FIT)) if stored.get("fit") is not None else None


def _report_dict(report: ThemeReport | Mapping[str, Any], model_id: str) -> dict[str, Any]:
    data = report.model_dump(mode="json") if isinstance(report, ThemeReport) else dict(report)
    data["model_id"] = model_id
    return data


class ThemeModelStore:
    """save / load / update / delete / list of theme models; short explicit transactions, as ``Repository``."""

    def __init__(self, engine: Engine, tenant: str | None = None) -> None:
        self.engine = engine
        self.tenant = tenant  # None: every tenant's models, new ones the default tenant's

    def for_tenant(self, tenant: str) -> "ThemeModelStore":
        """The same store seen by one tenant (shares the engine)."""
        return ThemeModelStore(self.engine, tenant)

    def _mine(self, owner: str) -> bool:
        return self.tenant is None or owner == self.tenant

    def _scope(self) -> list[Any]:
        return [] if self.tenant is None else [ThemeModelRow.tenant == self.tenant]

    def _session(self) -> Session:
        return Session(self.engine, expire_on_commit=False)

    @staticmethod
    def _payload(model: ThemeModel, fit: FitRecord | None) -> tuple[str, bytes]:
        meta, arrays = model.to_state()
        packed = {_MODEL + k: v for k, v in arrays.items()}
        fit_meta = None
        if fit is not None:
            fit_meta, fit_arrays = fit.to_state()
            packed.update({_FIT + k: v for k, v in fit_arrays.items()})
        return _dumps({"model": meta, "fit": fit_meta}), _pack(packed)

    def save(self, model: ThemeModel, report: ThemeReport | Mapping[str, Any], fit: FitRecord | None = None) -> str:
        """Store a fitted model and its report; the stored report carries the new id as ``model_id``."""
        model_id = uuid.uuid4().hex
        meta_json, blob = self._payload(model, fit)
        data = _report_dict(report, model_id)
        row = ThemeModelRow(id=model_id, model_version=str(data.get("model_version", "")),
                            n_comments=int(model.n_comments_), meta_json=meta_json, arrays=blob,
                            report_json=_dumps(data), tenant=self.tenant or DEFAULT_TENANT)
        with self._session() as s, s.begin():
            s.add(row)
        return model_id

    def open(self, model_id: str, components: "ThemeComponents", with_fit: bool = True) -> StoredThemeModel | None:
        """The model (with the stored edits), its report and (``with_fit``) fit record; None if there is no such model.

        Raises ``ValueError`` when the model no longer fits the loaded taxonomy (or its format is unknown).
        """
        with self._session() as s:
            row = s.get(ThemeModelRow, model_id)
        if row is None or not self._mine(row.tenant):
            return None
        stored = json.loads(row.meta_json)
        arrays = _unpack(row.arrays, (_MODEL, _FIT) if with_fit else (_MODEL,))
        model = components.new_model().load_state(stored["model"], _prefixed(arrays, _MODEL))
        fit = _fit_of(stored, arrays) if with_fit else None
        return StoredThemeModel(_info(row), model, fit, json.loads(row.report_json), row.meta_json)

    def exists(self, model_id: str) -> bool:
        with self._session() as s:
            return s.scalar(select(ThemeModelRow.id).where(ThemeModelRow.id == model_id, *self._scope())) is not None

    def load(self, model_id: str, components: "ThemeComponents") -> ThemeModel | None:
        """The stored model, ready for ``predict``; None if there is none (``ValueError``: see :meth:`open`)."""
        stored = self.open(model_id, components, with_fit=False)
        return stored.model if stored is not None else None

    def update(self, model_id: str, model: ThemeModel, report: ThemeReport | Mapping[str, Any],
               fit: FitRecord | None = None, revision: str | None = None, note: EditNote | None = None) -> bool:
        """Replace a stored model (after an edit) and its report; ``fit=None`` keeps the stored fit record.

        With ``note`` the edit is versioned in the same transaction: the new state becomes a version (or,
        for an undo, the reverted version is marked undone); the state as fitted is version 1.
        False when there is no such model, or (with ``revision``) when it changed since it was read.
        """
        try:
            with self._session() as s, s.begin():
                return self._update(s, model_id, model, report, fit, revision, note)
        except _Conflict:
            return False

    def _update(self, s: Session, model_id: str, model: ThemeModel, report: ThemeReport | Mapping[str, Any],
                fit: FitRecord | None, revision: str | None, note: EditNote | None) -> bool:
        row = s.get(ThemeModelRow, model_id)
        if row is None or not self._mine(row.tenant) or (revision is not None and row.meta_json != revision):
            return False
        stored = json.loads(row.meta_json)
        if fit is None:
            fit = _fit_of(stored, _unpack(row.arrays, (_FIT,)))
        if note is not None:
            self._version(s, model_id, row, stored, model, note)
        meta_json, blob = self._payload(model, fit)
        cond = [ThemeModelRow.id == model_id]
        if revision is not None:
            cond.append(ThemeModelRow.meta_json == revision)  # another process may have written since
        data = _report_dict(report, model_id)
        res = s.execute(update(ThemeModelRow).where(*cond).values(
            meta_json=meta_json, arrays=blob, report_json=_dumps(data), n_comments=int(model.n_comments_),
            model_version=str(data.get("model_version", row.model_version))))
        if res.rowcount != 1:
            raise _Conflict  # rolls the version back too
        return True

    @staticmethod
    def _version(s: Session, model_id: str, row: ThemeModelRow, stored: Mapping[str, Any], model: ThemeModel,
                 note: EditNote) -> None:
        last = s.scalar(select(func.max(ThemeModelVersionRow.number)).where(ThemeModelVersionRow.model_id == model_id))
        if last is None:  # first edit: the state as fitted becomes version 1, so it can be returned to
            s.add(ThemeModelVersionRow(
                model_id=model_id, number=1, created_at=row.created_at, author="fit", action="fit",
                params_json=_dumps({"n_comments": row.n_comments}), state_json=_dumps(stored["model"]),
                arrays=_pack(_unpack(row.arrays, (_MODEL,)))))
            last = 1
        if note.undoes is not None:
            s.execute(update(ThemeModelVersionRow).where(ThemeModelVersionRow.id == note.undoes)
                      .values(undone_at=utcnow(), undone_by=note.author[:200]))
            return
        meta, arrays = model.to_state()
        packed = {_MODEL + k: v for k, v in arrays.items()}
        now = _unpack(row.arrays, (_MODEL,))  # the live version's arrays: a rename, move or keyword keeps them
        same = now.keys() == packed.keys() and all(np.array_equal(now[k], packed[k]) for k in packed)
        shared = None
        if same:
            live = s.execute(select(ThemeModelVersionRow.number, ThemeModelVersionRow.arrays_of).where(
                ThemeModelVersionRow.model_id == model_id, ThemeModelVersionRow.undone_at.is_(None))
                .order_by(ThemeModelVersionRow.number.desc()).limit(1)).first()
            shared = (live.arrays_of or live.number) if live is not None else None
        s.add(ThemeModelVersionRow(
            model_id=model_id, number=last + 1, author=note.author[:200], action=note.action,
            params_json=_dumps(dict(note.params)), state_json=_dumps(meta),
            arrays=b"" if shared is not None else _pack(packed), arrays_of=shared))

    def history(self, model_id: str, limit: int = 50) -> list[VersionInfo]:
        """The model's versions, newest first, without their states (``[]``: never edited, or not this tenant's)."""
        if not self.exists(model_id):
            return []
        cols = (ThemeModelVersionRow.id, ThemeModelVersionRow.number, ThemeModelVersionRow.created_at,
                ThemeModelVersionRow.author, ThemeModelVersionRow.action, ThemeModelVersionRow.params_json,
                ThemeModelVersionRow.undone_at, ThemeModelVersionRow.undone_by)
        with self._session() as s:
            rows = s.execute(select(*cols).where(ThemeModelVersionRow.model_id == model_id)
                             .order_by(ThemeModelVersionRow.number.desc()).limit(limit)).all()
        return [_version_info(r) for r in rows]

    def undo_target(self, model_id: str) -> tuple[VersionInfo, VersionInfo, dict, dict[str, np.ndarray]] | None:
        """(the current version, the live version before it, that one's model state and arrays); None when
        there is nothing to undo (never edited, or back at the state as fitted) or the model is not this tenant's."""
        if not self.exists(model_id):
            return None
        with self._session() as s:
            live = s.execute(select(ThemeModelVersionRow).where(
                ThemeModelVersionRow.model_id == model_id, ThemeModelVersionRow.undone_at.is_(None))
                .order_by(ThemeModelVersionRow.number.desc()).limit(2)).scalars().all()
        if len(live) < 2:
            return None
        current, previous = live
        blob = previous.arrays
        if previous.arrays_of:  # shares an earlier version's arrays (the number of that version)
            with self._session() as s:
                blob = s.scalar(select(ThemeModelVersionRow.arrays).where(
                    ThemeModelVersionRow.model_id == model_id, ThemeModelVersionRow.number == previous.arrays_of))
        return (_version_info(current), _version_info(previous), json.loads(previous.state_json),
                _prefixed(_unpack(blob, (_MODEL,)), _MODEL))

    def set_report(self, model_id: str, report: ThemeReport | Mapping[str, Any], revision: str | None = None) -> bool:
        """Replace only the stored report (the model's state, and so its revision, stay): e.g. a batch job's
        model after the job's comments were assigned to it again. With ``revision``: only over that state."""
        cond = [ThemeModelRow.id == model_id, *self._scope()]
        if revision is not None:
            cond.append(ThemeModelRow.meta_json == revision)
        with self._session() as s, s.begin():
            return s.execute(update(ThemeModelRow).where(*cond).values(
                report_json=_dumps(_report_dict(report, model_id)))).rowcount == 1

    def delete(self, model_id: str) -> bool:
        with self._session() as s, s.begin():
            owner = s.scalar(select(ThemeModelRow.tenant).where(ThemeModelRow.id == model_id))
            if owner is None or not self._mine(owner):
                return False
            s.execute(delete(ThemeModelVersionRow).where(ThemeModelVersionRow.model_id == model_id))
            return s.execute(delete(ThemeModelRow).where(ThemeModelRow.id == model_id)).rowcount == 1

    def list(self, limit: int = 100, offset: int = 0) -> list[ThemeModelInfo]:
        """Newest first, without the payloads."""
        q = select(ThemeModelRow.id, ThemeModelRow.created_at, ThemeModelRow.model_version,
                   ThemeModelRow.n_comments).where(*self._scope())
        with self._session() as s:
            rows = s.execute(q.order_by(ThemeModelRow.created_at.desc(), ThemeModelRow.id).offset(offset).limit(limit)).all()
        return [ThemeModelInfo(r.id, r.created_at, r.model_version, r.n_comments) for r in rows]
