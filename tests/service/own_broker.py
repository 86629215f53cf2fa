"""A broker of a test's own (infra/kafka/kafkactl on free ports), for tests that stop it.

The shared development broker must never be stopped, so a test that takes the broker away
from a running worker starts this one in a temporary directory and stops it at the end.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.service.harness import REPO, free_port

KAFKACTL = REPO / "infra" / "kafka" / "kafkactl"


@dataclass
class OwnBroker:
    var: Path
    env: dict[str, str]
    bootstrap: str

    def _kafkactl(self, command: str) -> None:
        done = subprocess.run(
            [str(KAFKACTL), command],
            env={**os.environ, **self.env},
            capture_output=True,
            text=True,
            timeout=180,
        )
        if done.returncode != 0:
            raise RuntimeError(f"kafkactl {command} failed:\n{done.stdout}\n{done.stderr}")

    def start(self) -> None:
        self._kafkactl("start")

    def stop(self) -> None:
        self._kafkactl("stop")


@contextmanager
def own_broker(tmp: Path) -> Iterator[OwnBroker]:
    """A fresh single-node broker on free ports; stopped and left on disk when done."""
    ports = set()
    while len(ports) < 4:
        ports.add(free_port())
    client, controller, sasl, ssl = sorted(ports)
    env = {
        "DISTILLWATCH_KAFKA_VAR": str(tmp / "kafka"),
        "DISTILLWATCH_KAFKA_PORT": str(client),
        "DISTILLWATCH_KAFKA_CONTROLLER_PORT": str(controller),
        "DISTILLWATCH_KAFKA_SASL_PORT": str(sasl),
        "DISTILLWATCH_KAFKA_SSL_PORT": str(ssl),
        "DISTILLWATCH_KAFKA_HEAP": "384m",
    }
    broker = OwnBroker(tmp / "kafka", env, f"127.0.0.1:{client}")
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()
