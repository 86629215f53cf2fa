"""confluent-kafka clients configured the way every DistillWatch tool needs them.

One place decides producer partitioning: ``murmur2_random`` hashes keys like the
Java clients and Faust, so an account's events land on the partition whose
worker holds that account's state, whichever tool produced them.
"""

from __future__ import annotations

from typing import Any

from confluent_kafka import Consumer, Producer

PRODUCER_DEFAULTS: dict[str, Any] = {
    "partitioner": "murmur2_random",
    "linger.ms": 20,
    "compression.type": "lz4",
    "enable.idempotence": True,
}


def make_producer(bootstrap_servers: str, **overrides: Any) -> Producer:
    """A producer whose key partitioning matches Faust and the Java clients."""
    return Producer({"bootstrap.servers": bootstrap_servers, **PRODUCER_DEFAULTS, **overrides})


def make_reader(bootstrap_servers: str, group_id: str, **overrides: Any) -> Consumer:
    """A consumer for tools that assign partitions themselves and never commit offsets.

    Forensic reads must not move any consumer group's position, so auto-commit
    is off and the group id is only a label the broker requires.
    """
    return Consumer(
        {
            "bootstrap.servers": bootstrap_servers,
            "group.id": group_id,
            "enable.auto.commit": False,
            "enable.partition.eof": True,
            "auto.offset.reset": "earliest",
            **overrides,
        }
    )
