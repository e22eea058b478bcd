"""The themes report of a scored dump: what the comments are about and how customers feel.

Two parts: (1) aggregates over every scored row — languages, sentiment, and the touchpoint
themes the pipeline assigned per comment, with counts and mean sentiment; (2) a clustering step
(``service.themes.fit_themes``, the library behind ``cluster_comments``) fitted on an even sample
of the scored comments (bounded by ``settings.themes_report_max_comments`` so memory and time stay
bounded on million-row dumps), after which every scored comment is assigned to the fitted themes
so that theme sizes and sentiment describe the whole dump.
"""

from __future__ import annotations

import json
import logging
import math
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, is_dataclass
from typing import Any

from service.config import Settings
from service.storage import Repository
from service.storage.models import Dataset, Job, utcnow

log = logging.getLogger(__name__)


class _ThemeAgg:
    __slots__ = ("label", "touchpoint", "count", "scored", "score_sum", "negative", "examples")

    def __init__(self, label: str, touchpoint: str | None) -> None:
        self.label, self.touchpoint = label, touchpoint
        self.count = self.scored = self.negative = 0
        self.score_sum = 0.0
        self.examples: list[str] = []


def _to_plain(obj: Any) -> Any:
    """Whatever ``cluster_comments`` returns (pydantic model, dataclass, dict) as JSON-ready data."""
    if hasattr(obj, "model_dump"):
        return obj.model_dump(mode="json")
    if is_dataclass(obj) and not isinstance(obj, type):
        return _to_plain(asdict(obj))
    if hasattr(obj, "to_dict"):
        return _to_plain(obj.to_dict())
    if isinstance(obj, dict):
        return {str(k): _to_plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_to_plain(v) for v in obj]
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if obj is None or isinstance(obj, (str, int, float, bool)):
        return obj
    return str(obj)


def _cluster(texts: list[str], languages: list[str], sentiments: list[Any], ids: list[str], rows: list[int],
             n_themes: int | None, settings: Settings) -> tuple[Any, str | None, Any]:
    """Fit the themes library's clustering on the sample if it is installed; (report, note, fitted model).

    The library's per-comment ``assignments``/``ids`` are dropped (each row's themes are already in
    the scored output); representative comments get their 1-based ``row`` in the input file.
    """
    try:
        from service.themes import fit_themes  # noqa: PLC0415 - optional component
    except ImportError:
        return None, "clustering unavailable: service.themes is not installed", None
    if len(texts) < 2:
        return None, "clustering skipped: fewer than 2 scored comments", None
    model, report = fit_themes(texts, languages, sentiments, n_themes=n_themes, settings=settings, ids=ids)
    if hasattr(report, "model_dump"):
        result = _to_plain(report.model_dump(mode="json", exclude={"assignments", "ids"}))
    else:
        result = _to_plain(report)
    if isinstance(result, dict):
        result.pop("assignments", None)
        result.pop("ids", None)
        for theme in result.get("themes", []):
            for rep in theme.get("representative", []):
                if isinstance(rep, dict) and isinstance(rep.get("index"), int) and rep["index"] < len(rows):
                    rep["row"] = rows[rep["index"]]
    return result, None, model


class _ClusterAgg:
    __slots__ = ("size", "labels", "score_sum", "scored")

    def __init__(self) -> None:
        self.size = self.scored = 0
        self.labels: Counter[str] = Counter()
        self.score_sum = 0.0


def _assign_whole_dump(repo: Repository, job: Job, dataset: Dataset, text_col: str | None, model: Any,
                       result: dict[str, Any], heartbeat: Callable[[], object]) -> None:
    """Assign every scored comment to the fitted themes (streaming) and restate sizes and sentiment over all.

    Why: the clustering is fitted on a bounded sample, but analysts read sizes and sentiment per
    theme as facts about the whole dump; ``predict`` is cheap compared with fitting.
    """
    ids = [t.theme_id for t in model.themes]
    aggs: dict[str, _ClusterAgg] = {}
    n = unassigned = 0
    for batch in repo.iter_export(job.id, dataset.id):
        heartbeat()
        rows = [r for r in batch if r.result is not None and r.result["status"] == "ok"]
        if not rows:
            continue
        texts = [str(r.record.get(text_col, "")) for r in rows]
        assigned = model.predict(texts, [r.result["language"] or "und" for r in rows])
        for r, a in zip(rows, assigned, strict=True):
            n += 1
            if not a:
                unassigned += 1
                continue
            agg = aggs.setdefault(ids[a[0].theme], _ClusterAgg())
            agg.size += 1
            if r.result["sentiment"]:
                agg.labels[r.result["sentiment"]] += 1
            if r.result["sentiment_score"] is not None:
                agg.scored += 1
                agg.score_sum += r.result["sentiment_score"]
    for theme in result.get("themes", []):
        agg = aggs.get(theme["theme_id"], _ClusterAgg())
        n_lab = sum(agg.labels.values())
        theme["size"] = agg.size
        theme["share"] = round(agg.size / n, 4) if n else 0.0
        theme["sentiment"] = {
            "n_scored": n_lab,
            "counts": {k: agg.labels.get(k, 0) for k in ("negative", "neutral", "positive")},
            "shares": {k: round(agg.labels.get(k, 0) / n_lab, 4) if n_lab else 0.0
                       for k in ("negative", "neutral", "positive")},
            "mean_score": round(agg.score_sum / agg.scored, 4) if agg.scored else None,
        }
    result.update(n_comments=n, n_assigned=n - unassigned, n_unassigned=unassigned,
                  unassigned_share=round(unassigned / n, 4) if n else 0.0)


def build_report(repo: Repository, job: Job, dataset: Dataset, settings: Settings,
                 n_themes: int | None = None, heartbeat: Callable[[], object] = lambda: None) -> dict[str, Any]:
    """``heartbeat`` is called between batches so a job's lease outlives a long report on a big dump."""

    mapping = json.loads(dataset.mapping_json)
    text_col = mapping.get("text")
    n_ok = max(0, job.rows_done - job.n_errors)
    step = max(1, math.ceil(n_ok / settings.themes_report_max_comments))
    languages: Counter[str] = Counter()
    sentiments: Counter[str] = Counter()
    themes: dict[str, _ThemeAgg] = {}
    sample_texts: list[str] = []
    sample_langs: list[str] = []
    sample_sents: list[Any] = []
    sample_ids: list[str] = []
    sample_rows: list[int] = []
    rows = ok = errors = 0
    for batch in repo.iter_export(job.id, dataset.id):
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
            text = str(row.record.get(text_col, ""))
            for t in r["themes"]:
                agg = themes.get(t["theme_id"]) or themes.setdefault(
                    t["theme_id"], _ThemeAgg(t.get("label") or t["theme_id"], t.get("touchpoint")))
                agg.count += 1
                if r["sentiment_score"] is not None:
                    agg.scored += 1
                    agg.score_sum += r["sentiment_score"]
                agg.negative += r["sentiment"] == "negative"
                if len(agg.examples) < 3:
                    agg.examples.append(text[:300])
            if (ok - 1) % step == 0 and len(sample_texts) < settings.themes_report_max_comments:
                sample_texts.append(text)
                sample_langs.append(r["language"] or "und")
                sample_sents.append({"label": r["sentiment"], "score": r["sentiment_score"]}
                                    if r["sentiment"] else None)
                sample_ids.append(str(r["comment_id"]))
                sample_rows.append(row.row_idx + 1)
    assigned = [
        {"theme_id": tid, "label": a.label, "touchpoint": a.touchpoint, "count": a.count,
         "share": round(a.count / ok, 4) if ok else 0.0,
         "mean_sentiment": round(a.score_sum / a.scored, 4) if a.scored else None,
         "negative_share": round(a.negative / a.scored, 4) if a.scored else None,
         "examples": a.examples}
        for tid, a in sorted(themes.items(), key=lambda kv: (-kv[1].count, kv[0]))
    ]
    try:
        clusters, note, model = _cluster(sample_texts, sample_langs, sample_sents, sample_ids, sample_rows,
                                         n_themes, settings)
        if model is not None and isinstance(clusters, dict) and ok > len(sample_texts):
            _assign_whole_dump(repo, job, dataset, text_col, model, clusters, heartbeat)
    except Exception as exc:  # a clustering failure must not cost the aggregates
        log.exception("clustering failed")
        clusters, note = None, f"clustering failed: {exc}"
    return {
        "job_id": job.id, "dataset": dataset.name, "generated_at": utcnow().isoformat() + "Z",
        "rows": rows, "scored": ok, "errors": errors,
        "languages": dict(languages.most_common()), "sentiment": dict(sentiments.most_common()),
        "assigned_themes": assigned,
        "clustering": {"sampled_comments": len(sample_texts), "sizes_over": "all scored comments", "result": clusters},
        "clustering_note": note,
    }
