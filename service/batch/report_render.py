"""Render a ``DumpReport`` as JSON, CSV (one row per item) or self-contained HTML with inline SVG bars."""

from __future__ import annotations

import csv
import html
import io

from service.batch.report import DumpReport
from service.themes.report import ThemeSummary

_SENTIMENT_COLOURS = {"negative": "#d9534f", "neutral": "#9e9e9e", "positive": "#4caf50", "unscored": "#cfd8dc"}
_CSV_FIELDS = ["section", "key", "parent", "label", "touchpoint", "count", "share", "negative_share", "mean_sentiment",
               "impact_metric", "impact_difference", "impact_ci_low", "impact_ci_high", "keywords", "example"]


def report_json(report: DumpReport) -> str:
    return report.model_dump_json(indent=2)


def _keywords(t: ThemeSummary) -> str:
    return "; ".join(f"{lang}: {', '.join(words)}" for lang, words in t.keywords.items() if words)


def _example(t: ThemeSummary) -> str:
    for reps in t.representative.values():
        if reps:
            return reps[0].clause
    return ""


def report_csv(report: DumpReport) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=_CSV_FIELDS)
    w.writeheader()
    for section, counts in (("language", report.languages), ("sentiment", report.sentiment)):
        for key, n in counts.items():
            w.writerow({"section": section, "key": key, "label": key, "count": n,
                        "share": round(n / report.scored, 4) if report.scored else ""})
    for t in report.themes.themes if report.themes else []:
        imp = t.impact
        w.writerow({
            "section": "theme" if t.level == 1 else "subtheme", "key": t.theme_id, "parent": t.parent_id or "",
            "label": t.label, "touchpoint": t.touchpoint or "", "count": t.size, "share": t.share,
            "negative_share": t.sentiment.shares["negative"] if t.sentiment.n_scored else "",
            "mean_sentiment": "" if t.sentiment.mean_score is None else t.sentiment.mean_score,
            "impact_metric": imp.metric if imp else "", "impact_difference": imp.difference if imp else "",
            "impact_ci_low": imp.ci_low if imp else "", "impact_ci_high": imp.ci_high if imp else "",
            "keywords": _keywords(t), "example": _example(t)[:500],
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


def _theme_row(t: ThemeSummary) -> str:
    e = html.escape
    imp = t.impact
    impact = (f"{imp.difference:+.1f} [{imp.ci_low:+.1f}, {imp.ci_high:+.1f}] {'NPS' if imp.metric == 'nps' else 'score'}"
              if imp else "")
    trend = ", ".join(f"{p.period}: {p.share:.0%}" for p in (t.trend or [])[-6:])
    mix = " / ".join(f"{t.sentiment.shares[k]:.0%}" for k in ("negative", "neutral", "positive")) if t.sentiment.n_scored else ""
    indent = "&nbsp;&nbsp;&nbsp;↳ " if t.level == 2 else ""
    return (f"<tr><td>{indent}{e(t.label)}</td><td>{e(t.touchpoint or 'discovered')}</td><td>{t.size} ({t.share:.1%})</td>"
            f"<td>{mix}</td><td>{e(impact)}</td><td>{e(trend)}</td><td>{e(_keywords(t))}</td>"
            f"<td>{e(_example(t)[:200])}</td></tr>")


def report_html(report: DumpReport) -> str:
    scored = report.scored
    pct = lambda n: f"{n} ({100 * n / scored:.1f}%)" if scored else str(n)  # noqa: E731
    langs = [(k, v, pct(v), "#5c6bc0") for k, v in report.languages.items()]
    sents = [(k, v, pct(v), _SENTIMENT_COLOURS.get(k, "#90a4ae")) for k, v in report.sentiment.items()]
    tops = [t for t in report.themes.themes if t.level == 1][:25] if report.themes else []
    bars = [(t.label, float(t.size), f"{pct(t.size)}" + (f", sentiment {t.sentiment.mean_score:+.2f}"
                                                          if t.sentiment.mean_score is not None else ""),
             _sentiment_colour(t.sentiment.mean_score)) for t in tops]
    rows = "".join(_theme_row(t) for t in (report.themes.themes if report.themes else []))
    table = ("<p class='muted'>themes fitted on "
             f"{report.sampled_comments} comments (an even sample of larger dumps); sizes, the sentiment of the "
             "clauses carrying each theme (negative / neutral / positive), score impact (with vs without the theme, "
             "95% CI) and trends count every scored comment</p>"
             "<table><tr><th>theme</th><th>touchpoint</th><th>comments</th><th>sentiment</th><th>impact</th>"
             "<th>trend</th><th>keywords</th><th>example</th></tr>" + rows + "</table>") if rows else ""
    e = html.escape
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Themes report – {e(report.dataset)}</title>
<style>body{{font-family:system-ui,sans-serif;margin:2rem;max-width:72rem;color:#222}}
h2{{margin-top:2rem;font-size:1.1rem}} .muted{{color:#777}} table{{border-collapse:collapse}}
td,th{{padding:.2rem .6rem;border-bottom:1px solid #eee;text-align:left;vertical-align:top;font-size:.9rem}}</style>
</head><body>
<h1>Themes report</h1>
<p>{e(report.dataset)} — generated {e(report.generated_at)}</p>
<table><tr><th>rows</th><td>{report.rows}</td></tr>
<tr><th>scored</th><td>{scored}</td></tr><tr><th>errors (reported per row)</th><td>{report.errors}</td></tr>
<tr><th>unassigned to any theme</th><td>{report.themes.n_unassigned if report.themes else '–'}</td></tr></table>
{_bars('Languages', langs)}
{_bars('Sentiment', sents)}
{_bars('Themes', bars) if bars else ''}
{table}
{f"<p class='muted'>{e(report.note)}</p>" if report.note else ''}
</body></html>
"""
