"""``distillwatch topics``: make the broker's topics match infra/topics.toml (idempotent).

The planning and applying is ``agents.kafka.topics``; this module parses the arguments and
prints what changed.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from agents.kafka.topics import load_topics, reconcile


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--file", type=Path, help="declarations to apply (default: settings.topics_file)"
    )
    parser.add_argument(
        "--bootstrap-servers", help="Kafka to apply them to (default: settings.bootstrap_servers)"
    )
    parser.add_argument("--dry-run", action="store_true", help="report the changes, apply none")
    parser.add_argument("--json", action="store_true", help="print one JSON summary instead")
    parser.add_argument(
        "--timeout", type=float, default=30.0, help="seconds to wait for the broker (default 30)"
    )


def kafka_servers(args: argparse.Namespace, settings: Any) -> str | None:
    """The broker to apply the declarations to (checked within ``--timeout``)."""
    return args.bootstrap_servers or settings.bootstrap_servers


def run(args: argparse.Namespace) -> int:
    from agents.settings import get_settings

    settings = get_settings()
    path = args.file or settings.topics_file
    bootstrap = args.bootstrap_servers or settings.bootstrap_servers
    # a malformed file or a broker failure raises; the command line reports it in one line
    specs = load_topics(path)
    changes, unchanged = reconcile(bootstrap, specs, args.timeout, dry_run=args.dry_run)
    errors = [change for change in changes if change.action == "error"]
    if args.json:
        summary = {
            "file": str(path),
            "bootstrap_servers": bootstrap,
            "dry_run": args.dry_run,
            "changes": [change.as_dict() for change in changes if change.action != "error"],
            "errors": [change.as_dict() for change in errors],
            "unchanged": unchanged,
        }
        print(json.dumps(summary, indent=2))
    else:
        prefix = "would " if args.dry_run else ""
        for change in changes:
            stream = sys.stderr if change.action == "error" else sys.stdout
            print(("" if change.action == "error" else prefix) + change.describe(), file=stream)
        created = sum(change.action == "create" for change in changes)
        altered = len(changes) - created - len(errors)
        print(
            f"topics: {len(specs)} declared in {path}: {created} {prefix}created, "
            f"{altered} {prefix}changed, {len(unchanged)} unchanged, {len(errors)} errors"
        )
    return 1 if errors else 0
