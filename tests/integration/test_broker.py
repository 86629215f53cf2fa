"""Records travel through the real broker, keyed the way the Java clients and Faust key them."""

from __future__ import annotations

import time

import pytest
from aiokafka.partitioner import DefaultPartitioner
from confluent_kafka import TopicPartition

from agents.kafka.clients import make_consumer, make_producer
from agents.kafka.topics import partition_for

pytestmark = pytest.mark.kafka


def read_all(bootstrap: str, topic: str, partitions: int, expected: int, timeout: float = 20.0):
    """Records of ``topic`` from the start, until ``expected`` arrived or the deadline passed."""
    consumer = make_consumer(bootstrap, f"reader-{topic}", **{"enable.auto.commit": False})
    consumer.assign([TopicPartition(topic, partition, 0) for partition in range(partitions)])
    records = []
    deadline = time.monotonic() + timeout
    try:
        while len(records) < expected and time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is not None and message.error() is None:
                records.append((message.partition(), message.key(), message.value()))
    finally:
        consumer.close()
    return records


def test_keyed_records_land_on_the_partition_java_murmur2_picks(kafka_bootstrap, make_topic):
    partitions = 6
    topic = make_topic(partitions=partitions)
    producer = make_producer(kafka_bootstrap)
    delivered: dict[bytes, int] = {}

    def on_delivery(error, message):
        assert error is None, error
        delivered[message.key()] = message.partition()

    keys = [f"acct-{index}".encode() for index in range(120)]
    for key in keys:
        producer.produce(topic, key=key, value=b"v:" + key, on_delivery=on_delivery)
    assert producer.flush(20) == 0

    java_partitioner = DefaultPartitioner()
    all_partitions = list(range(partitions))
    expected = {key: java_partitioner(key, all_partitions, all_partitions) for key in keys}
    assert delivered == expected
    # File replay places events without a broker; it must agree with where the broker put them.
    assert {key: partition_for(key.decode(), partitions) for key in keys} == delivered
    assert len(set(delivered.values())) == partitions  # the keys really spread out

    records = read_all(kafka_bootstrap, topic, partitions, expected=len(keys))
    assert sorted(records) == sorted((expected[key], key, b"v:" + key) for key in keys)
