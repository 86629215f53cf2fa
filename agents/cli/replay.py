"""``distillwatch replay``: run the detector over a file or a topic range (``agents.tools.replay``).

Sources: a JSONL file (optionally gzip) of request events, or a Kafka topic between two
instants.  Sinks: an alerts JSONL file (default stdout), or an alerts topic.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from streams.records import RawRecord


def add_arguments(parser: argparse.ArgumentParser) -> None:
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--input", type=Path, help="request events JSONL (.gz ok)")
    source.add_argument("--topic", help="request events topic to replay")
    parser.add_argument("--since", help="with --topic: ISO-8601 start (inclusive)")
    parser.add_argument("--until", help="with --topic: ISO-8601 end (exclusive)")
    sink = parser.add_mutually_exclusive_group()
    sink.add_argument("--output", type=Path, help="alerts JSONL to write (default: stdout)")
    sink.add_argument("--output-topic", help="alerts topic to produce to (keyed by alert_id)")
    parser.add_argument("--actions", type=Path, help="also write recommended actions as JSONL")
    parser.add_argument("--dead-letters", type=Path, help="also write refused records as JSONL")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def kafka_servers(args: argparse.Namespace, settings: Any) -> str | None:
    """A topic to read, or a topic to produce the alerts to."""
    return settings.bootstrap_servers if args.topic or args.output_topic else None


def run(args: argparse.Namespace) -> int:
    import orjson

    from agents.settings import get_settings
    from agents.tools.replay import (
        produce_alerts,
        read_jsonl,
        read_topic,
        replay_records,
        requests_partitions,
        write_jsonl,
    )
    from streams.detector import Detector
    from streams.timeparse import parse_timestamp

    settings = get_settings()
    if args.input is not None:
        if not args.input.is_file():
            sys.stderr.write(f"distillwatch replay: no such file: {args.input}\n")
            return 2
        if args.since or args.until:
            sys.stderr.write("distillwatch replay: --since/--until apply to --topic only\n")
            return 2
        records: Iterable[RawRecord] = read_jsonl(args.input)
    else:
        since = parse_timestamp(args.since) if args.since else None
        until = parse_timestamp(args.until) if args.until else None
        records = read_topic(settings.bootstrap_servers, args.topic, since, until, not args.quiet)
    # the service's detector settings: a replay must judge the records as live did
    result = replay_records(records, requests_partitions(settings), Detector(settings.detector))
    with ExitStack() as stack:
        if args.output_topic:
            produce_alerts(settings.bootstrap_servers, args.output_topic, result.alerts)
        else:
            write_jsonl(args.output, result.alerts, stack)
        if args.actions:
            write_jsonl(args.actions, result.actions, stack)
        if args.dead_letters:
            write_jsonl(args.dead_letters, result.dead_letters, stack)
    sys.stderr.write(orjson.dumps(result.summary).decode() + "\n")
    return 0
