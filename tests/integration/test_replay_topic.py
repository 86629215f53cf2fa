"""Forensic replay from a Kafka topic range agrees with replay of the same traffic from a file."""

from __future__ import annotations

import time

import pytest

from agents.kafka.clients import make_producer
from agents.tools.replay import read_jsonl, read_topic, replay_records
from streams.simulation import simulate
from streams.wire.codecs import encode

pytestmark = pytest.mark.kafka

PARTITIONS = 8


def _produce(bootstrap: str, topic: str, lines: list[tuple[str, bytes]]) -> None:
    producer = make_producer(bootstrap)
    for key, value in lines:
        producer.produce(topic, key=key.encode(), value=value)
    assert producer.flush(30) == 0


def test_topic_replay_gives_the_alerts_of_the_file_replay(kafka_bootstrap, make_topic, tmp_path):
    events = simulate("small", 2).events
    path = tmp_path / "events.jsonl"
    path.write_bytes(b"".join(encode(e) + b"\n" for e in events))
    topic = make_topic(PARTITIONS)
    _produce(kafka_bootstrap, topic, [(e.account_id, encode(e)) for e in events])

    from_file = replay_records(read_jsonl(path), PARTITIONS)
    from_topic = replay_records(read_topic(kafka_bootstrap, topic, None, None, False), PARTITIONS)

    assert from_topic.events == from_file.events == len(events)
    assert from_file.alerts
    assert [encode(a) for a in from_topic.alerts] == [encode(a) for a in from_file.alerts]


def test_topic_replay_honours_the_time_range(kafka_bootstrap, make_topic):
    events = simulate("small", 2).events[:300]
    topic = make_topic(2)
    _produce(kafka_bootstrap, topic, [(e.account_id, encode(e)) for e in events[:100]])
    time.sleep(1.0)
    middle = time.time()
    _produce(kafka_bootstrap, topic, [(e.account_id, encode(e)) for e in events[100:200]])
    time.sleep(1.0)
    end = time.time()
    _produce(kafka_bootstrap, topic, [(e.account_id, encode(e)) for e in events[200:]])

    raws = list(read_topic(kafka_bootstrap, topic, middle, end, False))
    assert sorted(raw[0] for raw in raws) == sorted(encode(e) for e in events[100:200])


def test_bad_records_in_the_range_become_dead_letters_with_coordinates(kafka_bootstrap, make_topic):
    topic = make_topic(1)
    first, second = (encode(e) for e in simulate("small", 2).events[:2])
    _produce(kafka_bootstrap, topic, [("a", first), ("a", b"\xff\xfe not json"), ("a", second)])
    result = replay_records(read_topic(kafka_bootstrap, topic, None, None, False), PARTITIONS)
    assert result.events == 2
    [dead] = result.dead_letters
    assert (dead.reason, dead.source_topic, dead.source_partition, dead.source_offset) == (
        "invalid_utf8",
        topic,
        0,
        1,
    )
    assert dead.original == b"\xff\xfe not json"
