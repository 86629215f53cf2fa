"""``distillwatch evaluate``: detection quality of the core on labelled traffic.

Replays the events blind and scores the alerts against the labels
(``agents.tools.evaluate``).  The result is one JSON object on stdout, so figures in the
README can be re-run by anyone.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--events", type=Path, required=True, help="request events JSONL (.gz ok)")
    parser.add_argument("--labels", type=Path, required=True, help="labels.json of the simulation")
    parser.add_argument("--alerts", type=Path, help="also write the replayed alerts as JSONL")
    parser.add_argument(
        "--suppressions",
        type=Path,
        help="suppression records (JSONL, as on the suppressions topic) the detector honours",
    )


def kafka_servers(args: argparse.Namespace, settings: Any) -> str | None:
    """Evaluation replays files only."""
    return None


def run(args: argparse.Namespace) -> int:
    import orjson

    from agents.settings import get_settings
    from agents.tools.evaluate import evaluate_file

    report = evaluate_file(args.events, args.labels, get_settings(), args.alerts, args.suppressions)
    sys.stdout.write(orjson.dumps(report, option=orjson.OPT_INDENT_2).decode() + "\n")
    return 0
