"""The ``distillwatch`` command line.

Each subcommand lives in its own module exposing ``add_arguments(parser)``,
``kafka_servers(args, settings)`` (the bootstrap servers the command will talk to with these
arguments, or None when it touches no broker) and ``run(args) -> int``.  Those modules keep
heavy imports (Faust, confluent-kafka, numpy) inside functions so building the parser stays
cheap and a tool never pays for Faust's import.

Every expected failure ends in one line on stderr, ``distillwatch <command>: <reason>``, and an
exit status that says which kind it was (``EXIT_*`` below, documented in the README's CLI
section).  Before a command that talks to Kafka runs, one bounded metadata request checks the
broker (``agents.kafka.clients.check_connection``), so an unreachable broker or refused
credentials end the command at once instead of librdkafka retrying forever.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from typing import Any

from streams.errors import DistillWatchError, KafkaConnectionError

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

EXIT_FAILED = 1
"""The command ran and failed: a missing topic, undelivered records, a worker that did not
start, a broker that refused a request."""
EXIT_INPUT = 2
"""Bad usage or input: arguments (argparse's own code), settings, a file that cannot be read
or is malformed, an alert that does not exist, a refused bundle."""
EXIT_KAFKA = 3
"""Kafka cannot be reached, or refused this client's credentials or TLS."""
EXIT_INTERRUPTED = 130
"""Stopped by Ctrl-C (SIGINT), as shells report it."""

CONNECT_TIMEOUT_S = 10.0
"""How long the connection check waits for a broker that accepts connections but does not
answer (a refused connection or login ends it at once); ``topics --timeout`` overrides it."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="distillwatch", description="Detect adversarial distillation on LLM API traffic."
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (module_name, help_text) in COMMANDS.items():
        module = importlib.import_module(module_name)
        module.add_arguments(sub.add_parser(name, help=help_text, description=help_text))
    return parser


def exit_code(error: BaseException) -> int:
    """The exit status of an expected failure.  ``streams.errors`` keeps ``ValueError`` as the
    base of every error about what was given (settings, files, records, timestamps) and
    ``RuntimeError`` for failures while running, which is the split made here."""
    if isinstance(error, KafkaConnectionError):
        return EXIT_KAFKA
    if isinstance(error, ValueError) or (
        isinstance(error, OSError) and not isinstance(error, TimeoutError)
    ):
        return EXIT_INPUT
    return EXIT_FAILED


def _settings() -> Any:
    """This process's settings; invalid ones are an input error naming the variable, never
    their value (a password may be among them)."""
    from pydantic import ValidationError

    from agents.settings import get_settings
    from streams.errors import ConfigError

    try:
        return get_settings()
    except ValidationError as invalid:
        problems = "; ".join(
            f"DISTILLWATCH_{'__'.join(str(part) for part in e['loc']).upper()}: {e['msg']}"
            for e in invalid.errors(include_input=False, include_url=False)
        )
        raise ConfigError(f"invalid settings: {problems}") from None


def _describe(error: BaseException) -> str:
    if isinstance(error, OSError) and error.filename is not None:
        return f"{error.filename}: {error.strerror}"
    return str(error)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    module = importlib.import_module(COMMANDS[args.command][0])
    action = getattr(args, f"{args.command}_command", None)
    name = f"{args.command} {action}" if action else args.command
    bootstrap = None
    try:
        settings = _settings()
        bootstrap = module.kafka_servers(args, settings)
        if bootstrap is not None:
            from agents.kafka.clients import check_connection

            timeout = getattr(args, "timeout", None) or CONNECT_TIMEOUT_S
            check_connection(bootstrap, settings.kafka, timeout)
        return int(module.run(args) or 0)
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except Exception as error:  # sorted by _expected: only expected ones become one line
        failure = _expected(error, bootstrap)
        if failure is None:
            raise
        print(f"distillwatch {name}: {_describe(failure)}", file=sys.stderr)
        return exit_code(failure)


def _expected(error: Exception, bootstrap: str | None) -> BaseException | None:
    """``error`` as the failure to report, or None for a programming error (a traceback)."""
    if isinstance(error, (DistillWatchError, OSError)):
        return error
    from confluent_kafka import KafkaException

    if isinstance(error, KafkaException):
        from agents.kafka.clients import kafka_failure
        from agents.settings import get_settings

        return kafka_failure(bootstrap or get_settings().bootstrap_servers, error)
    return None


if __name__ == "__main__":
    sys.exit(main())
