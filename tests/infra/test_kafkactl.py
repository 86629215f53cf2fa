"""infra/kafka/kafkactl's safety checks, exercised without starting a JVM.

Each test points kafkactl at its own state directory and free ports, so the broker that
`make test` runs is never touched.
"""

from __future__ import annotations

import os
import socket
import subprocess
from pathlib import Path

import pytest

from agents.settings import REPO_ROOT

KAFKACTL = REPO_ROOT / "infra" / "kafka" / "kafkactl"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def kafkactl(tmp_path: Path):
    """Runs kafkactl with the system python3 (as developers do) on an isolated state directory."""
    env = {
        **os.environ,
        "DISTILLWATCH_KAFKA_VAR": str(tmp_path / "kafka"),
        "DISTILLWATCH_KAFKA_PORT": str(free_port()),
        "DISTILLWATCH_KAFKA_CONTROLLER_PORT": str(free_port()),
        "DISTILLWATCH_KAFKA_SASL_PORT": str(free_port()),
        "DISTILLWATCH_KAFKA_SSL_PORT": str(free_port()),
    }

    def run(*args: str, **overrides: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(KAFKACTL), *args],
            env={**env, **overrides},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    run.var = tmp_path / "kafka"
    return run


def test_status_and_stop_of_a_broker_never_started(kafkactl):
    status = kafkactl("status")
    assert (status.returncode, status.stdout.strip()) == (3, "kafkactl: stopped")
    stop = kafkactl("stop")
    assert (stop.returncode, stop.stdout.strip()) == (0, "kafkactl: not running")


def test_a_reused_pid_is_never_signalled(kafkactl):
    """A stale PID file naming some other live process must not get that process killed."""
    bystander = subprocess.Popen(["sleep", "60"])
    try:
        kafkactl.var.mkdir(parents=True)
        (kafkactl.var / "kafka.pid").write_text(f"{bystander.pid}\n")

        assert kafkactl("status").returncode == 3
        stop = kafkactl("stop")

        assert stop.returncode == 0
        assert "stale PID file" in stop.stdout
        assert not (kafkactl.var / "kafka.pid").exists()
        assert bystander.poll() is None
    finally:
        bystander.kill()
        bystander.wait()


def test_start_on_a_busy_port_says_so_and_starts_nothing(kafkactl):
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]

        start = kafkactl("start", DISTILLWATCH_KAFKA_PORT=str(port))

    assert start.returncode == 1
    assert f"client port 127.0.0.1:{port} is already in use by another process" in start.stderr
    assert not (kafkactl.var / "kafka.pid").exists()


@pytest.mark.parametrize("value", ["http", "0", "70000"])
def test_bad_port_settings_are_explained(kafkactl, value):
    result = kafkactl("status", DISTILLWATCH_KAFKA_PORT=value)
    assert result.returncode == 1
    assert f"DISTILLWATCH_KAFKA_PORT={value!r} is not a TCP port" in result.stderr


def test_client_and_controller_ports_must_differ(kafkactl):
    result = kafkactl(
        "status", DISTILLWATCH_KAFKA_PORT="19500", DISTILLWATCH_KAFKA_CONTROLLER_PORT="19500"
    )
    assert result.returncode == 1
    assert "both 19500" in result.stderr


def test_the_sasl_port_defaults_to_the_client_port_plus_two_and_must_differ(kafkactl):
    result = kafkactl(
        "status",
        DISTILLWATCH_KAFKA_PORT="19500",
        DISTILLWATCH_KAFKA_CONTROLLER_PORT="19502",
        DISTILLWATCH_KAFKA_SASL_PORT="",
    )
    assert result.returncode == 1
    assert "controller and SASL ports are both 19502" in result.stderr


def test_start_on_a_busy_sasl_port_says_so(kafkactl):
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]

        start = kafkactl("start", DISTILLWATCH_KAFKA_SASL_PORT=str(port))

    assert start.returncode == 1
    assert f"SASL port 127.0.0.1:{port} is already in use by another process" in start.stderr
    assert "DISTILLWATCH_KAFKA_SASL_PORT" in start.stderr


def test_missing_java_is_explained(kafkactl, tmp_path):
    result = kafkactl("start", JAVA_HOME=str(tmp_path / "no-jdk"))
    assert result.returncode == 1
    assert "java not found: install a JDK 17 or newer" in result.stderr
