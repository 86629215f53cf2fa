"""``distillwatch worker``: run the stream service (a Faust worker) until stopped.

Start as many workers with one ``--app-id`` as the requests topic has partitions: they share
the partitions as one consumer group.  Each serves Prometheus metrics at ``/metrics`` and a
health document at ``/health`` on ``--web-host``:``--web-port`` (127.0.0.1 by default).
"""

from __future__ import annotations

import argparse
from typing import Any


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--loglevel", default="info", help="critical|error|warning|info|debug (default: info)"
    )
    parser.add_argument("--web-port", type=int, help="HTTP port of metrics and health")
    parser.add_argument("--web-host", help="address the HTTP server binds (default 127.0.0.1)")
    parser.add_argument("--app-id", help="consumer group / app id (default from settings)")


def kafka_servers(args: argparse.Namespace, settings: Any) -> str | None:
    """The worker's own broker."""
    return settings.bootstrap_servers


def run(args: argparse.Namespace) -> int:
    import faust

    from agents.service.app import create_service
    from agents.settings import get_settings

    settings = get_settings()
    overrides = {
        name: value
        for name, value in (
            ("web_port", args.web_port),
            ("web_host", args.web_host),
            ("app_id", args.app_id),
        )
        if value is not None
    }
    service_settings = settings.service.model_copy(update=overrides)
    # a missing topic raises here; the command line reports it in one line
    service = create_service(settings, service_settings, settings.detector)
    worker = faust.Worker(service.app, loglevel=args.loglevel, quiet=True)
    worker.execute_from_commandline()
    return 0
