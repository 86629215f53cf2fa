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

import math
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from streams.records import Alert, RawRecord, RequestEvent
from streams.simulation.evaluation import HEADLINE_KEYS
from streams.soc.views import (
    MISSING,
    STYLE,
    display,
    esc,
    evidence_html,
    label,
    members_list,
    number,
    revisions_table,
    severity,
    similarity_svg,
    summary_line,
    table,
    timeline_svg,
    timestamp,
)


def latest_revisions(alerts: Iterable[Alert]) -> tuple[list[Alert], dict[str, list[Alert]]]:
    """Each finding's newest revision (highest score first), plus every finding's revisions."""
    history: dict[str, list[Alert]] = {}
    for alert in alerts:
        history.setdefault(alert.alert_id, []).append(alert)
    for revisions in history.values():
        revisions.sort(key=lambda a: (a.revision, a.ts))
    latest = sorted((revs[-1] for revs in history.values()), key=lambda a: (-a.score, a.alert_id))
    return latest, history


def _finding(alert: Alert, revisions: list[Alert]) -> str:
    return (
        f"<h2 id='{esc(alert.alert_id)}'>{esc(label(alert.kind))} "
        f"<code>{esc(alert.alert_id)}</code></h2>{summary_line(alert)}"
        f"<h4>Timeline</h4>{revisions_table(revisions)}{evidence_html(alert)}"
        f"<h4>Members ({len(alert.accounts):,})</h4>{members_list(alert.accounts)}"
    )


def _evaluation(evaluation: Mapping[str, Any]) -> str:
    """The headline figures, then each campaign's recall and the suppressed accounts."""
    rows = [
        (esc(label(k)), display(evaluation.get(k), k))
        for k in HEADLINE_KEYS
        if k != "campaign_recall"
    ]
    rows += [
        (f"recall of campaign {esc(c)}", display(r, "recall"))
        for c, r in sorted((evaluation.get("campaign_recall") or {}).items())
    ]
    if suppressed := (evaluation.get("suppressed") or {}).get("accounts"):
        rows.append(("accounts suppressed by analysts", esc(number(suppressed))))
    return "<h2>Evaluation against ground truth</h2>" + table(("metric", "value"), rows)


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
        sections.append(_evaluation(evaluation))
    summary = (
        (
            f"<a href='#{esc(a.alert_id)}'><code>{esc(a.alert_id)}</code></a>",
            esc(label(a.kind)),
            severity(a),
            f"{a.score:.2f}",
            f"{len(a.accounts):,}",
            a.revision,
            esc(timestamp(a.ts)),
            f"<a href='{esc(links[a.alert_id])}'>forensic report</a>"
            if a.alert_id in links
            else MISSING,
        )
        for a in latest
    )
    sections.append(
        f"<h2>Findings ({len(latest):,})</h2>"
        + table(
            (
                "alert",
                "kind",
                "severity",
                "score",
                "accounts",
                "revisions",
                "last revision",
                "forensics",
            ),
            summary,
        )
    )
    sections.extend(_finding(alert, history[alert.alert_id]) for alert in latest)
    return (
        "<!doctype html><html><head><meta charset=utf-8>"
        f"<title>DistillWatch report {esc(title)}</title><style>{STYLE}</style></head><body>"
        f"<h1>DistillWatch report {esc(title)}</h1>{''.join(sections)}</body></html>"
    )


# -- forensic report of one alert ---------------------------------------------------------------


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
            f"<code>{esc(m.account_id)}</code>",
            esc(m.org_id) or MISSING,
            f"{m.requests:,}",
            esc(timestamp(m.first_ts)) if m.requests else MISSING,
            esc(timestamp(m.last_ts)) if m.requests else MISSING,
            len(m.values.get("template", {})),
            len(m.values.get("asn", {})),
            len(m.values.get("ip_prefix", {})),
            esc(m.values["user_agent"].most_common(1)[0][0])
            if "user_agent" in m.values
            else MISSING,
        )
        for m in ordered
    )
    overlap_header = ("value", "members", "requests")
    sections = [
        f"<p>{esc(provenance)}</p>",
        summary_line(alert),
        "<h2>Timeline</h2>",
        timeline_svg([(m.account_id, m.times) for m in ordered], revisions),
        revisions_table(revisions),
        f"<h2>Members ({len(ordered):,})</h2>",
        table(
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
        table(
            ("template", "members", "requests"),
            ((f"<code>{esc(v)}</code>", n, f"{r:,}") for v, n, r in _overlap(members, "template")),
        ),
        "<h2>Infrastructure overlap</h2>",
    ]
    for kind in ("user_agent", "asn", "ip_prefix", "payment_fingerprint"):
        rows = _overlap(members, kind)
        if rows:
            sections.append(
                f"<h4>{esc(label(kind))}</h4>"
                + table(
                    overlap_header, ((f"<code>{esc(v)}</code>", n, f"{r:,}") for v, n, r in rows)
                )
            )
    sections += ["<h2>Similarity graph</h2>", similarity_svg(alert), "<h2>Evidence</h2>"]
    sections.append(evidence_html(alert))
    title = f"{label(alert.kind)} {alert.alert_id}"
    return (
        "<!doctype html><html><head><meta charset=utf-8>"
        f"<title>DistillWatch forensic report {esc(title)}</title><style>{STYLE}</style>"
        f"</head><body><h1>Forensic report: {esc(title)}</h1>{''.join(sections)}</body></html>"
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
        f"Replay of {len(chosen):,} requests with event time {timestamp(start)} to "
        f"{timestamp(end)} ({result.summary['alert_records']:,} alert records)"
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
