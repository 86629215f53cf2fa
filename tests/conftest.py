"""Fixtures shared by the suite: the real Kafka broker for tests with a broker marker
(``kafka``, ``service``, ``faults``, ``fuzz``).

A marked test gets the broker at ``DISTILLWATCH_BOOTSTRAP_SERVERS`` (``make test`` starts it
and exports the address).  When it cannot be reached the test is skipped with the reason on a
developer's machine, but fails under CI (``CI=true``): there a skipped integration suite would
hide a broken broker set-up behind a green run.
"""

from __future__ import annotations

import logging
import os
import time
import uuid
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from confluent_kafka.admin import AdminClient

BROKER_MARKERS = ("kafka", "service", "faults", "fuzz")


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


@pytest.fixture(scope="session")
def kafka_bootstrap() -> str:
    """The reachable broker's bootstrap address (skips or fails the test when there is none)."""
    from confluent_kafka import KafkaException

    from agents.kafka.clients import make_admin
    from agents.settings import get_settings

    bootstrap = get_settings().bootstrap_servers
    # librdkafka's connection-refused chatter goes to a logger pytest captures, not to stderr.
    probe = make_admin(bootstrap, logger=logging.getLogger("kafka-probe"))
    try:
        probe.list_topics(timeout=5)
    except KafkaException as error:
        reason = (
            f"Kafka at {bootstrap} is unreachable ({error.args[0].str()}); "
            "start it with `make kafka-up` or run `make test`"
        )
        if _in_ci():
            pytest.fail(f"CI=true: {reason}", pytrace=False)
        pytest.skip(reason)
    return bootstrap


@pytest.fixture(autouse=True)
def _broker_for_marked_tests(request: pytest.FixtureRequest) -> None:
    """A test with a broker marker needs the broker even without naming the fixture."""
    if any(request.node.get_closest_marker(marker) for marker in BROKER_MARKERS):
        request.getfixturevalue("kafka_bootstrap")


@pytest.fixture(scope="session")
def kafka_admin(kafka_bootstrap: str) -> AdminClient:
    from agents.kafka.clients import make_admin

    return make_admin(kafka_bootstrap)


@pytest.fixture(scope="session")
def run_id() -> str:
    """Unique per test session, so names on the shared broker never collide with a rerun."""
    return uuid.uuid4().hex[:10]


@pytest.fixture
def make_topic(
    kafka_admin: AdminClient, run_id: str, request: pytest.FixtureRequest
) -> Iterator[Callable[..., str]]:
    """Create uniquely named topics for one test; they are deleted when the test ends."""
    from confluent_kafka.admin import NewTopic

    created: list[str] = []

    def make(partitions: int = 1, suffix: str = "", config: dict[str, str] | None = None) -> str:
        name = f"test.{request.node.name[:80]}.{run_id}.{len(created)}{suffix}"
        name = "".join(char if char.isalnum() or char in "._-" else "_" for char in name)
        new = NewTopic(name, num_partitions=partitions, replication_factor=1, config=config or {})
        kafka_admin.create_topics([new], operation_timeout=30)[name].result()
        created.append(name)
        _wait_for_topics(kafka_admin, [name])
        return name

    yield make
    if created:
        for future in kafka_admin.delete_topics(created, operation_timeout=30).values():
            future.result()


def _wait_for_topics(admin: AdminClient, names: list[str], timeout: float = 30.0) -> None:
    """Block until every topic has a leader on each partition (creation is asynchronous)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        topics = admin.list_topics(timeout=timeout).topics
        if all(
            name in topics
            and topics[name].error is None
            and all(partition.leader >= 0 for partition in topics[name].partitions.values())
            for name in names
        ):
            return
        time.sleep(0.1)
    raise TimeoutError(f"topics {names} got no leaders within {timeout} s")
