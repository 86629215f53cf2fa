"""The requests topic's consumer: librdkafka batches straight into the account stage.

The requests topic carries every API call, so its consumer sets the worker's ceiling.  A Faust
agent that only counted ``stream.take`` batches moved 3.1k to 12.6k records/s here (tuned), while
confluent-kafka's ``consume(1000)`` plus ``orjson.loads`` over the same topic moved 125k/s; so
the requests are consumed with confluent-kafka in a consumer group of their own
(``ServiceSettings.requests_group``, cooperative-sticky assignment), and Faust keeps hosting the
rest of the worker: the web server, the low-volume coordination topic, the timer and the
signature feed.

The consumer lives on one thread of its own (``consume`` blocks; librdkafka releases the GIL
while it waits).  Rebalance callbacks run on that thread inside ``consume``; each hands its work
to the event loop and waits for it, so the stages are only ever touched from the loop:

- assigned partitions are recovered (their checkpoint loaded) and the consumer starts each at
  its checkpoint's next offset, so the input after the checkpoint is re-read by the consumer
  itself at once, whatever the group had committed;
- revoked partitions are checkpointed after their outputs are delivered, and their applied
  offsets committed, before the next owner is given them;
- lost partitions (the session expired) are dropped without a checkpoint: another worker may
  already own them.

Offsets are committed only after the outputs they cover are delivered (``IntakeHost.committable``
flushes first), so a committed offset never runs ahead of an alert.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol, TypeVar

import mode
from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, Message, TopicPartition

log = logging.getLogger(__name__)
T = TypeVar("T")


class IntakeHost(Protocol):
    """What the consumer asks of the worker; every method runs on the event loop."""

    async def assigned(self, partitions: list[int]) -> dict[int, int]:
        """Recover the partitions; returns the offset to resume each at (0: its start)."""

    async def revoked(self, partitions: list[int]) -> dict[int, int]:
        """Checkpoint and forget the partitions; returns the offsets to commit."""

    async def lost(self, partitions: list[int]) -> None:
        """Forget the partitions: another worker may own them already."""

    async def batch(self, messages: list[Message]) -> None:
        """Apply one batch of records (any of the owned partitions, offset order in each)."""

    async def committable(self) -> dict[int, int]:
        """Offsets whose outputs are delivered (after a flush), to commit; {} for none."""

    def broker_error(self, reason: str) -> None:
        """Count and log a broker error the consumer reported."""


class Intake(mode.Service):
    """Consumes the requests topic in batches and drives the account stage of ``host``."""

    def __init__(
        self,
        consumer_factory: Callable[..., Consumer],
        topic: str,
        host: IntakeHost,
        batch_max: int,
        batch_within_s: float,
        commit_interval_s: float,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.consumer_factory = consumer_factory
        self.topic = topic
        self.host = host
        self.batch_max = batch_max
        self.batch_within_s = batch_within_s
        self.commit_interval_s = commit_interval_s
        self.thread = ThreadPoolExecutor(1, thread_name_prefix="distillwatch-requests")
        self.consumer: Consumer | None = None
        self.event_loop: asyncio.AbstractEventLoop | None = None
        self.stopping = False
        self.runner: asyncio.Task[None] | None = None
        self.last_commit = time.monotonic()

    async def on_start(self) -> None:
        self.event_loop = asyncio.get_running_loop()
        self.consumer = await self._on_thread(self._subscribe)
        self.runner = asyncio.ensure_future(self._run())

    async def on_stop(self) -> None:
        """Stop consuming, then leave the group: the revoke hands every partition over."""
        self.stopping = True
        if self.runner is not None:
            await asyncio.wait([self.runner])
        if self.consumer is not None:
            await self._on_thread(self.consumer.close)
            self.consumer = None
        self.thread.shutdown(wait=False)

    # -- the loop -----------------------------------------------------------------------------

    async def _run(self) -> None:
        consumer = self.consumer
        assert consumer is not None
        while not self.stopping:
            messages = await self._on_thread(consumer.consume, self.batch_max, self.batch_within_s)
            records = []
            for message in messages:
                error = message.error()
                if error is None:
                    records.append(message)
                elif error.code() != KafkaError._PARTITION_EOF:
                    self.host.broker_error(error.str())
            if records:
                await self.host.batch(records)
            if time.monotonic() - self.last_commit >= self.commit_interval_s:
                await self._commit()

    async def _commit(self) -> None:
        self.last_commit = time.monotonic()
        offsets = await self.host.committable()
        if offsets and self.consumer is not None:
            await self._on_thread(self._commit_offsets, offsets)

    def _commit_offsets(self, offsets: dict[int, int]) -> None:
        assert self.consumer is not None
        parts = [TopicPartition(self.topic, p, o) for p, o in sorted(offsets.items())]
        try:
            self.consumer.commit(offsets=parts, asynchronous=True)
        except Exception as exc:  # KafkaException: no coordinator yet, a rebalance under way
            self.host.broker_error(f"offset commit failed: {exc}")

    # -- on the consumer's thread -------------------------------------------------------------

    async def _on_thread(self, fun: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self.thread, fun, *args)

    def _subscribe(self) -> Consumer:
        consumer = self.consumer_factory(error_cb=self._error)
        consumer.subscribe(
            [self.topic],
            on_assign=self._on_assign,
            on_revoke=self._on_revoke,
            on_lost=self._on_lost,
        )
        return consumer

    def _on_loop(self, coroutine: Any) -> Any:
        """Run ``coroutine`` on the event loop and wait for it (from the consumer's thread)."""
        assert self.event_loop is not None
        return asyncio.run_coroutine_threadsafe(coroutine, self.event_loop).result()

    def _on_assign(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        mine = sorted(tp.partition for tp in partitions if tp.topic == self.topic)
        resume = self._on_loop(self.host.assigned(mine)) if mine else {}
        start = {p: resume.get(p, 0) for p in mine}
        consumer.incremental_assign(
            [
                TopicPartition(self.topic, p, o if o > 0 else OFFSET_BEGINNING)
                for p, o in start.items()
            ]
        )

    def _on_revoke(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        mine = sorted(tp.partition for tp in partitions if tp.topic == self.topic)
        if mine:
            offsets = self._on_loop(self.host.revoked(mine))
            if offsets:
                self._commit_offsets(offsets)
        consumer.incremental_unassign(partitions)

    def _on_lost(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        mine = sorted(tp.partition for tp in partitions if tp.topic == self.topic)
        if mine:
            self._on_loop(self.host.lost(mine))
        consumer.incremental_unassign(partitions)

    def _error(self, error: KafkaError) -> None:
        # Transport errors are retried by librdkafka; counted so a broker outage shows.
        self.host.broker_error(error.str())
