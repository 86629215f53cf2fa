"""Findings for a person to read: every value formatted, and the HTML and SVG drawings that
the forensic report, the run report and the triage console share.

Values are never shown as Python writes them: numbers are rounded to what a reader can use,
with the unit the name implies (shares as percentages, rates per hour, ages in days), times as
UTC timestamps, spans as durations, mappings as ``key: value`` lists or small tables, and a
missing value (a feature without a baseline) as an em dash.  Everything is escaped; nothing
here fetches anything or runs a script.
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from streams.records import Alert

MISSING = "—"

STYLE = """
body{font:14px/1.45 system-ui,sans-serif;margin:2em;color:#222;max-width:1200px}
h1{font-size:1.5em}h2{font-size:1.2em;margin-top:2em;border-bottom:1px solid #ccc}
h4{margin:1.2em 0 .3em}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ddd;padding:3px 8px;
text-align:left;vertical-align:top}td:not(:last-child){white-space:nowrap}th{background:#f3f3f3}td.num{text-align:right}
.sev{padding:0 6px;border-radius:3px}
.sev-critical{color:#fff;background:#b00}.sev-high{background:#f60;color:#fff}
.sev-medium{background:#fc3}.sev-low{background:#eee}
.bar{display:inline-block;height:10px;background:#36c;vertical-align:middle}
code{font-size:12px}svg{max-width:100%;height:auto}ul.kv{margin:0;padding-left:1.1em}.muted{color:#777}
.members{columns:4 14em;font-family:monospace;font-size:12px;margin:0;padding-left:1.1em}
"""

# Units the feature names imply (``mean_`` prefixes of cluster features are stripped first).
_PERCENT = ("_share", "_fpr", "precision", "recall", "f1")
_RATIO = ("completion_ratio", "spread_ratio")
_UNITS = {
    "account_age_days": "days",
    "rate_per_hour": "/h",
    "active_hours": "h",
    "window_volume": "requests",
}
_DURATION = ("_ttd_s", "_s")


def esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def number(value: float | int) -> str:
    """A number as a person reads it: integers with thousands separators, other values
    with three significant digits (never more than two decimals above 1)."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int) or (
        math.isfinite(value) and value == int(value) and abs(value) < 1e15
    ):
        return f"{int(value):,}"
    if not math.isfinite(value):
        return "∞" if value > 0 else ("-∞" if value < 0 else "not a number")
    magnitude = abs(value)
    if magnitude >= 100:
        return f"{value:,.0f}"
    if magnitude >= 1:
        return f"{value:.2f}".rstrip("0").rstrip(".")
    return f"{value:.3g}"


def percent(share: float) -> str:
    """A share of 0..1 as a percentage: 0.9404 -> "94.0 %", 0.0002 -> "0.02 %"."""
    pct = share * 100
    if pct == 0 or pct == 100:
        return f"{pct:.0f} %"
    return f"{pct:.1f} %" if abs(pct) >= 1 else f"{pct:.2g} %"


def timestamp(ts: float) -> str:
    """Epoch seconds as a UTC timestamp to the second."""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def duration(seconds: float) -> str:
    """A span as "45 s", "4 min 10 s", "2 h 5 min" or "3 d 4 h"."""
    s = round(seconds)
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60} s" if s % 60 else f"{s // 60} min"
    if s < 86400:
        return f"{s // 3600} h {s % 3600 // 60} min" if s % 3600 // 60 else f"{s // 3600} h"
    return f"{s // 86400} d {s % 86400 // 3600} h" if s % 86400 // 3600 else f"{s // 86400} d"


_LABELS = {
    "f1": "F1",
    "benign_fpr": "benign false-positive rate",
    "hard_negative_fpr": "hard-negative false-positive rate",
    "median_ttd_s": "median time to detect",
    "p90_ttd_s": "90th percentile time to detect",
    "ip24_distinct": "distinct /24 networks",
    "asn_distinct": "distinct ASNs",
    "cot_share": "chain-of-thought share",
}


def label(name: str) -> str:
    """A field name as words: ``structured_share`` -> "structured share"."""
    if name in _LABELS:
        return _LABELS[name]
    if name.startswith("mean_") and name[5:] in _LABELS:
        return f"mean {_LABELS[name[5:]]}"
    return name.replace("_", " ")


def counted(n: float, noun: str) -> str:
    """ "1 pair", "3 pairs": ``noun`` is plural."""
    return f"{number(n)} {noun.removesuffix('s') if n == 1 else noun}"


def display(item: Any, name: str = "") -> str:
    """Any evidence value as escaped HTML, formatted for what ``name`` says it is."""
    if item is None:
        return MISSING
    if isinstance(item, bool):
        return "yes" if item else "no"
    if isinstance(item, int | float):
        base = name.removeprefix("mean_")
        if base.endswith(_DURATION) and not isinstance(item, bool):
            return esc(duration(item))
        if base.endswith(_PERCENT) and 0 <= item <= 1:
            return esc(percent(item))
        if base in _RATIO:
            return esc(f"{number(item)}\N{MULTIPLICATION SIGN}")
        unit = _UNITS.get(base)
        return esc(f"{number(item)} {unit}" if unit else number(item))
    if isinstance(item, str):
        return f"<code>{esc(item)}</code>" if name.endswith(("_id", "id")) else esc(item)
    if isinstance(item, Mapping):
        return key_values(item)
    if isinstance(item, Sequence):
        if not item:
            return MISSING
        if all(isinstance(i, Mapping) for i in item):
            return records_table(item)
        return ", ".join(display(i, name) for i in item)
    return esc(item)


def key_values(mapping: Mapping[str, Any]) -> str:
    """A small mapping as a ``key: value`` list."""
    if not mapping:
        return MISSING
    items = "".join(
        f"<li>{esc(label(str(k)))}: {display(v, str(k))}</li>" for k, v in mapping.items()
    )
    return f"<ul class=kv>{items}</ul>"


def records_table(rows: Sequence[Mapping[str, Any]]) -> str:
    """A list of like mappings (``{"value": ..., "pairs": 3}``) as a small table."""
    columns: list[str] = []
    for row in rows:
        columns.extend(k for k in row if k not in columns)
    return table(
        tuple(label(c) for c in columns),
        ((display(row.get(c), c) for c in columns) for row in rows),
    )


def table(header: Iterable[str], rows: Iterable[Iterable[Any]]) -> str:
    """An HTML table; header cells are escaped here, body cells are HTML already."""
    head = "".join(f"<th>{esc(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def severity(alert: Alert) -> str:
    sev = esc(alert.severity)
    return f"<span class='sev sev-{sev}'>{sev}</span>"


def time_span(alert: Alert) -> str:
    span = alert.evidence.get("time_span") or {}
    first, last = span.get("first"), span.get("last")
    if isinstance(first, int | float) and isinstance(last, int | float):
        return f"{timestamp(first)} to {timestamp(last)} ({duration(last - first)})"
    return MISSING


def summary_line(alert: Alert) -> str:
    """Cluster, severity, score, revision, activity and signatures of a finding, on one line."""
    cluster = f"<code>{esc(alert.cluster_id)}</code>" if alert.cluster_id else MISSING
    signatures = ", ".join(f"<code>{esc(s)}</code>" for s in alert.signatures) or "none"
    return (
        f"<p>severity {severity(alert)} · score {alert.score:.2f} · revision {alert.revision} · "
        f"cluster {cluster} · activity {esc(time_span(alert))} · signatures {signatures}</p>"
    )


def revisions_table(revisions: list[Alert]) -> str:
    """Each revision's event time, member count (with a bar) and score."""
    largest = max((len(a.accounts) for a in revisions), default=0) or 1
    return table(
        ("revision", "event time", "members", "score"),
        (
            (
                a.revision,
                esc(timestamp(a.ts)),
                f"{len(a.accounts):,} <span class=bar "
                f"style='width:{200 * len(a.accounts) // largest}px'></span>",
                f"{a.score:.2f}",
            )
            for a in revisions
        ),
    )


def evidence_html(alert: Alert) -> str:
    """The evidence of a finding: features against baselines, shared templates,
    infrastructure overlap and its most similar pairs."""
    evidence = alert.evidence
    parts = []
    if features := evidence.get("features"):
        rows = (
            (
                esc(label(str(f.get("name")))),
                display(f.get("value"), str(f.get("name"))),
                display(f.get("baseline"), str(f.get("name"))),
            )
            for f in features
        )
        parts.append("<h4>Top features</h4>" + table(("feature", "value", "baseline"), rows))
    if templates := evidence.get("shared_templates"):
        if all(isinstance(t, Mapping) for t in templates):
            parts.append("<h4>Shared templates</h4>" + records_table(templates))
        else:
            items = "".join(f"<li>{display(t, 'template_id')}</li>" for t in templates)
            parts.append(f"<h4>Shared templates</h4><ul>{items}</ul>")
    if infrastructure := evidence.get("infrastructure"):
        rows = ((esc(label(k)), _indicator_values(v)) for k, v in sorted(infrastructure.items()))
        parts.append("<h4>Infrastructure overlap</h4>" + table(("indicator", "values"), rows))
    if pairs := evidence.get("similar_pairs"):
        rows = (
            (
                f"<code>{esc(p.get('a'))}</code>",
                f"<code>{esc(p.get('b'))}</code>",
                f"{float(p.get('similarity', 0)):.2f}",
            )
            for p in pairs[:10]
        )
        parts.append("<h4>Most similar pairs</h4>" + table(("a", "b", "similarity"), rows))
    return "".join(parts)


def _indicator_values(values: Any) -> str:
    """Infrastructure values: ``{"value": v, "pairs": n}`` items as "v (n pairs)"."""
    if isinstance(values, Sequence) and not isinstance(values, str):
        if not values:
            return MISSING
        shown = []
        for item in values:
            if isinstance(item, Mapping) and "value" in item:
                counts = ", ".join(
                    esc(counted(n, label(k))) for k, n in item.items() if k != "value"
                )
                shown.append(
                    f"<code>{esc(item['value'])}</code>" + (f" ({counts})" if counts else "")
                )
            else:
                shown.append(f"<code>{esc(item)}</code>")
        return "<br>".join(shown)
    return display(values)


def members_list(accounts: Sequence[str]) -> str:
    items = "".join(f"<li>{esc(a)}</li>" for a in accounts)
    return f"<ul class=members>{items}</ul>"


# -- drawings ------------------------------------------------------------------------------------

MAX_ROWS = 80
PLOT_WIDTH = 720


def timeline_svg(rows: Sequence[tuple[str, Sequence[float]]], revisions: list[Alert]) -> str:
    """Members over event time: one row of marks per member (``rows``: the member and the
    times to mark, e.g. its requests in a replay or the revisions that named it), under a line
    of how many members each revision named."""
    active = [(name, times) for name, times in rows if times]
    if not active or not revisions:
        return "<p>No activity of the members to draw.</p>"
    t0 = min(min(times) for _, times in active)
    t1 = max(max(max(times) for _, times in active), max(a.ts for a in revisions))
    t0 = min(t0, min(a.ts for a in revisions))
    span = max(t1 - t0, 1.0)
    left, row, top = 150, 9, 60
    shown = active[:MAX_ROWS]
    height = top + row * len(shown) + 30

    def x(ts: float) -> float:
        return left + (ts - t0) / span * PLOT_WIDTH

    largest = max(len(a.accounts) for a in revisions) or 1

    def y(alert: Alert) -> float:
        return 50 - 34 * len(alert.accounts) / largest

    parts = [
        f"<svg xmlns='http://www.w3.org/2000/svg' width='{left + PLOT_WIDTH + 20}' "
        f"height='{height}' viewBox='0 0 {left + PLOT_WIDTH + 20} {height}' font-size='9' "
        "font-family='monospace' role='img'>",
        f"<text x='{left}' y='12'>members named by each revision (up to {largest:,})</text>",
    ]
    points = " ".join(f"{x(a.ts):.1f},{y(a):.1f}" for a in revisions)
    parts.append(f"<polyline points='{points}' fill='none' stroke='#b00' stroke-width='1.5'/>")
    for a in revisions:
        parts.append(
            f"<circle cx='{x(a.ts):.1f}' cy='{y(a):.1f}' r='2.5' fill='#b00'><title>revision "
            f"{a.revision}: {len(a.accounts):,} accounts at {esc(timestamp(a.ts))}</title></circle>"
        )
    for i, (name, times) in enumerate(shown):
        top_y = top + i * row
        parts.append(
            f"<text x='{left - 4}' y='{top_y + 7}' text-anchor='end'>{esc(name[:22])}</text>"
        )
        columns = sorted({int(x(t)) for t in times})
        parts.extend(
            f"<rect x='{c}' y='{top_y + 1}' width='1.5' height='{row - 2}' fill='#36c'/>"
            for c in columns
        )
    axis = top + row * len(shown) + 12
    parts.append(f"<text x='{left}' y='{axis}'>{esc(timestamp(t0))}</text>")
    parts.append(
        f"<text x='{left + PLOT_WIDTH}' y='{axis}' text-anchor='end'>{esc(timestamp(t1))}</text>"
    )
    parts.append("</svg>")
    note = (
        f"<p>First {MAX_ROWS} of {len(active):,} members shown.</p>"
        if len(active) > MAX_ROWS
        else ""
    )
    return "".join(parts) + note


def similarity_svg(alert: Alert) -> str:
    """The finding's most similar pairs as a graph: members on a circle, an edge per pair,
    thicker and darker the more similar."""
    pairs = [p for p in alert.evidence.get("similar_pairs") or () if isinstance(p, Mapping)]
    if not pairs:
        return "<p>The finding records no similar pairs.</p>"
    nodes = sorted({p["a"] for p in pairs} | {p["b"] for p in pairs})
    size, radius = 460, 170
    centre = size / 2
    where = {
        n: (
            centre + radius * math.cos(2 * math.pi * i / len(nodes)),
            centre + radius * math.sin(2 * math.pi * i / len(nodes)),
        )
        for i, n in enumerate(nodes)
    }
    parts = [
        f"<svg xmlns='http://www.w3.org/2000/svg' width='{size}' height='{size}' "
        f"viewBox='0 0 {size} {size}' font-size='8' font-family='monospace' role='img'>"
    ]
    for p in pairs:
        (xa, ya), (xb, yb) = where[p["a"]], where[p["b"]]
        similarity = float(p.get("similarity", 0.0))
        parts.append(
            f"<line x1='{xa:.1f}' y1='{ya:.1f}' x2='{xb:.1f}' y2='{yb:.1f}' stroke='#36c' "
            f"stroke-opacity='{0.2 + 0.8 * similarity:.2f}' "
            f"stroke-width='{0.5 + 3 * similarity:.2f}'><title>{esc(p['a'])} - "
            f"{esc(p['b'])}: {similarity:.2f}</title></line>"
        )
    for node, (xn, yn) in where.items():
        anchor = "start" if xn >= centre else "end"
        dx = 6 if xn >= centre else -6
        parts.append(
            f"<circle cx='{xn:.1f}' cy='{yn:.1f}' r='4' fill='#b00'><title>{esc(node)}</title>"
            f"</circle><text x='{xn + dx:.1f}' y='{yn + 3:.1f}' text-anchor='{anchor}'>"
            f"{esc(node[:18])}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


def named_by_revisions(revisions: list[Alert]) -> list[tuple[str, list[float]]]:
    """Per member of the latest revision, the event times of the revisions that named it:
    the timeline rows of a finding seen only through its alerts."""
    times: dict[str, list[float]] = {}
    for alert in revisions:
        for account in alert.accounts:
            times.setdefault(account, []).append(alert.ts)
    latest = revisions[-1].accounts if revisions else ()
    return sorted(((a, times.get(a, [])) for a in latest), key=lambda r: (min(r[1]), r[0]))
