"""Blocking Kafka reads and writes of stage checkpoints (run them in an executor thread).

Stage state lives in the worker's memory and is checkpointed to compacted topics this service
owns, as bytes from the core's ``to_bytes``.  Recovery reads a checkpoint partition up to its
end (``read_latest``); the input after the checkpoint is then consumed again (the requests) or
re-read up to the group's committed offset (the coordination topic,
``agents.kafka.reader.read_range``), so a restarted worker ends in the state an uninterrupted
one has.
"""

from __future__ import annotations

import math
from typing import Any

from confluent_kafka import OFFSET_BEGINNING, ConsumerGroupTopicPartitions, TopicPartition

from agents.kafka.clients import make_admin
from agents.kafka.reader import range_consumer, read_range

CHUNK_BYTES = 512 * 1024
"""A large state is cut into records this big (the broker's default limit is 1 MiB)."""
_BLOB_META = b"meta"


def read_latest(bootstrap: str, topic: str, partition: int) -> dict[bytes, bytes]:
    """The latest value of every key of a compacted partition (tombstones remove the key)."""
    latest: dict[bytes, bytes] = {}
    for message in read_range(bootstrap, topic, partition, OFFSET_BEGINNING, None):
        key, value = message.key(), message.value()
        if key is None:
            continue
        if value is None:
            latest.pop(key, None)
        else:
            latest[key] = value
    return latest


def high_watermarks(bootstrap: str, topic: str, partitions: list[int]) -> dict[int, int]:
    consumer = range_consumer(bootstrap)
    try:
        return {
            p: consumer.get_watermark_offsets(TopicPartition(topic, p), 10.0, cached=False)[1]
            for p in partitions
        }
    finally:
        consumer.close()


def committed_offsets(
    bootstrap: str, group: str, topic: str, partitions: list[int], timeout: float = 10.0
) -> dict[int, int]:
    """The offset ``group`` resumes each partition from (-1 where it never committed).

    A consumer that joins the group is positioned there; records below it are never fetched
    again, so recovery must re-read them itself between a checkpoint and this offset.
    """
    admin = make_admin(bootstrap)
    request = ConsumerGroupTopicPartitions(group, [TopicPartition(topic, p) for p in partitions])
    result = admin.list_consumer_group_offsets([request], request_timeout=timeout)[group]
    found = {tp.partition: tp.offset for tp in result.result(timeout).topic_partitions}
    return {p: max(found.get(p, -1), -1) for p in partitions}


def blob_records(data: bytes, generation: int, previous_chunks: int) -> list[tuple[bytes, Any]]:
    """One whole-state checkpoint: its chunks, then the meta record naming them, then
    tombstones for the previous generation, so a crash at any point leaves a complete one."""
    chunks = max(1, math.ceil(len(data) / CHUNK_BYTES))
    out: list[tuple[bytes, Any]] = [
        (b"chunk:%d:%d" % (generation, i), data[i * CHUNK_BYTES : (i + 1) * CHUNK_BYTES])
        for i in range(chunks)
    ]
    out.append((_BLOB_META, b"%d:%d" % (generation, chunks)))
    out += [(b"chunk:%d:%d" % (generation - 1, i), None) for i in range(previous_chunks)]
    return out


def blob_from(latest: dict[bytes, bytes]) -> tuple[bytes, int, int] | None:
    """(state bytes, generation, chunks) of the newest complete checkpoint, if any."""
    meta = latest.get(_BLOB_META)
    if meta is None:
        return None
    generation, chunks = (int(x) for x in meta.split(b":"))
    parts = [latest[b"chunk:%d:%d" % (generation, i)] for i in range(chunks)]
    return b"".join(parts), generation, chunks
