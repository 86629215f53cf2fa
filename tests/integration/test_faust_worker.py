"""A Faust worker on the real broker: joins its group, keeps a table, writes its output topic."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from confluent_kafka import (
    ConsumerGroupState,
    ConsumerGroupTopicPartitions,
    KafkaError,
    KafkaException,
    TopicPartition,
)

from agents.kafka.clients import make_consumer, make_producer

pytestmark = pytest.mark.kafka

APP = Path(__file__).with_name("faust_app.py")
PARTITIONS = 2
DEADLINE = 60.0
# librdkafka does not flag these as retriable, yet they only mean "ask again shortly".
COORDINATOR_MOVING = {
    KafkaError.NOT_COORDINATOR,
    KafkaError.COORDINATOR_LOAD_IN_PROGRESS,
    KafkaError.COORDINATOR_NOT_AVAILABLE,
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def log_tail(path: Path) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-40:])


@pytest.fixture
def worker(kafka_bootstrap, kafka_admin, make_topic, run_id, tmp_path):
    """A Faust worker subprocess on fresh topics; it is stopped and its topics deleted after."""
    app_id = f"test-faust-{run_id}-{time.monotonic_ns()}"
    source, output = make_topic(PARTITIONS), make_topic(PARTITIONS)
    log = tmp_path / "worker.log"
    env = {
        **os.environ,
        "FAUST_TEST_APP_ID": app_id,
        "FAUST_TEST_BOOTSTRAP": kafka_bootstrap,
        "FAUST_TEST_PARTITIONS": str(PARTITIONS),
        "FAUST_TEST_WEB_PORT": str(free_port()),
        "FAUST_TEST_SOURCE": source,
        "FAUST_TEST_OUTPUT": output,
        "FAUST_TEST_DATADIR": str(tmp_path / "faust-data"),
    }
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [sys.executable, str(APP), "worker", "--loglevel", "info"],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        yield app_id, source, output, process, log
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        internal = [
            name for name in kafka_admin.list_topics(timeout=10).topics if name.startswith(app_id)
        ]
        if internal:
            for future in kafka_admin.delete_topics(internal, operation_timeout=30).values():
                future.result()


def await_admin(call, ready, what: str, process, log: Path):
    """Repeat an admin query until ``ready(result)``; fails early if the worker died.

    Retriable errors are waited out: on a fresh broker, the group coordinator answers
    NOT_COORDINATOR until it has created and loaded its offsets partition.
    """
    deadline = time.monotonic() + DEADLINE
    result = None
    while time.monotonic() < deadline:
        assert process.poll() is None, f"worker exited early:\n{log_tail(log)}"
        try:
            result = call()
        except KafkaException as error:
            if not (error.args[0].retriable() or error.args[0].code() in COORDINATOR_MOVING):
                raise
        else:
            if ready(result):
                return result
        time.sleep(0.25)
    pytest.fail(f"{what} within {DEADLINE} s (last: {result}):\n{log_tail(log)}")


def committed_records(admin, group: str, topic: str) -> int:
    request = ConsumerGroupTopicPartitions(group)
    result = admin.list_consumer_group_offsets([request])[group].result()
    return sum(max(tp.offset, 0) for tp in result.topic_partitions if tp.topic == topic)


def consume_until(bootstrap: str, topic: str, done, process, log: Path) -> list[tuple]:
    """All (key, value) records of ``topic`` from the start, polled until ``done(records)``."""
    consumer = make_consumer(bootstrap, f"{topic}-reader", **{"enable.auto.commit": False})
    consumer.assign([TopicPartition(topic, partition, 0) for partition in range(PARTITIONS)])
    records: list[tuple] = []
    deadline = time.monotonic() + DEADLINE
    try:
        while not done(records):
            assert time.monotonic() < deadline, f"{topic} incomplete: {records}\n{log_tail(log)}"
            assert process.poll() is None, f"worker exited early:\n{log_tail(log)}"
            message = consumer.poll(0.5)
            if message is not None and message.error() is None:
                records.append((message.key(), message.value()))
    finally:
        consumer.close()
    return records


def test_worker_joins_group_keeps_table_and_writes_output(kafka_bootstrap, kafka_admin, worker):
    app_id, source, output, process, log = worker
    group = await_admin(
        lambda: kafka_admin.describe_consumer_groups([app_id])[app_id].result(),
        lambda group: group.state == ConsumerGroupState.STABLE and group.members,
        f"group {app_id} not stable",
        process,
        log,
    )
    assert len(group.members) == 1

    keys = [b"acct-a", b"acct-b", b"acct-c"]
    producer = make_producer(kafka_bootstrap)
    for round_ in range(4):
        for key in keys:
            producer.produce(source, key=key, value=f"event-{round_}".encode())
    assert producer.flush(20) == 0

    outputs = consume_until(kafka_bootstrap, output, lambda got: len(got) >= 12, process, log)
    assert sorted(outputs) == sorted(
        (key, f"{key.decode()}:{n}".encode()) for key in keys for n in range(1, 5)
    )

    changelog = f"{app_id}-counts-changelog"
    assert changelog in kafka_admin.list_topics(timeout=10).topics

    def every_key_reached_four(records) -> bool:
        latest = {key: json.loads(value) for key, value in records}
        return latest == dict.fromkeys(keys, 4)

    writes = consume_until(kafka_bootstrap, changelog, every_key_reached_four, process, log)
    assert Counter(key for key, _ in writes) == dict.fromkeys(keys, 4)

    await_admin(
        lambda: committed_records(kafka_admin, app_id, source),
        lambda committed: committed == 12,
        "offsets of all 12 source records not committed",
        process,
        log,
    )
