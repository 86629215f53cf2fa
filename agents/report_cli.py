"""``distillwatch report --alert ID``: the forensic HTML report of one alert, from a replay.

The alert's latest revision comes from the alerts topic (or an alerts JSONL file); its
activity span says which requests matter.  The requests of that event-time range, widened by
``--margin-s`` before the first activity (default: the account TTL, beyond which the detector
keeps no state that could change the finding), are replayed through the detection core in
the service's canonical order (``agents.replay``).  Alert ids are derived from the finding,
so the replay names the same alert: its revisions and the members' requests make the report.
When the replay does not reproduce the alert (the range was trimmed too far), the report says
so and shows the revisions read from the topic.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from streams.records import Alert, RawRecord


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--alert", required=True, help="alert id")
    alerts = parser.add_mutually_exclusive_group()
    alerts.add_argument("--alerts-topic", help="alerts topic (default: the configured one)")
    alerts.add_argument("--alerts-file", type=Path, help="alerts JSONL instead of the topic")
    requests = parser.add_mutually_exclusive_group()
    requests.add_argument("--requests-topic", help="requests topic (default: the configured one)")
    requests.add_argument("--input", type=Path, help="request events JSONL instead of the topic")
    parser.add_argument(
        "--margin-s", type=float, help="replay this long before the first activity (default: TTL)"
    )
    parser.add_argument("--output", type=Path, help="HTML path (default reports/alert-<id>.html)")


def alert_revisions(alerts: Iterable[Alert], alert_id: str) -> list[Alert]:
    """Distinct revisions of one alert, oldest first (the topic may repeat a revision)."""
    by_revision = {a.revision: a for a in alerts if a.alert_id == alert_id}
    return [by_revision[r] for r in sorted(by_revision)]


def alert_revisions_on_topic(bootstrap: str, topic: str, alert_id: str) -> list[Alert]:
    """Distinct revisions of one alert on the alerts topic, oldest first (keyed by alert id)."""
    from agents.topic_reader import read_records
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
    from agents.replay import replay_records
    from agents.report import member_activity, render_forensic_html
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


def run(args: argparse.Namespace) -> int:
    from agents.replay import read_jsonl, read_topic, requests_partitions
    from agents.settings import REPO_ROOT, get_settings
    from streams.detector import Detector
    from streams.errors import CodecError
    from streams.wire.codecs import decode_alert

    settings = get_settings()
    bootstrap = settings.bootstrap_servers
    try:
        if args.alerts_file is not None:
            with args.alerts_file.open("rb") as handle:
                known = alert_revisions(
                    (decode_alert(line) for line in handle if line.strip()), args.alert
                )
        else:
            topic = args.alerts_topic or settings.topics.alerts
            known = alert_revisions_on_topic(bootstrap, topic, args.alert)
    except (OSError, CodecError) as exc:
        sys.stderr.write(f"report: cannot read the alerts: {exc}\n")
        return 2
    if not known:
        sys.stderr.write(f"report: no alert {args.alert!r} found\n")
        return 2
    alert = known[-1]
    if args.input is not None:
        if not args.input.is_file():
            sys.stderr.write(f"report: no such file: {args.input}\n")
            return 2
        records: Iterable[RawRecord] = read_jsonl(args.input)
        partitions = requests_partitions(settings)  # where the service would have put them
    else:
        topic = args.requests_topic or settings.topics.requests
        records = list(read_topic(bootstrap, topic, None, None, progress=False))
        partitions = 1 + max((r.partition for r in records), default=0)  # records carry theirs
    detector = Detector(settings.detector)
    margin = args.margin_s if args.margin_s is not None else settings.detector.account_ttl_s
    html = forensic_report(alert, records, partitions, detector, margin, known)
    path = args.output or REPO_ROOT / "reports" / f"alert-{args.alert}.html"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(html)
    sys.stdout.write(f"{path}\n")
    return 0
