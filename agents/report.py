"""A self-contained HTML report of a run's alerts, for analysts reviewing a demo or a replay.

It shows each finding at its latest revision: a timeline of its revisions (event time and
member count), its members, its shared templates and infrastructure, and, when the run was
labelled, the evaluation summary. Everything is escaped; no prompt text is ever included
because alerts carry none.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping
from typing import Any

from streams.evaluation import HEADLINE_KEYS
from streams.records import Alert
from streams.timeparse import format_timestamp

_STYLE = """
body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222}
h1{font-size:1.5em}h2{font-size:1.2em;margin-top:2em;border-bottom:1px solid #ccc}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ddd;padding:3px 8px;
text-align:left;vertical-align:top}th{background:#f3f3f3}
.sev-critical{color:#fff;background:#b00}.sev-high{background:#f60;color:#fff}
.sev-medium{background:#fc3}.sev-low{background:#eee}
.bar{display:inline-block;height:10px;background:#36c}
code{font-size:12px}
"""

def latest_revisions(alerts: Iterable[Alert]) -> tuple[list[Alert], dict[str, list[Alert]]]:
    """Each finding's newest revision (highest score first), plus every finding's revisions."""
    history: dict[str, list[Alert]] = {}
    for alert in alerts:
        history.setdefault(alert.alert_id, []).append(alert)
    for revisions in history.values():
        revisions.sort(key=lambda a: (a.revision, a.ts))
    latest = sorted((revs[-1] for revs in history.values()), key=lambda a: (-a.score, a.alert_id))
    return latest, history


def _esc(value: Any) -> str:
    return html.escape(str(value))


def _table(header: tuple[str, ...], rows: Iterable[tuple[Any, ...]]) -> str:
    head = "".join(f"<th>{_esc(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _timeline(revisions: list[Alert]) -> str:
    largest = max(len(a.accounts) for a in revisions) or 1
    return _table(
        ("revision", "event time", "members", "score"),
        (
            (
                a.revision,
                _esc(format_timestamp(a.ts)),
                f"{len(a.accounts)} <span class=bar "
                f"style='width:{200 * len(a.accounts) // largest}px'></span>",
                f"{a.score:.2f}",
            )
            for a in revisions
        ),
    )


def _evidence(alert: Alert) -> str:
    evidence = alert.evidence
    parts = []
    if features := evidence.get("features"):
        rows = (
            (_esc(f.get("name")), _esc(f.get("value")), _esc(f.get("baseline"))) for f in features
        )
        parts.append("<h4>Top features</h4>" + _table(("feature", "value", "baseline"), rows))
    if templates := evidence.get("shared_templates"):
        items = "".join(f"<li><code>{_esc(t)}</code></li>" for t in templates)
        parts.append(f"<h4>Shared templates</h4><ul>{items}</ul>")
    if infrastructure := evidence.get("infrastructure"):
        rows = ((_esc(k), f"<code>{_esc(v)}</code>") for k, v in sorted(infrastructure.items()))
        parts.append("<h4>Infrastructure overlap</h4>" + _table(("indicator", "values"), rows))
    if pairs := evidence.get("similar_pairs"):
        rows = (
            (_esc(p.get("a")), _esc(p.get("b")), f"{float(p.get('similarity', 0)):.2f}")
            for p in pairs[:10]
        )
        parts.append("<h4>Most similar pairs</h4>" + _table(("a", "b", "similarity"), rows))
    return "".join(parts)


def _time_span(alert: Alert) -> str:
    span = alert.evidence.get("time_span") or {}
    first, last = span.get("first"), span.get("last")
    if isinstance(first, int | float) and isinstance(last, int | float):
        return f"{format_timestamp(first)} to {format_timestamp(last)}"
    return "n/a"


def _finding(alert: Alert, revisions: list[Alert]) -> str:
    sev = _esc(alert.severity)
    return (
        f"<h2 id='{_esc(alert.alert_id)}'>{_esc(alert.kind)} {_esc(alert.alert_id)}</h2>"
        f"<p>cluster <code>{_esc(alert.cluster_id)}</code> · severity "
        f"<span class=sev-{sev}>{sev}</span> · score {alert.score:.2f} · activity "
        f"{_esc(_time_span(alert))} · signatures {_esc(', '.join(alert.signatures) or 'none')}</p>"
        f"<h4>Timeline</h4>{_timeline(revisions)}{_evidence(alert)}"
        f"<h4>Members ({len(alert.accounts)})</h4>"
        f"<p><code>{_esc(', '.join(alert.accounts))}</code></p>"
    )


def render_html(
    alerts: Iterable[Alert], evaluation: Mapping[str, Any] | None = None, title: str = ""
) -> str:
    """The whole report as one HTML document."""
    latest, history = latest_revisions(alerts)
    sections = []
    if evaluation is not None:
        rows = [(_esc(k), _esc(evaluation.get(k))) for k in HEADLINE_KEYS if k != "campaign_recall"]
        rows += [
            (f"recall of campaign {_esc(c)}", _esc(r))
            for c, r in sorted((evaluation.get("campaign_recall") or {}).items())
        ]
        sections.append(
            "<h2>Evaluation against ground truth</h2>" + _table(("metric", "value"), rows)
        )
    summary = (
        (
            f"<a href='#{_esc(a.alert_id)}'>{_esc(a.alert_id)}</a>",
            _esc(a.kind),
            f"<span class=sev-{_esc(a.severity)}>{_esc(a.severity)}</span>",
            f"{a.score:.2f}",
            len(a.accounts),
            a.revision,
        )
        for a in latest
    )
    sections.append(
        f"<h2>Findings ({len(latest)})</h2>"
        + _table(("alert", "kind", "severity", "score", "accounts", "revisions"), summary)
    )
    sections.extend(_finding(alert, history[alert.alert_id]) for alert in latest)
    return (
        "<!doctype html><html><head><meta charset=utf-8>"
        f"<title>DistillWatch report {_esc(title)}</title><style>{_STYLE}</style></head><body>"
        f"<h1>DistillWatch report {_esc(title)}</h1>{''.join(sections)}</body></html>"
    )
