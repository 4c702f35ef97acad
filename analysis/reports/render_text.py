"""The report as JSON (everything, machine-readable), Markdown and HTML (charts as their own
images where a renderer gives them, else a line of figures). Each text is cut here, where it
is shown (``bounded``): whatever built the tables, no format holds a megabyte of one alert.
A summary line or a recommendation is shown whole: it says where and what to do after the
outside text it quotes (a 480-character alert summary took the cluster and the action with
it), and ``build_report`` cuts that text where it builds the line."""

from __future__ import annotations

import html
import json
import math
from collections.abc import Callable
from typing import Any

import numpy as np

from aiops_desktop.models.reports import Chart, Report, Table
from aiops_desktop.models.text import cut, md_escape, one_line, time_text

#: chart -> the image source an HTML renderer embeds for it ("" for none)
ImageFor = Callable[[Chart], str]
#: the most of any one text a report shows (a cell, a fact, a note, a name; of the outside
#: text a summary line or a recommendation quotes): a cluster's alert summaries and a
#: server's errors come whole (5 alerts of 200 kB made a 623-page PDF); the bound the
#: fleet's findings keep an alert's text to (``ALERT_TEXT_CHARS``)
CELL_CHARS = 512


def bounded(text: str) -> str:
    """A text as a report shows it: ``CELL_CHARS`` at most, the cut marked "…"."""
    return cut(text, CELL_CHARS)


def chart_figures(chart: Chart) -> str:
    """A chart in words: each series' last, lowest and highest value."""
    parts = []
    for name, (_, values) in chart.series.items():
        seen = np.asarray(values, dtype=float)
        seen = seen[~np.isnan(seen)]
        if seen.size:
            parts.append(
                f"{name}: last {seen[-1]:.1f}, min {seen.min():.1f}, max {seen.max():.1f} "
                f"{chart.unit}"
            )
    return "; ".join(parts) or "no data"


def _number(value: float) -> float | None:
    """A value as JSON has it: null for NaN and +/-Inf (JSON has no such numbers)."""
    return round(float(value), 4) if math.isfinite(value) else None


def _json_table(t: Table) -> dict[str, Any]:
    b = bounded
    return {"title": b(t.title), "headers": [b(h) for h in t.headers],
            "rows": [[b(c) for c in row] for row in t.rows], "empty": b(t.empty)}  # fmt: skip


def to_json(report: Report) -> str:
    b = bounded

    def chart(c: Chart) -> dict[str, Any]:
        return {
            "title": c.title,
            "unit": c.unit,
            "series": {
                name: [[float(t), _number(v)] for t, v in zip(ts, vs, strict=True)]
                for name, (ts, vs) in c.series.items()
            },
        }

    doc = {
        "type": report.type.value,
        "title": b(report.title),
        "since": report.since.isoformat(),
        "until": report.until.isoformat(),
        "clusters": [b(c) for c in report.clusters],
        "generated_at": report.generated_at.isoformat(),
        "source": report.source,
        "summary": report.summary,  # whole: built of bounded parts
        "sections": [
            {
                "title": b(s.title),
                "state": s.state,
                "facts": [{"label": b(k), "value": b(v)} for k, v in s.facts],
                "tables": [_json_table(t) for t in s.tables],
                "charts": [chart(c) for c in s.charts],
                "notes": [b(n) for n in s.notes],
            }
            for s in report.sections
        ],
        "recommendations": report.recommendations,
    }
    return json.dumps(doc, indent=2) + "\n"


def _md(text: str) -> str:
    """Text from outside as Markdown: cut (``bounded``), and read as the words it is."""
    return md_escape(bounded(text))


def _md_table(t: Table) -> list[str]:
    m = _md
    out = [f"**{m(t.title)}**", ""]
    if not t.rows:
        return [*out, f"_{m(t.empty)}_", ""]
    out.append("| " + " | ".join(m(h) for h in t.headers) + " |")
    out.append("|" + "---|" * len(t.headers))
    out += ["| " + " | ".join(m(c) for c in row) + " |" for row in t.rows]
    return [*out, ""]


def to_markdown(report: Report) -> str:
    """Every text from outside (alert annotations, cluster and member names, series labels,
    errors) goes through ``_md``: cut, and read as the words it is, never as markup; a
    summary line and a recommendation through ``md_escape`` alone (whole: built of bounded
    parts)."""
    m = _md
    lines = [f"# {m(report.title)}", "", f"- Type: {m(report.type.heading)}",
             f"- Period: {m(report.period)}",
             f"- Clusters: {', '.join(m(c) for c in report.clusters)}",
             f"- Generated: {time_text(report.generated_at)}",
             f"- Source: {m(report.source)}", "", "## Summary", ""]  # fmt: skip
    lines += [f"- {md_escape(s)}" for s in report.summary] + [""]
    for section in report.sections:
        state = f" ({m(section.state)})" if section.state else ""
        lines += [f"## {m(section.title)}{state}", ""]
        lines += [f"- {m(k)}: {m(v)}" for k, v in section.facts]
        lines += [""] if section.facts else []
        for table in section.tables:
            lines += _md_table(table)
        for chart in section.charts:
            lines += [f"**{m(chart.title)}**: {m(chart_figures(chart))}", ""]
        lines += [f"> {m(n)}" for n in section.notes] + ([""] if section.notes else [])
    lines += ["## Recommendations", ""]
    lines += [f"1. {md_escape(r)}" for r in report.recommendations]
    return "\n".join(lines).rstrip() + "\n"


STYLE = """
body { font-family: 'DejaVu Sans', sans-serif; font-size: 10pt; color: #111827; }
h1 { font-size: 18pt; margin-bottom: 2pt; } h2 { font-size: 13pt; margin-top: 14pt; }
table { border-collapse: collapse; margin: 4pt 0 8pt 0; }
th { background: #e5e7eb; text-align: left; padding: 2px 5px; font-size: 8.5pt; }
td { border-bottom: 1px solid #e5e7eb; padding: 2px 5px; font-size: 8.5pt; }
.meta td { border: none; padding: 1px 12px 1px 0; } .muted { color: #6b7280; }
.badge { color: #b45309; font-weight: bold; }
"""


def _whole(text: str) -> str:
    """Text as HTML: one line (``one_line``: a paragraph separator, U+2029, is a paragraph
    break to the PDF's renderer: 300 of them made one cell 5 pages), escaped, without the
    control characters (a summary line or a recommendation: built of bounded parts)."""
    return html.escape(one_line(text))


def _e(text: str) -> str:
    """Text from outside as HTML: cut (``bounded``), escaped, without the control
    characters."""
    return _whole(bounded(text))


def _html_table(t: Table) -> str:
    head = f"<p><b>{_e(t.title)}</b></p>"
    if not t.rows:
        return head + f"<p class='muted'>{_e(t.empty)}</p>"
    ths = "".join(f"<th>{_e(h)}</th>" for h in t.headers)
    trs = "".join("<tr>" + "".join(f"<td>{_e(c)}</td>" for c in row) + "</tr>" for row in t.rows)
    return (f"{head}<table width='100%' cellpadding='5' cellspacing='0'>"
            f"<thead><tr>{ths}</tr></thead>{trs}</table>")  # fmt: skip


def to_html(
    report: Report, image_for: ImageFor | None = None, *, image_width: int | None = None
) -> str:
    """``image_for``: the image source of each chart (none: its figures in words);
    ``image_width``: the width images are shown at (pixels; their own by default)."""
    e = _e
    width = f" width='{image_width}'" if image_width else ""
    # each cluster's name cut apart, as the Markdown does (the list cut as one named 36 of 60)
    meta = [("Type", e(report.type.heading)), ("Period", e(report.period)),
            ("Clusters", ", ".join(e(c) for c in report.clusters)),
            ("Generated", e(time_text(report.generated_at))),
            ("Source", e(report.source))]  # fmt: skip
    body = [f"<h1>{e(report.title)}</h1>", "<table class='meta' cellpadding='2' cellspacing='0'>"]
    body += [f"<tr><td class='muted'>{k}</td><td>{v}</td></tr>" for k, v in meta]
    body += ["</table>", "<h2>Summary</h2><ul>"]
    body += [f"<li>{_whole(s)}</li>" for s in report.summary] + ["</ul>"]
    for section in report.sections:
        state = f" <span class='badge'>{e(section.state)}</span>" if section.state else ""
        body.append(f"<h2>{e(section.title)}{state}</h2>")
        if section.facts:
            body.append("<table class='meta' cellpadding='2' cellspacing='0'>")
            body += [f"<tr><td class='muted'>{e(k)}</td><td>{e(v)}</td></tr>"
                     for k, v in section.facts]  # fmt: skip
            body.append("</table>")
        body += [_html_table(t) for t in section.tables]
        for chart in section.charts:
            src = image_for(chart) if image_for else ""
            body.append(f"<p><b>{e(chart.title)}</b><br/>")
            # the renderer's own image data: whole (a PNG's base64 is no text to cut)
            body.append(f"<img src='{_whole(src)}'{width}/></p>" if src else
                        f"<span class='muted'>{e(chart_figures(chart))}</span></p>")  # fmt: skip
        body += [f"<p class='muted'>{e(n)}</p>" for n in section.notes]
    body += ["<h2>Recommendations</h2><ol>"]
    body += [f"<li>{_whole(r)}</li>" for r in report.recommendations] + ["</ol>"]
    return (
        "<!DOCTYPE html><html><head><meta charset='utf-8'/>"
        f"<title>{e(report.title)}</title><style>{STYLE}</style></head><body>"
        + "\n".join(body)
        + "</body></html>\n"
    )
