"""The one reader of Kafka partitions up to a stop point, without joining any consumer group.

Three callers read partitions that way: recovery re-reads a requests or coordination
partition between a checkpoint and the committed offset (``read_range``, and ``read_latest``
of the checkpoints), the SOC tools and forensic replay read a topic back to the end it had
when they started (``read_records``), and every worker reads the whole signatures topic
before it follows it (``agents.service.signatures``).  All go through ``PartitionReader``:
it assigns partitions itself and never commits, so running a tool can never steal
partitions from a worker or shift its offsets.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from streams.errors import TopicReadError

if TYPE_CHECKING:
    from confluent_kafka import Consumer, Message


@dataclass(frozen=True, slots=True)
class TopicRecord:
    key: bytes | None
    value: bytes | None
    partition: int
    offset: int
    timestamp_ms: int | None  # None when the broker recorded no timestamp


class PartitionReader:
    """Partitions of one topic on a consumer that assigns them itself.

    ``read_to`` yields each partition's records up to a stop offset; ``follow`` and ``poll``
    go on from there.  With ``hold`` the records a fetch brought past a stop are kept for the
    next ``poll`` (a reader that goes on following must not lose them); without, they are
    dropped (a bounded read whose consumer is closed next).
    """

    def __init__(self, consumer: Consumer, topic: str, *, hold: bool = False) -> None:
        self.consumer = consumer
        self.topic = topic
        self.hold = hold
        self._held: list[Message] = []

    def partitions(self, timeout: float = 10.0) -> list[int] | None:
        """The topic's partitions, None when it does not exist."""
        metadata = self.consumer.list_topics(self.topic, timeout=timeout)
        info = metadata.topics.get(self.topic)
        if info is None or info.error is not None:
            return None
        return sorted(info.partitions)

    def watermarks(self, partition: int, timeout: float = 10.0) -> tuple[int, int]:
        from confluent_kafka import TopicPartition

        return self.consumer.get_watermark_offsets(
            TopicPartition(self.topic, partition), timeout=timeout
        )

    def assign(self, starts: Mapping[int, int]) -> None:
        from confluent_kafka import TopicPartition

        self.consumer.assign([TopicPartition(self.topic, p, s) for p, s in starts.items()])

    def read_to(
        self,
        stops: Mapping[int, int],
        *,
        timeout: float | None = None,
        limit: int | None = None,
        batch: int = 10000,
        poll_s: float = 0.05,
    ) -> Iterator[Message]:
        """Records of the assigned partitions of ``stops`` below each one's stop offset, in
        offset order within a partition, at most ``limit`` in all.

        A partition is done at its stop or at its end (records deleted by retention and
        transaction markers hold no record to see).  ``timeout``: seconds after which a read
        that gets nothing more raises ``TimeoutError``.  ``consume`` waits its whole
        ``poll_s`` unless the batch fills, so keep it short.
        """
        from confluent_kafka import KafkaError

        remaining = set(stops)
        read = 0
        deadline = None if timeout is None else time.monotonic() + timeout
        while remaining:
            messages = self.consumer.consume(batch, timeout=poll_s)
            if not messages and deadline is not None and time.monotonic() > deadline:
                before = ", ".join(f"[{p}] before offset {stops[p]}" for p in sorted(remaining))
                raise TimeoutError(f"{self.topic}{before} stalled")
            for message in messages:
                error = message.error()
                p = message.partition()
                if error is not None:
                    if error.code() == KafkaError._PARTITION_EOF:
                        remaining.discard(p)
                        continue
                    raise TopicReadError(f"reading {self.topic}[{p}]: {error}")
                if p not in remaining or message.offset() >= stops[p]:
                    remaining.discard(p)
                    if self.hold:
                        self._held.append(message)
                    continue
                yield message
                read += 1
                if message.offset() >= stops[p] - 1:
                    remaining.discard(p)
                if read == limit:
                    return

    def follow(self, poll_s: float, batch: int = 500) -> Iterator[Message]:
        """Every record from where the reader stands, waiting for new ones; the end of a
        partition is no error, any other one raises ``TopicReadError``."""
        from confluent_kafka import KafkaError

        while True:
            held, self._held = self._held, []
            yield from held
            for message in self.consumer.consume(batch, timeout=poll_s):
                error = message.error()
                if error is None:
                    yield message
                elif error.code() != KafkaError._PARTITION_EOF:
                    raise TopicReadError(f"reading {self.topic}: {error}")

    def poll(self, timeout: float, batch: int = 1000) -> list[Message]:
        """The records held past a stop, then those one fetch brings; errors are skipped."""
        held, self._held = self._held, []
        fetched = [m for m in self.consumer.consume(batch, timeout=timeout) if m.error() is None]
        return held + fetched

    def close(self) -> None:
        self.consumer.close()


def range_consumer(bootstrap: str) -> Consumer:
    """A group-less consumer that reads only committed records and reports partition ends."""
    from agents.kafka.clients import make_consumer

    return make_consumer(
        bootstrap,
        f"distillwatch-reader-{uuid.uuid4().hex}",
        **{
            "enable.auto.commit": False,
            "enable.partition.eof": True,
            "isolation.level": "read_committed",
            "fetch.max.bytes": 64 * 1024 * 1024,
        },
    )


def read_range(
    bootstrap: str,
    topic: str,
    partition: int,
    start: int,
    end: int | None,
    timeout: float = 30.0,
    limit: int | None = None,
) -> list[Message]:
    """Records of one partition with ``start <= offset < end`` (``end`` None: to its end),
    at most ``limit`` of them (blocking: run it in an executor thread)."""
    from confluent_kafka import OFFSET_BEGINNING

    reader = PartitionReader(range_consumer(bootstrap), topic)
    try:
        low, high = reader.watermarks(partition, timeout)
        stop = high if end is None else min(end, high)
        start = max(start, low) if start != OFFSET_BEGINNING else low
        if start >= stop:
            return []
        reader.assign({partition: start})
        return list(reader.read_to({partition: stop}, timeout=timeout, limit=limit))
    finally:
        reader.close()


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
    from confluent_kafka import TopicPartition

    from agents.kafka.clients import make_reader

    reader = PartitionReader(make_reader(bootstrap, label), topic)
    try:
        partitions = reader.partitions()
        if partitions is None:
            raise TopicReadError(f"topic {topic!r} does not exist on {bootstrap}")
        ends = {p: reader.watermarks(p)[1] for p in partitions}
        if since is not None:
            found = reader.consumer.offsets_for_times(
                [TopicPartition(topic, p, int(since * 1000)) for p in partitions], timeout=10
            )
            starts = {
                tp.partition: tp.offset if tp.offset >= 0 else ends[tp.partition] for tp in found
            }
        elif follow:
            starts = dict(ends)
        else:
            starts = {p: 0 for p in partitions}
        stops = {p: ends[p] for p in partitions if starts[p] < ends[p]}
        if planned is not None and not follow:
            planned(sum(ends[p] - starts[p] for p in stops))
        reader.assign(starts)
        if follow:
            messages: Iterator[Message] = reader.follow(poll_s)
        else:
            messages = reader.read_to(stops, batch=500, poll_s=poll_s)
        for message in messages:
            yield _topic_record(message)
    finally:
        reader.close()


def _topic_record(message: Any) -> TopicRecord:
    kind, ms = message.timestamp()
    return TopicRecord(
        message.key(), message.value(), message.partition(), message.offset(), ms if kind else None
    )
