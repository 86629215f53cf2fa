"""``distillwatch report --alert ID``: the forensic HTML report of one alert, from a replay.

The alert's latest revision comes from the alerts topic (or an alerts JSONL file); its
activity span says which requests matter.  The requests of that event-time range, widened by
``--margin-s`` before the first activity (default: the account TTL, beyond which the detector
keeps no state that could change the finding), are replayed through the detection core in
the service's canonical order (``agents.tools.replay``).  Alert ids are derived from the finding,
so the replay names the same alert: its revisions and the members' requests make the report.
When the replay does not reproduce the alert (the range was trimmed too far), the report says
so and shows the revisions read from the topic.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from streams.records import RawRecord


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


def kafka_servers(args: argparse.Namespace, settings: Any) -> str | None:
    """The alerts or the requests come from a topic unless both come from files."""
    return None if args.alerts_file and args.input else settings.bootstrap_servers


def run(args: argparse.Namespace) -> int:
    from agents.settings import REPO_ROOT, get_settings
    from agents.tools.replay import read_jsonl, read_topic, requests_partitions
    from agents.tools.report import alert_revisions, alert_revisions_on_topic, forensic_report
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
        sys.stderr.write(f"distillwatch report: cannot read the alerts: {exc}\n")
        return 2
    if not known:
        sys.stderr.write(f"distillwatch report: no alert {args.alert!r} found\n")
        return 2
    alert = known[-1]
    if args.input is not None:
        if not args.input.is_file():
            sys.stderr.write(f"distillwatch report: no such file: {args.input}\n")
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
