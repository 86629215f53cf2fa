"""``distillwatch alerts tail``: follow (or read back) the alerts topic in a SOC's format.

Formats: ``json`` (the alert v1 record as on the topic), ``ocsf`` (one OCSF Detection
Finding per alert revision, ``streams.soc.ocsf``; what Splunk, Elastic and Sentinel ingest) and
``table`` (one aligned line per revision for a person).  One JSON document per line, so the
output pipes into a forwarder (``| splunk add oneshot``, Filebeat, the Azure Monitor agent).
A record on the topic that is not a valid alert is reported on stderr with its position,
never dropped silently.
"""

from __future__ import annotations

import argparse
import sys
from typing import IO, Any

from agents.tools.alerts import FORMATS, KINDS, SEVERITIES, keep, render, table_header


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="alerts_command", required=True, metavar="ACTION")
    tail = sub.add_parser("tail", help="print alerts from the alerts topic as they arrive")
    tail.add_argument("--kind", choices=KINDS, action="append", help="only these kinds")
    tail.add_argument("--min-severity", choices=SEVERITIES, default="low")
    tail.add_argument(
        "--since",
        help="ISO-8601 broker time to read back from (default: only new alerts, or the "
        "whole topic with --no-follow)",
    )
    tail.add_argument("--format", choices=FORMATS, default="json")
    tail.add_argument(
        "--no-follow", action="store_true", help="stop at the end of the topic instead of waiting"
    )
    tail.add_argument("--topic", help="alerts topic (default: the configured one)")
    tail.add_argument("--max", type=int, help="stop after printing this many alerts")


def kafka_servers(args: argparse.Namespace, settings: Any) -> str | None:
    """Every action reads the alerts topic."""
    return settings.bootstrap_servers


def run(args: argparse.Namespace, out: IO[bytes] | None = None) -> int:
    from importlib.metadata import PackageNotFoundError, version

    from agents.kafka.reader import read_records
    from agents.settings import get_settings
    from streams.errors import CodecError
    from streams.timeparse import parse_timestamp
    from streams.wire.codecs import decode_alert

    settings = get_settings()
    out = out or sys.stdout.buffer
    try:
        since = parse_timestamp(args.since) if args.since else None
    except ValueError as exc:
        sys.stderr.write(f"distillwatch alerts tail: --since: {exc}\n")
        return 2
    try:
        product_version = version("distillwatch")
    except PackageNotFoundError:
        product_version = ""
    topic = args.topic or settings.topics.alerts
    kinds = set(args.kind) if args.kind else None
    if args.format == "table":
        out.write(table_header().encode() + b"\n")
    printed = 0
    try:
        for record in read_records(
            settings.bootstrap_servers, topic, since=since, follow=not args.no_follow
        ):
            if record.value is None:
                continue  # alerts are never retracted; a null value carries nothing to show
            try:
                alert = decode_alert(record.value)
            except CodecError as exc:
                sys.stderr.write(
                    f"alerts tail: {topic}[{record.partition}]@{record.offset} is not an alert: "
                    f"{exc.reason}: {exc.detail}\n"
                )
                continue
            if not keep(alert, kinds, args.min_severity):
                continue
            out.write(render(alert, args.format, product_version) + b"\n")
            out.flush()
            printed += 1
            if args.max is not None and printed >= args.max:
                break
    except KeyboardInterrupt:
        pass
    return 0
