"""Render a themes report as JSON, CSV (one row per item) or self-contained HTML with inline SVG bars."""

from __future__ import annotations

import csv
import html
import io
import json
from typing import Any

_SENTIMENT_COLOURS = {"negative": "#d9534f", "neutral": "#9e9e9e", "positive": "#4caf50", "unscored": "#cfd8dc"}
_CSV_FIELDS = ["section", "key", "label", "touchpoint", "count", "share", "mean_sentiment", "negative_share", "detail"]


def report_json(report: dict[str, Any]) -> str:
    return json.dumps(report, ensure_ascii=False, indent=2)


def _cluster_items(report: dict[str, Any]) -> list[dict[str, Any]]:
    """The list of clusters/themes inside whatever structure the clustering step returned."""
    result = (report.get("clustering") or {}).get("result")
    if isinstance(result, list):
        return [x for x in result if isinstance(x, dict)]
    if isinstance(result, dict):
        for key in ("themes", "clusters", "items"):
            if isinstance(result.get(key), list):
                return [x for x in result[key] if isinstance(x, dict)]
    return []


def _first(d: dict[str, Any], *keys: str) -> Any:
    return next((d[k] for k in keys if d.get(k) is not None), None)


def _mean(c: dict[str, Any]) -> float | None:
    """A cluster's mean sentiment score, flat or under ``sentiment.mean_score`` (ThemeReport)."""
    v = _first(c, "mean_sentiment", "sentiment_mean", "avg_sentiment")
    if v is None and isinstance(c.get("sentiment"), dict):
        v = c["sentiment"].get("mean_score")
    return v if isinstance(v, (int, float)) else None


def _negative_share(c: dict[str, Any]) -> float | None:
    if c.get("negative_share") is not None:
        return c["negative_share"]
    sent = c.get("sentiment")
    if isinstance(sent, dict) and sent.get("n_scored"):
        return (sent.get("shares") or {}).get("negative")
    return None


def _keywords(c: dict[str, Any]) -> str:
    kw = c.get("keywords")
    if isinstance(kw, dict):
        return "; ".join(f"{lang}: {', '.join(words)}" for lang, words in kw.items() if words)
    if isinstance(kw, list):
        return ", ".join(map(str, kw))
    return ""


def _examples(c: dict[str, Any]) -> list[str]:
    reps = c.get("representative") or c.get("examples") or []
    return [str(r.get("text", "")) if isinstance(r, dict) else str(r) for r in reps]


def report_csv(report: dict[str, Any]) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=_CSV_FIELDS, extrasaction="ignore")
    w.writeheader()
    total = report.get("scored") or 0
    for section in ("languages", "sentiment"):
        for key, n in report.get(section, {}).items():
            w.writerow({"section": section, "key": key, "label": key, "count": n,
                        "share": round(n / total, 4) if total else ""})
    for t in report.get("assigned_themes", []):
        w.writerow({"section": "assigned_theme", "key": t["theme_id"], **t, "detail": " | ".join(t.get("examples", []))})
    for i, c in enumerate(_cluster_items(report)):
        detail = {"keywords": _keywords(c), "examples": _examples(c)}
        w.writerow({
            "section": "cluster", "key": _first(c, "theme_id", "cluster_id", "id") or i,
            "label": _first(c, "label", "name", "title"), "touchpoint": c.get("touchpoint"),
            "count": _first(c, "size", "count", "n_comments"), "share": c.get("share"),
            "mean_sentiment": _mean(c), "negative_share": _negative_share(c),
            "detail": json.dumps(detail, ensure_ascii=False)[:2000],
        })
    return buf.getvalue()


def _bars(title: str, items: list[tuple[str, float, str, str]], width: int = 640) -> str:
    """Horizontal bar chart as inline SVG: (label, value, annotation, colour) per bar."""
    if not items:
        return f"<h2>{html.escape(title)}</h2><p class='muted'>nothing to show</p>"
    bar_h, gap, label_w = 22, 6, 220
    vmax = max(v for _, v, _, _ in items) or 1
    height = len(items) * (bar_h + gap) + gap
    parts = [f"<h2>{html.escape(title)}</h2>",
             f"<svg role='img' aria-label='{html.escape(title)}' width='{width}' height='{height}' "
             f"viewBox='0 0 {width} {height}' xmlns='http://www.w3.org/2000/svg'>"]
    for i, (label, value, note, colour) in enumerate(items):
        y = gap + i * (bar_h + gap)
        w = max(1.0, (width - label_w - 160) * value / vmax)
        parts.append(
            f"<text x='{label_w - 8}' y='{y + bar_h * 0.7:.1f}' text-anchor='end' font-size='13'>"
            f"{html.escape(label[:32])}</text>"
            f"<rect x='{label_w}' y='{y}' width='{w:.1f}' height='{bar_h}' fill='{colour}' rx='3'/>"
            f"<text x='{label_w + w + 6:.1f}' y='{y + bar_h * 0.7:.1f}' font-size='12'>{html.escape(note)}</text>")
    parts.append("</svg>")
    return "".join(parts)


def _sentiment_colour(mean: float | None) -> str:
    if mean is None:
        return "#90a4ae"
    return "#d9534f" if mean < -0.15 else "#4caf50" if mean > 0.15 else "#f0ad4e"


def report_html(report: dict[str, Any]) -> str:
    scored = report.get("scored") or 0
    pct = lambda n: f"{n} ({100 * n / scored:.1f}%)" if scored else str(n)  # noqa: E731
    langs = [(k, v, pct(v), "#5c6bc0") for k, v in report.get("languages", {}).items()]
    sents = [(k, v, pct(v), _SENTIMENT_COLOURS.get(k, "#90a4ae")) for k, v in report.get("sentiment", {}).items()]
    themes = [
        (t["label"], t["count"],
         f"{pct(t['count'])}, mean sentiment {t['mean_sentiment']:+.2f}" if t.get("mean_sentiment") is not None
         else pct(t["count"]), _sentiment_colour(t.get("mean_sentiment")))
        for t in report.get("assigned_themes", [])[:25]
    ]
    clusters = []
    rows = []
    for i, c in enumerate(_cluster_items(report)[:25]):
        size = _first(c, "size", "count", "n_comments") or 0
        mean = _mean(c)
        label = str(_first(c, "label", "name", "title") or f"cluster {i + 1}")
        note = f"{size}" + (f", mean sentiment {mean:+.2f}" if mean is not None else "")
        clusters.append((label, float(size), note, _sentiment_colour(mean)))
        example = (_examples(c) or [""])[0][:200]
        reps = c.get("representative") or []
        if reps and isinstance(reps[0], dict) and reps[0].get("row"):
            example += f" (row {reps[0]['row']})"
        rows.append(f"<tr><td>{html.escape(label)}</td><td>{html.escape(str(c.get('touchpoint') or 'discovered'))}"
                    f"</td><td>{size}</td><td>{html.escape(_keywords(c))}</td>"
                    f"<td>{html.escape(example)}</td></tr>")
    sampled = (report.get("clustering") or {}).get("sampled_comments")
    cluster_table = (f"<p class='muted'>themes fitted on {sampled} comments (an even sample of larger dumps); "
                     "sizes and sentiment count every scored comment</p>"
                     "<table><tr><th>theme</th><th>touchpoint</th><th>size</th><th>keywords</th><th>example</th></tr>"
                     + "".join(rows) + "</table>") if rows else ""
    note = report.get("clustering_note")
    e = html.escape
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Themes report – {e(str(report.get('dataset', '')))}</title>
<style>body{{font-family:system-ui,sans-serif;margin:2rem;max-width:60rem;color:#222}}
h2{{margin-top:2rem;font-size:1.1rem}} .muted{{color:#777}} table{{border-collapse:collapse}}
td,th{{padding:.2rem .8rem;border-bottom:1px solid #eee;text-align:left}}</style></head><body>
<h1>Themes report</h1>
<p>{e(str(report.get('dataset', '')))} — generated {e(str(report.get('generated_at', '')))}</p>
<table><tr><th>rows</th><td>{report.get('rows', 0)}</td></tr>
<tr><th>scored</th><td>{scored}</td></tr><tr><th>errors (reported per row)</th><td>{report.get('errors', 0)}</td></tr></table>
{_bars('Languages', langs)}
{_bars('Sentiment', sents)}
{_bars('Touchpoint themes (assigned per comment)', themes)}
{_bars('Themes found by clustering', clusters) if clusters else ''}
{cluster_table}
{f"<p class='muted'>{e(note)}</p>" if note else ''}
</body></html>
"""
