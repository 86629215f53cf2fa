"""``distillwatch demo``: the whole product on the local broker, in one terminal.

Starts a worker, streams a seeded scenario to the requests topic, shows the alerts live,
scores them and writes an HTML report (``agents.tools.demo``).  ``make demo`` runs it against
a fresh broker of its own.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--scenario", default="small", help="simulation scenario (default small)")
    parser.add_argument("--seed", type=int, default=1, help="simulation seed (default 1)")
    parser.add_argument("--rate", type=float, default=600.0, help="events/s streamed (default 600)")
    parser.add_argument("--web-port", type=int, default=6067, help="the worker's HTTP port")
    parser.add_argument(
        "--settle", type=float, default=20.0, help="seconds without new alerts before stopping"
    )
    parser.add_argument("--report", type=Path, help="HTML report path (default reports/...)")


def kafka_servers(args: argparse.Namespace, settings: Any) -> str | None:
    """The demo's worker and producer run on the configured broker."""
    return settings.bootstrap_servers


def run(args: argparse.Namespace) -> int:
    from agents.tools.demo import run_demo

    return run_demo(args.scenario, args.seed, args.rate, args.web_port, args.settle, args.report)
