"""Self-contained HTML reports: a run's alerts, and the forensic report of one alert.

The run report shows each finding at its latest revision: a timeline of its revisions (event
time and member count), its members, its shared templates and infrastructure, and, when the
run was labelled, the evaluation summary.  The forensic report (``distillwatch report
--alert``) adds what a replay of the finding's range shows: each member's requests plotted
over time, per-member activity, templates and infrastructure the members share, and the
similarity graph of the finding's closest pairs.  Everything is escaped and inline (SVG, no
scripts, nothing fetched); no prompt text is ever included.
"""

from __future__ import annotations

import html
import math
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from streams.records import Alert, RawRecord, RequestEvent
from streams.simulation.evaluation import HEADLINE_KEYS
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
    alerts: Iterable[Alert],
    evaluation: Mapping[str, Any] | None = None,
    title: str = "",
    forensic_links: Mapping[str, str] | None = None,
) -> str:
    """The whole report as one HTML document; ``forensic_links`` maps alert ids to the
    forensic report written for them (``distillwatch report --alert``)."""
    links = forensic_links or {}
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
            f"<a href='{_esc(links[a.alert_id])}'>forensic report</a>"
            if a.alert_id in links
            else "",
        )
        for a in latest
    )
    sections.append(
        f"<h2>Findings ({len(latest)})</h2>"
        + _table(
            ("alert", "kind", "severity", "score", "accounts", "revisions", "forensics"), summary
        )
    )
    sections.extend(_finding(alert, history[alert.alert_id]) for alert in latest)
    return (
        "<!doctype html><html><head><meta charset=utf-8>"
        f"<title>DistillWatch report {_esc(title)}</title><style>{_STYLE}</style></head><body>"
        f"<h1>DistillWatch report {_esc(title)}</h1>{''.join(sections)}</body></html>"
    )


# -- forensic report of one alert ---------------------------------------------------------------

_MAX_ROWS = 80
_PLOT_WIDTH = 720


@dataclass
class MemberActivity:
    """What one member account did in the replayed range (no prompt text)."""

    account_id: str
    org_id: str = ""
    requests: int = 0
    first_ts: float = math.inf
    last_ts: float = -math.inf
    times: list[float] = field(default_factory=list)
    values: dict[str, Counter[str]] = field(default_factory=dict)


def member_activity(
    alert: Alert, events: Iterable[RequestEvent], template_of: Callable[[RequestEvent], str]
) -> dict[str, MemberActivity]:
    """Per-member requests, times and indicator values from the replayed events."""
    members = {a: MemberActivity(a) for a in alert.accounts}
    for event in events:
        member = members.get(event.account_id)
        if member is None:
            continue
        member.org_id = event.org_id
        member.requests += 1
        member.first_ts = min(member.first_ts, event.ts)
        member.last_ts = max(member.last_ts, event.ts)
        member.times.append(event.ts)
        ip24 = ".".join(event.ip.split(".")[:3]) + ".0/24" if event.ip.count(".") == 3 else event.ip
        for kind, value in (
            ("template", template_of(event)),
            ("asn", str(event.asn)),
            ("ip_prefix", ip24),
            ("user_agent", event.user_agent),
            ("payment_fingerprint", event.payment_fingerprint or ""),
        ):
            if value:
                member.values.setdefault(kind, Counter())[value] += 1
    return members


def _overlap(
    members: dict[str, MemberActivity], kind: str, top: int = 15
) -> list[tuple[str, int, int]]:
    """(value, members sharing it, requests) for values at least two members share."""
    accounts: Counter[str] = Counter()
    requests: Counter[str] = Counter()
    for member in members.values():
        for value, count in member.values.get(kind, {}).items():
            accounts[value] += 1
            requests[value] += count
    shared = [(v, n, requests[v]) for v, n in accounts.items() if n >= 2]
    return sorted(shared, key=lambda r: (-r[1], -r[2], r[0]))[:top]


def _timeline_svg(members: list[MemberActivity], revisions: list[Alert]) -> str:
    active = [m for m in members if m.requests]
    if not active:
        return "<p>No requests of the members in the replayed range.</p>"
    t0 = min(m.first_ts for m in active)
    t1 = max(max(m.last_ts for m in active), max(a.ts for a in revisions))
    span = max(t1 - t0, 1.0)
    left, row, top = 150, 9, 60
    rows = active[:_MAX_ROWS]
    height = top + row * len(rows) + 30

    def x(ts: float) -> float:
        return left + (ts - t0) / span * _PLOT_WIDTH

    parts = [
        f"<svg xmlns='http://www.w3.org/2000/svg' width='{left + _PLOT_WIDTH + 20}' "
        f"height='{height}' font-size='9' font-family='monospace'>",
        f"<text x='{left}' y='12'>members named by each revision</text>",
    ]
    largest = max(len(a.accounts) for a in revisions) or 1
    points = " ".join(f"{x(a.ts):.1f},{50 - 34 * len(a.accounts) / largest:.1f}" for a in revisions)
    parts.append(f"<polyline points='{points}' fill='none' stroke='#b00' stroke-width='1.5'/>")
    for a in revisions:
        parts.append(
            f"<circle cx='{x(a.ts):.1f}' cy='{50 - 34 * len(a.accounts) / largest:.1f}' r='2.5' "
            f"fill='#b00'><title>revision {a.revision}: {len(a.accounts)} accounts at "
            f"{_esc(format_timestamp(a.ts))}</title></circle>"
        )
    for i, member in enumerate(rows):
        y = top + i * row
        parts.append(
            f"<text x='{left - 4}' y='{y + 7}' text-anchor='end'>"
            f"{_esc(member.account_id[:22])}</text>"
        )
        columns = sorted({int(x(t)) for t in member.times})
        parts.extend(
            f"<rect x='{c}' y='{y + 1}' width='1.5' height='{row - 2}' fill='#36c'/>"
            for c in columns
        )
    axis = top + row * len(rows) + 12
    parts.append(f"<text x='{left}' y='{axis}'>{_esc(format_timestamp(t0)[:19])}</text>")
    parts.append(
        f"<text x='{left + _PLOT_WIDTH}' y='{axis}' text-anchor='end'>"
        f"{_esc(format_timestamp(t1)[:19])}</text>"
    )
    parts.append("</svg>")
    note = (
        f"<p>First {_MAX_ROWS} of {len(active)} members shown.</p>"
        if len(active) > _MAX_ROWS
        else ""
    )
    return "".join(parts) + note


def _similarity_svg(alert: Alert) -> str:
    pairs = [p for p in alert.evidence.get("similar_pairs") or () if isinstance(p, dict)]
    if not pairs:
        return "<p>The finding records no similar pairs.</p>"
    nodes = sorted({p["a"] for p in pairs} | {p["b"] for p in pairs})
    size, radius = 460, 180
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
        "font-size='8' font-family='monospace'>"
    ]
    for p in pairs:
        (xa, ya), (xb, yb) = where[p["a"]], where[p["b"]]
        similarity = float(p.get("similarity", 0.0))
        parts.append(
            f"<line x1='{xa:.1f}' y1='{ya:.1f}' x2='{xb:.1f}' y2='{yb:.1f}' stroke='#36c' "
            f"stroke-opacity='{0.2 + 0.8 * similarity:.2f}' "
            f"stroke-width='{0.5 + 3 * similarity:.2f}'><title>{_esc(p['a'])} - "
            f"{_esc(p['b'])}: {similarity:.2f}</title></line>"
        )
    for node, (xn, yn) in where.items():
        parts.append(
            f"<circle cx='{xn:.1f}' cy='{yn:.1f}' r='4' fill='#b00'><title>{_esc(node)}</title>"
            f"</circle><text x='{xn + 6:.1f}' y='{yn + 3:.1f}'>{_esc(node[:16])}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


def render_forensic_html(
    alert: Alert,
    revisions: list[Alert],
    members: dict[str, MemberActivity],
    provenance: str,
) -> str:
    """One alert's forensic report as a self-contained HTML document (inline SVG, no scripts)."""
    ordered = sorted(members.values(), key=lambda m: (m.first_ts, m.account_id))
    member_rows = (
        (
            f"<code>{_esc(m.account_id)}</code>",
            _esc(m.org_id),
            m.requests,
            _esc(format_timestamp(m.first_ts)[:19]) if m.requests else "",
            _esc(format_timestamp(m.last_ts)[:19]) if m.requests else "",
            len(m.values.get("template", {})),
            len(m.values.get("asn", {})),
            len(m.values.get("ip_prefix", {})),
            _esc(m.values["user_agent"].most_common(1)[0][0]) if "user_agent" in m.values else "",
        )
        for m in ordered
    )
    sections = [
        f"<p>{_esc(provenance)}</p>",
        f"<p>severity <span class=sev-{_esc(alert.severity)}>{_esc(alert.severity)}</span> · "
        f"score {alert.score:.2f} · revision {alert.revision} · cluster "
        f"<code>{_esc(alert.cluster_id)}</code> · activity {_esc(_time_span(alert))} · "
        f"signatures {_esc(', '.join(alert.signatures) or 'none')}</p>",
        "<h2>Timeline</h2>",
        _timeline_svg(ordered, revisions),
        _timeline(revisions),
        f"<h2>Members ({len(ordered)})</h2>",
        _table(
            (
                "account",
                "org",
                "requests",
                "first seen",
                "last seen",
                "templates",
                "ASNs",
                "/24 networks",
                "user agent",
            ),
            member_rows,
        ),
        "<h2>Shared templates</h2>",
        _table(
            ("template", "members", "requests"),
            ((f"<code>{_esc(v)}</code>", n, r) for v, n, r in _overlap(members, "template")),
        ),
        "<h2>Infrastructure overlap</h2>",
    ]
    for kind in ("user_agent", "asn", "ip_prefix", "payment_fingerprint"):
        rows = _overlap(members, kind)
        if rows:
            sections.append(
                f"<h4>{_esc(kind)}</h4>"
                + _table(
                    ("value", "members", "requests"),
                    ((f"<code>{_esc(v)}</code>", n, r) for v, n, r in rows),
                )
            )
    sections += ["<h2>Similarity graph</h2>", _similarity_svg(alert), "<h2>Evidence</h2>"]
    sections.append(_evidence(alert))
    title = f"{alert.kind} {alert.alert_id}"
    return (
        "<!doctype html><html><head><meta charset=utf-8>"
        f"<title>DistillWatch forensic report {_esc(title)}</title><style>{_STYLE}</style>"
        f"</head><body><h1>Forensic report: {_esc(title)}</h1>{''.join(sections)}</body></html>"
    )


# --- the forensic report of one alert, from a replay ------------------------------------


def alert_revisions(alerts: Iterable[Alert], alert_id: str) -> list[Alert]:
    """Distinct revisions of one alert, oldest first (the topic may repeat a revision)."""
    by_revision = {a.revision: a for a in alerts if a.alert_id == alert_id}
    return [by_revision[r] for r in sorted(by_revision)]


def alert_revisions_on_topic(bootstrap: str, topic: str, alert_id: str) -> list[Alert]:
    """Distinct revisions of one alert on the alerts topic, oldest first (keyed by alert id)."""
    from agents.kafka.reader import read_records
    from streams.wire.codecs import decode_alert

    key = alert_id.encode()
    return alert_revisions(
        (
            decode_alert(r.value)
            for r in read_records(bootstrap, topic)
            if r.key == key and r.value is not None
        ),
        alert_id,
    )


def forensic_report(
    alert: Alert,
    records: Iterable[RawRecord],
    partitions: int,
    detector: Any,
    margin_s: float,
    known_revisions: list[Alert],
) -> str:
    """Replay the alert's range from ``records`` and render its forensic report."""
    from agents.tools.replay import replay_records
    from streams.records import DeadLetter
    from streams.timeparse import format_timestamp
    from streams.wire.codecs import decode_requests

    span = alert.evidence.get("time_span") or {}
    first = span.get("first", alert.ts)
    start, end = first - margin_s, alert.ts
    raws = list(records)
    decoded = decode_requests(raws)
    chosen = [
        raw
        for raw, event in zip(raws, decoded, strict=True)
        if not isinstance(event, DeadLetter) and start <= event.ts <= end
    ]
    events = [e for e in decoded if not isinstance(e, DeadLetter) and start <= e.ts <= end]
    result = replay_records(chosen, partitions, detector)
    revisions = alert_revisions(result.alerts, alert.alert_id)
    provenance = (
        f"Replay of {len(chosen)} requests with event time {format_timestamp(start)[:19]} to "
        f"{format_timestamp(end)[:19]} ({result.summary['alert_records']} alert records)"
    )
    if revisions:
        provenance += f" reproduced revisions 1..{revisions[-1].revision} of this alert."
        latest = revisions[-1]
    else:
        provenance += (
            " did not reproduce this alert; the revisions shown were read from the alerts "
            "topic. Widen --margin-s to replay more history."
        )
        revisions, latest = known_revisions, alert
    # The detector that replayed the range names each request's template as it did then.
    members = member_activity(latest, events, lambda event: detector.extract(event).template_id)
    return render_forensic_html(latest, revisions, members, provenance)
