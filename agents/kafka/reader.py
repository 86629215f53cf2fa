"""Read a topic back, or follow it, without joining or moving any consumer group.

The SOC tools (``alerts tail``, ``signatures export|learn``, ``report``) read topics the
service writes.  They assign partitions themselves and never commit, like forensic replay,
so running them can never steal partitions from a worker or shift its offsets.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from streams.errors import TopicReadError


@dataclass(frozen=True, slots=True)
class TopicRecord:
    key: bytes | None
    value: bytes | None
    partition: int
    offset: int
    timestamp_ms: int | None  # None when the broker recorded no timestamp


def read_records(
    bootstrap: str,
    topic: str,
    *,
    since: float | None = None,
    follow: bool = False,
    poll_s: float = 0.5,
    label: str = "distillwatch-soc",
    planned: Callable[[int], None] | None = None,
) -> Iterator[TopicRecord]:
    """Records of ``topic`` from broker time ``since`` (default: the beginning, or the end
    when following), in partition order within each partition.

    Without ``follow`` it stops at the end offsets the topic had when it started, so a busy
    topic still terminates; with ``follow`` it keeps waiting for new records.
    ``planned`` hears, before the first record of a bounded read, how many records it will go
    through (for a progress bar).  Raises ``TopicReadError`` when the topic does not
    exist.
    """
    from confluent_kafka import KafkaError, TopicPartition

    from agents.kafka.clients import make_reader

    consumer = make_reader(bootstrap, label)
    try:
        metadata = consumer.list_topics(topic, timeout=10)
        if topic not in metadata.topics or metadata.topics[topic].error is not None:
            raise TopicReadError(f"topic {topic!r} does not exist on {bootstrap}")
        partitions = sorted(metadata.topics[topic].partitions)
        ends = {
            p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1]
            for p in partitions
        }
        if since is not None:
            found = consumer.offsets_for_times(
                [TopicPartition(topic, p, int(since * 1000)) for p in partitions], timeout=10
            )
            starts = {
                tp.partition: tp.offset if tp.offset >= 0 else ends[tp.partition] for tp in found
            }
        elif follow:
            starts = dict(ends)
        else:
            starts = {p: 0 for p in partitions}
        remaining = {p for p in partitions if starts[p] < ends[p]}
        if planned is not None and not follow:
            planned(sum(ends[p] - starts[p] for p in remaining))
        consumer.assign([TopicPartition(topic, p, starts[p]) for p in partitions])
        while follow or remaining:
            for message in consumer.consume(num_messages=500, timeout=poll_s):
                error = message.error()
                if error is not None:
                    if error.code() == KafkaError._PARTITION_EOF:
                        remaining.discard(message.partition())
                        continue
                    raise TopicReadError(f"reading {topic}: {error}")
                partition, offset = message.partition(), message.offset()
                if not follow:
                    if partition not in remaining:
                        continue
                    if offset >= ends[partition] - 1:
                        remaining.discard(partition)
                kind, ms = message.timestamp()
                yield TopicRecord(
                    message.key(), message.value(), partition, offset, ms if kind else None
                )
    finally:
        consumer.close()
