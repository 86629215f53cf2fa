"""Every command, run as a new user would: a broker that is not there, refused credentials, a
missing topic, a file that cannot be read.  Each ends in one line on stderr naming what failed,
no traceback, a non-zero exit status of its kind, and in bounded time (librdkafka on its own
retries an absent broker forever)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from agents import cli

BOUND_S = 30.0
"""A command that gets no broker must have given up well within this (it takes about 1 s)."""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _run(argv: list[str], **env: str) -> tuple[int, str, float]:
    began = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "agents.cli", *argv],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return done.returncode, done.stderr, time.monotonic() - began


def _one_line(stderr: str) -> str:
    assert "Traceback" not in stderr, stderr
    lines = stderr.splitlines()
    assert len(lines) == 1, stderr
    return lines[0]


# every command that talks to a broker, with arguments that make it do so
KAFKA_COMMANDS: list[tuple[str, list[str]]] = [
    ("topics", ["topics"]),
    ("worker", ["worker"]),
    ("demo", ["demo"]),
    (
        "simulate",
        ["simulate", "--out", "{tmp}", "--scenario", "small", "--hours", "0.01", "--kafka"],
    ),
    ("replay", ["replay", "--topic", "distillwatch.requests.v1"]),
    ("replay", ["replay", "--input", "{tmp}/events.jsonl", "--output-topic", "alerts"]),
    ("alerts tail", ["alerts", "tail", "--no-follow"]),
    ("signatures learn", ["signatures", "learn", "--alert", "clu-1"]),
    ("signatures export", ["signatures", "export", "--format", "stix"]),
    ("signatures import", ["signatures", "import", "{tmp}/bundle.json", "--dry-run"]),
    ("report", ["report", "--alert", "clu-1"]),
]


def test_the_list_covers_every_command_that_talks_to_kafka():
    covered = {name.split()[0] for name, _ in KAFKA_COMMANDS}
    assert covered == set(cli.COMMANDS) - {"evaluate"}  # evaluate replays files only


@pytest.mark.parametrize(
    ("name", "argv"), KAFKA_COMMANDS, ids=[" ".join(a) for _, a in KAFKA_COMMANDS]
)
def test_no_broker_listening_is_one_line_and_exit_3(name, argv, tmp_path):
    port = _free_port()
    argv = [part.replace("{tmp}", str(tmp_path)) for part in argv]
    code, stderr, elapsed = _run(argv, DISTILLWATCH_BOOTSTRAP_SERVERS=f"127.0.0.1:{port}")
    line = _one_line(stderr)
    assert line.startswith(
        f"distillwatch {name}: cannot reach Kafka at 127.0.0.1:{port} (PLAINTEXT): "
    ), line
    assert "Connection refused" in line
    assert code == cli.EXIT_KAFKA
    assert elapsed < BOUND_S


@pytest.mark.kafka
@pytest.mark.parametrize(
    "argv", [["alerts", "tail", "--no-follow"], ["signatures", "export", "--format", "stix"]]
)
def test_a_wrong_password_is_one_line_with_the_brokers_reason(kafka_bootstrap, argv):
    host, port = kafka_bootstrap.split(",")[0].rsplit(":", 1)
    sasl_port = os.environ.get("DISTILLWATCH_KAFKA_SASL_PORT", str(int(port) + 2))
    code, stderr, elapsed = _run(
        argv,
        DISTILLWATCH_BOOTSTRAP_SERVERS=f"{host}:{sasl_port}",
        DISTILLWATCH_KAFKA__SECURITY_PROTOCOL="SASL_PLAINTEXT",
        DISTILLWATCH_KAFKA__SASL_USERNAME="distillwatch",
        DISTILLWATCH_KAFKA__SASL_PASSWORD="not-the-password",
    )
    line = _one_line(stderr)
    assert line.startswith(
        f"distillwatch {' '.join(argv[:2])}: Kafka at {host}:{sasl_port} refused the connection "
        "(SASL_PLAINTEXT SCRAM-SHA-512 as 'distillwatch'): "
    ), line
    assert "invalid credentials with SASL mechanism SCRAM-SHA-512" in line
    assert "not-the-password" not in line
    assert code == cli.EXIT_KAFKA
    assert elapsed < BOUND_S


@pytest.mark.kafka
@pytest.mark.parametrize(
    ("name", "argv"),
    [
        ("alerts tail", ["alerts", "tail", "--no-follow", "--topic", "{missing}"]),
        ("replay", ["replay", "--topic", "{missing}"]),
        ("report", ["report", "--alert", "clu-1", "--alerts-topic", "{missing}"]),
    ],
)
def test_a_missing_topic_is_one_line_and_exit_1(kafka_bootstrap, run_id, name, argv):
    missing = f"test-missing-{run_id}"
    code, stderr, _ = _run([part.replace("{missing}", missing) for part in argv])
    assert _one_line(stderr) == (
        f"distillwatch {name}: topic {missing!r} does not exist on {kafka_bootstrap}"
    )
    assert code == cli.EXIT_FAILED


def test_files_that_cannot_be_read_are_one_line_and_exit_2(tmp_path: Path):
    missing = tmp_path / "missing.jsonl"
    labels = tmp_path / "labels.json"
    labels.write_text("not json")
    a_file = tmp_path / "a-file"
    a_file.write_text("")
    cases = [
        (
            ["evaluate", "--events", str(missing), "--labels", str(tmp_path)],
            f"{tmp_path}: Is a directory",
        ),
        (
            ["evaluate", "--events", str(missing), "--labels", str(labels)],
            f"{labels}: not a labels.json: ",
        ),
        (["replay", "--input", str(tmp_path)], f"no such file: {tmp_path}"),
        (
            ["report", "--alert", "x", "--alerts-file", str(missing), "--input", str(missing)],
            "cannot read the alerts: ",
        ),
        (["simulate", "--out", str(a_file / "out"), "--hours", "0.01"], f"{a_file / 'out'}: "),
    ]
    for argv, expected in cases:
        code, stderr, _ = _run(argv)
        line = _one_line(stderr)
        assert line.startswith(f"distillwatch {argv[0]}: "), line
        assert expected in line, line
        assert code == cli.EXIT_INPUT, line
