"""The ``distillwatch`` command line.

Each subcommand lives in its own module exposing ``add_arguments(parser)`` and
``run(args) -> int``.  Those modules keep heavy imports (Faust, confluent-kafka,
numpy) inside ``run`` so building the parser stays cheap and a tool never pays
for Faust's import.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from streams.errors import DistillWatchError

# subcommand -> (module, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "topics": ("agents.cli.topics", "apply infra/topics.toml to the broker (idempotent)"),
    "simulate": ("agents.cli.simulate", "generate seeded labelled traffic to files or Kafka"),
    "replay": ("agents.cli.replay", "run the detector over a file or a topic range"),
    "evaluate": ("agents.cli.evaluate", "replay labelled traffic and score the alerts"),
    "worker": ("agents.cli.worker", "run the stream service (a Faust worker)"),
    "demo": ("agents.cli.demo", "stream a scenario through a worker and show its alerts live"),
    "alerts": ("agents.cli.alerts", "follow the alerts topic as JSON, OCSF or a table"),
    "signatures": ("agents.cli.signatures", "learn, export and import signatures (STIX 2.1)"),
    "report": ("agents.cli.report", "write the forensic HTML report of one alert"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="distillwatch", description="Detect adversarial distillation on LLM API traffic."
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (module_name, help_text) in COMMANDS.items():
        module = importlib.import_module(module_name)
        module.add_arguments(sub.add_parser(name, help=help_text, description=help_text))
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    module = importlib.import_module(COMMANDS[args.command][0])
    try:
        return int(module.run(args) or 0)
    except DistillWatchError as error:
        # An expected failure (a missing topic, a malformed file): one line, exit status 1.
        raise SystemExit(f"distillwatch {args.command}: {error}") from None


if __name__ == "__main__":
    sys.exit(main())
