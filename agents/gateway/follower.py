"""Follows ``distillwatch.actions.v1`` into an ``EnforcementTable``, on a thread of its own.

The gateway embeds it next to its request handling: ``start()`` assigns every partition of the
actions topic itself (no consumer group, so any number of gateway replicas each see every
action and never commit an offset), reads from the beginning or from ``lookback_s`` seconds of
broker time back, and keeps following.  ``ready`` is set once it has read what the topic held
when it started, so a gateway can wait for it before serving, or serve with what it has.

Nothing a gateway does per request touches Kafka: ``EnforcementTable.decide`` reads memory.
While the broker is away the table keeps the actions it has (librdkafka reconnects on its own;
the reason is logged and kept in ``stats``).  A record that is not a valid action is logged with
its coordinates and counted, never applied and never silently dropped.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from agents.kafka.reader import PartitionReader
from streams.enforcement import EnforcementTable
from streams.errors import CodecError, TopicReadError

if TYPE_CHECKING:
    from confluent_kafka import KafkaError, Message

    from agents.settings import KafkaSecurity

log = logging.getLogger(__name__)


class ActionFollower:
    """The actions topic, read into ``table`` by a daemon thread until ``stop()``.

    ``bootstrap``, ``topic`` and ``security`` default to this process's settings
    (``DISTILLWATCH_BOOTSTRAP_SERVERS``, ``DISTILLWATCH_TOPICS__ACTIONS``,
    ``DISTILLWATCH_KAFKA__*``).  ``lookback_s``: start that far back in broker time instead of
    the beginning; keep it above the detector's ``action_ttl_s`` (24 h by default) or actions
    still in force are missed.  ``clock`` is what expired actions are pruned against.
    """

    def __init__(
        self,
        table: EnforcementTable,
        *,
        bootstrap: str | None = None,
        topic: str | None = None,
        security: KafkaSecurity | None = None,
        lookback_s: float | None = None,
        poll_s: float = 0.2,
        prune_every_s: float = 60.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if bootstrap is None or topic is None or security is None:
            from agents.settings import get_settings

            settings = get_settings()
            bootstrap = bootstrap or settings.bootstrap_servers
            topic = topic or settings.topics.actions
            security = security or settings.kafka
        self.table = table
        self.bootstrap = bootstrap
        self.topic = topic
        self.security = security
        self.lookback_s = lookback_s
        self.poll_s = poll_s
        self.prune_every_s = prune_every_s
        self.clock = clock
        self.ready = threading.Event()
        self.applied = 0
        self.refused = 0
        self.broker_errors = 0
        self.last_error: str | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._reader: PartitionReader | None = None
        self._pending: dict[int, int] = {}

    def start(self, timeout: float = 10.0) -> ActionFollower:
        """Check the broker, find the topic's partitions and start following them.

        Raises ``KafkaConnectionError`` when the broker cannot be reached or refuses this
        client, and ``TopicReadError`` when the topic does not exist: a gateway decides whether
        to serve without enforcement then.
        """
        from confluent_kafka import OFFSET_BEGINNING, TopicPartition

        from agents.kafka.clients import check_connection, make_reader

        check_connection(self.bootstrap, self.security, timeout)
        consumer = make_reader(
            self.bootstrap,
            f"distillwatch-gateway-{uuid.uuid4().hex}",
            self.security,
            error_cb=self._broker_error,
            logger=log,
        )
        reader = PartitionReader(consumer, self.topic)
        try:
            partitions = reader.partitions(timeout)
            if partitions is None:
                raise TopicReadError(f"topic {self.topic!r} does not exist on {self.bootstrap}")
            ends = {p: reader.watermarks(p, timeout)[1] for p in partitions}
            starts = dict.fromkeys(partitions, OFFSET_BEGINNING)
            if self.lookback_s is not None:
                since_ms = int((self.clock() - self.lookback_s) * 1000)
                found = consumer.offsets_for_times(
                    [TopicPartition(self.topic, p, since_ms) for p in partitions], timeout=timeout
                )
                starts = {
                    tp.partition: tp.offset if tp.offset >= 0 else ends[tp.partition]
                    for tp in found
                }
        except BaseException:
            consumer.close()
            raise
        # what there is to read before the table is as the topic stood at the start
        self._pending = {p: end for p, end in ends.items() if end > 0 and starts[p] != end}
        reader.assign(starts)
        self._reader = reader
        if not self._pending:
            self.ready.set()
        self._thread = threading.Thread(target=self._run, name="distillwatch-actions", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Stop following and close the consumer."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def stats(self) -> dict[str, Any]:
        """Counters for the gateway's own metrics and health page."""
        return {
            "topic": self.topic,
            "ready": self.ready.is_set(),
            "accounts": len(self.table),
            "applied": self.applied,
            "refused": self.refused,
            "broker_errors": self.broker_errors,
            "last_error": self.last_error,
        }

    def _broker_error(self, error: KafkaError) -> None:
        self.broker_errors += 1
        self.last_error = error.str()
        log.warning("actions follower: Kafka at %s: %s", self.bootstrap, error.str())

    def _run(self) -> None:
        from confluent_kafka import KafkaError

        assert self._reader is not None
        consumer = self._reader.consumer
        pruned_at = self.clock()
        try:
            while not self._stop.is_set():
                for message in consumer.consume(500, timeout=self.poll_s):
                    error = message.error()
                    if error is None:
                        self._apply(message)
                    elif error.code() == KafkaError._PARTITION_EOF:
                        self._pending.pop(message.partition(), None)
                    else:
                        self._broker_error(error)
                if not self._pending and not self.ready.is_set():
                    self.ready.set()
                if self.clock() - pruned_at >= self.prune_every_s:
                    pruned_at = self.clock()
                    self.table.prune(pruned_at)
        finally:
            consumer.close()

    def _apply(self, message: Message) -> None:
        from streams.wire.codecs import decode_action

        partition, offset = message.partition(), message.offset()
        if offset >= self._pending.get(partition, offset + 1) - 1:
            self._pending.pop(partition, None)
        value = message.value()
        try:
            if value is None:
                raise CodecError("not_an_object", "a null value (tombstone) is no action")
            action = decode_action(value)
        except CodecError as refused:
            self.refused += 1
            log.warning(
                "actions follower: %s[%d]@%d refused: %s: %s",
                self.topic,
                partition,
                offset,
                refused.reason,
                refused.detail,
            )
            return
        self.table.apply(action)
        self.applied += 1
