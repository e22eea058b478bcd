"""View models of the web app pages: plain dicts and numbers the templates only lay out.

Everything a template prints comes from here or from the stored typed reports; Jinja2 autoescapes it
(``views.environment``), so labels, keywords and comments written by anyone are shown, never run.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from service.storage.theme_models import VersionInfo
from service.themes.report import SENTIMENT_LABELS, ScoreImpact, ThemeSummary, TrendPoint

TEMPLATES = Path(__file__).parent / "templates"
SENTIMENT_COLOURS = {"negative": "#c62828", "neutral": "#8d8d8d", "positive": "#2e7d32", "unscored": "#cfd8dc"}
LANGUAGE_NAMES = {"sv": "Swedish", "da": "Danish", "fi": "Finnish", "en": "English", "und": "undetermined",
                  "no": "Norwegian", "de": "German", "nl": "Dutch"}


def pct(x: float | None, digits: int = 0) -> str:
    return "–" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{100 * x:.{digits}f}%"


def num(n: int | float | None) -> str:
    return "–" if n is None else f"{n:,}".replace(",", "\u202f")  # narrow no-break space: 100 000


def signed(x: float | None, digits: int = 1) -> str:
    return "–" if x is None else f"{x:+.{digits}f}".replace("-", "\u2212")


def qs(params: Mapping[str, Any], **changes: Any) -> str:
    """``?a=1&b=2`` of ``params`` updated by ``changes``; empty values are left out."""
    merged = {**params, **changes}
    items = [(k, v) for k, v in merged.items() if v not in (None, "", [])]
    return ("?" + urlencode(items, doseq=True)) if items else ""


def environment() -> Environment:
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=True, undefined=StrictUndefined,
                      trim_blocks=True, lstrip_blocks=True)
    env.filters.update(pct=pct, num=num, signed=signed, urlpart=lambda s: quote(str(s), safe=""))
    env.globals.update(qs=qs, SENTIMENT_COLOURS=SENTIMENT_COLOURS, SENTIMENTS=SENTIMENT_LABELS,
                       language_name=lambda c: LANGUAGE_NAMES.get(c, c))
    return env


# -- theme table rows ---------------------------------------------------------------------------
def impact_text(imp: ScoreImpact | None) -> str | None:
    if imp is None:
        return None
    unit = "NPS points" if imp.metric == "nps" else "score"
    return f"{signed(imp.difference)} [{signed(imp.ci_low)}, {signed(imp.ci_high)}] {unit}"


def trend_text(trend: Sequence[TrendPoint] | None, last: int = 4) -> str | None:
    if not trend:
        return None
    return " → ".join(f"{p.period}: {pct(p.share)}" for p in trend[-last:])


def impact_short(imp: ScoreImpact | None) -> str | None:
    return None if imp is None else f"{signed(imp.difference)} [{signed(imp.ci_low)}, {signed(imp.ci_high)}]"


def sparkline(trend: Sequence[TrendPoint] | None, width: int = 96, height: int = 22) -> dict[str, Any] | None:
    """Polyline of the theme's share per period (the table's trend cell; the text says the same)."""
    if not trend or len(trend) < 2:
        return None
    top = max(p.share for p in trend) or 1.0
    step = (width - 4) / (len(trend) - 1)
    pts = [(2 + k * step, height - 2 - (height - 4) * p.share / top) for k, p in enumerate(trend)]
    return {"width": width, "height": height, "points": " ".join(f"{x:.1f},{y:.1f}" for x, y in pts),
            "last": pts[-1]}


def theme_row(t: ThemeSummary, counts: Mapping[str, int] | None = None, n_comments: int | None = None) -> dict[str, Any]:
    """One table row: the report's numbers, or (filtered) ``counts`` from ``Repository.theme_counts``."""
    if counts is None:
        size, main, mix = t.size, t.n_main, dict(t.sentiment.counts)
        share = t.share
    else:
        size, main = counts["size"], counts["main"]
        mix = {k: counts[k] for k in SENTIMENT_LABELS}
        share = size / n_comments if n_comments else 0.0
    scored = sum(mix.values())
    shares = {k: (mix[k] / scored if scored else 0.0) for k in SENTIMENT_LABELS}
    return {
        "theme_id": t.theme_id, "parent_id": t.parent_id, "level": t.level, "label": t.label,
        "touchpoint": t.touchpoint, "discovered": t.discovered, "edited": t.edited, "size": size, "share": share,
        "main": main, "mix": mix, "shares": shares, "scored": scored,
        "mean_score": t.sentiment.mean_score if counts is None else None,
        "impact": impact_text(t.impact), "impact_short": impact_short(t.impact), "spark": sparkline(t.trend),
        "impact_difference": t.impact.difference if t.impact else None,
        "impact_significant": bool(t.impact and (t.impact.ci_low > 0 or t.impact.ci_high < 0)),
        "trend": trend_text(t.trend),
    }


SORTS = {
    "volume": ("volume", lambda r: (-r["size"], r["label"].lower())),
    "negative": ("negative share", lambda r: (-r["shares"]["negative"], -r["size"])),
    "positive": ("positive share", lambda r: (-r["shares"]["positive"], -r["size"])),
    "impact": ("impact (most negative first)",
               lambda r: (r["impact_difference"] if r["impact_difference"] is not None else math.inf, -r["size"])),
    "label": ("label", lambda r: (r["label"].lower(),)),
}


def theme_table(themes: Sequence[ThemeSummary], counts: Mapping[str, Mapping[str, int]] | None,
                n_comments: int, sort: str = "volume") -> list[dict[str, Any]]:
    """Top-level themes sorted by ``sort``, each followed by its sub-themes (by volume); empty ones left out."""
    rows = []
    for t in themes:
        if counts is not None and t.theme_id not in counts:
            continue
        row = theme_row(t, counts.get(t.theme_id) if counts is not None else None, n_comments)
        if row["size"]:
            rows.append(row)
    key = SORTS.get(sort, SORTS["volume"])[1]
    tops = sorted((r for r in rows if r["level"] == 1), key=key)
    out = []
    for top in tops:
        out.append(top)
        out += sorted((r for r in rows if r["parent_id"] == top["theme_id"]), key=SORTS["volume"][1])
    return out


def chart(rows: Sequence[Mapping[str, Any]], limit: int = 20, width: int = 720) -> dict[str, Any]:
    """Geometry of the volume x sentiment chart: one bar per top-level theme, length = comments,
    split into the negative / neutral / positive mentions (the clauses carrying the theme)."""
    tops = [r for r in rows if r["level"] == 1][:limit]
    label_w, bar_h, gap, note_w = 230, 20, 8, 90
    vmax = max((r["size"] for r in tops), default=1) or 1
    span = width - label_w - note_w
    bars = []
    for i, r in enumerate(tops):
        y = gap + i * (bar_h + gap)
        length = max(2.0, span * r["size"] / vmax)
        x, segs = float(label_w), []
        for k in SENTIMENT_LABELS:
            w = length * r["shares"][k] if r["scored"] else 0.0
            if w > 0:
                segs.append({"x": round(x, 1), "w": round(w, 1), "colour": SENTIMENT_COLOURS[k], "sentiment": k,
                             "n": r["mix"][k]})
                x += w
        if not segs:
            segs.append({"x": float(label_w), "w": round(length, 1), "colour": SENTIMENT_COLOURS["unscored"],
                         "sentiment": "unscored", "n": r["size"]})
        bars.append({"row": r, "y": y, "text_y": y + bar_h * 0.72, "h": bar_h, "segments": segs,
                     "end": round(label_w + length + 6, 1), "label": r["label"] if len(r["label"]) <= 34
                     else r["label"][:33] + "…"})
    return {"width": width, "height": gap + len(bars) * (bar_h + gap) + 24, "bars": bars, "label_w": label_w,
            "legend_y": gap + len(bars) * (bar_h + gap) + 12}


# -- comments ---------------------------------------------------------------------------------
def highlight(text: str, spans: Sequence[tuple[int, int]]) -> list[tuple[str, bool]]:
    """``text`` cut into (piece, carries the theme) at the clause offsets; the template marks the latter."""
    pieces: list[tuple[str, bool]] = []
    pos = 0
    for start, end in sorted((max(0, a), min(len(text), b)) for a, b in spans):
        if end <= pos:
            continue
        start = max(start, pos)
        if start > pos:
            pieces.append((text[pos:start], False))
        pieces.append((text[start:end], True))
        pos = end
    if pos < len(text):
        pieces.append((text[pos:], False))
    return pieces or [(text, False)]


def highlight_clause(text: str, clause: str) -> list[tuple[str, bool]]:
    """For representative comments, which carry the clause text rather than its offsets."""
    at = text.find(clause) if clause and clause != text else -1
    return highlight(text, [(at, at + len(clause))]) if at >= 0 else [(text, False)]


def csv_cell(value: Any) -> Any:
    """Spreadsheets run cells starting with = + - @ as formulas: such text cells get a leading quote."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


# -- history ------------------------------------------------------------------------------------
_VERSION_TEXT = {  # action -> catalogue message of the history's sentence (params from the version)
    "fit": "as fitted on {n_comments} comments",
    "rename": "renamed {theme_id} to “{label}”",
    "merge": "merged {themes}",
    "merge_label": "merged {themes} as “{label}”",
    "split": "split {theme_id} into {n}",
    "move": "moved {n} comments from {from} to {to}",
    "keyword": "made a theme of the comments with “{phrase}”",
    "keyword_language": "made a theme of the {language} comments with “{phrase}”",
    "taxonomy": "added {theme_id} to the taxonomy as “{label}”",
}


def version_row(v: VersionInfo, t: Callable[..., str]) -> dict[str, Any]:
    """One line of a model's history, in the page's language."""
    p = dict(v.params)
    action = v.action
    if action == "merge":
        p["themes"] = ", ".join(p.get("theme_ids") or [])
        action = "merge_label" if p.get("label") else "merge"
    elif action == "keyword" and p.get("language"):
        action = "keyword_language"
    key = _VERSION_TEXT.get(action)
    try:
        text = t(key, **p) if key else action
    except (KeyError, IndexError):  # a version written by another release with other params
        text = action
    return {"number": v.number, "when": v.created_at.strftime("%Y-%m-%d %H:%M"), "author": v.author, "text": text,
            "undone": v.undone_at is not None, "undone_by": v.undone_by,
            "undone_when": v.undone_at.strftime("%Y-%m-%d %H:%M") if v.undone_at else None}
