"""The stages' state: recovered from checkpoints and the input, and checkpointed back.

Stage state lives in the worker's memory.  A requests partition's state is recovered from its
checkpoint (``agents.kafka.checkpoint``) when the partition is assigned, and the intake
consumes it from the checkpoint's next offset, so a restarted worker ends in the state an
uninterrupted one has.  The cross-account stage is recovered from its whole-stage checkpoint
plus the input between it and Faust's committed offset, re-read at once.  Checkpoints are written
after the outputs they cover are delivered, never ahead of them.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any, TypeVar

from confluent_kafka import KafkaException

from agents.kafka.checkpoint import (
    blob_from,
    blob_records,
    committed_offsets,
    read_latest,
)
from agents.kafka.reader import read_range
from agents.service.outputs import Outputs
from agents.settings import ServiceSettings
from agents.stages.account import AccountStage, PartitionState, StageOutput
from agents.stages.coordination import CoordinationStage
from agents.stages.envelope import decode_envelope, encode_envelope
from streams.config import DetectorConfig
from streams.records import Action, Alert

log = logging.getLogger(__name__)
T = TypeVar("T")


async def executor(fun: Callable[..., T], *args: Any) -> T:
    """``fun(*args)`` in the default executor: the Kafka reads block."""
    return await asyncio.get_running_loop().run_in_executor(None, fun, *args)


class Recovery:
    """Both stages of one worker, their recovery and their checkpoints."""

    def __init__(
        self, service: ServiceSettings, config: DetectorConfig, partitions: int, outputs: Outputs
    ) -> None:
        """``partitions``: of the requests topic; the broker and topics are those ``outputs``
        produces to."""
        self.bootstrap = outputs.bootstrap
        self.topics = outputs.topics
        self.service = service
        self.config = config
        self.request_partitions = partitions
        self.metrics = outputs.metrics
        self.outputs = outputs
        self.accounts = AccountStage(config, self.topics.requests)
        self.coordination: CoordinationStage | None = None
        self.coordination_generation = (0, 0)  # (generation, chunks) of the last checkpoint
        self.account_sizes: dict[tuple[int, bytes], int] = {}
        self.last_account_checkpoint = time.monotonic()
        self.last_coordination_checkpoint = time.monotonic()

    async def broker_read(self, fun: Callable[..., T], *args: Any) -> T:
        """A read the current batch cannot go without: retried while the broker is away.

        Raised out of an agent it would drop the batch after earlier partitions of it were
        applied but before their outputs were sent.
        """
        delay = 0.5
        while True:
            try:
                return await executor(fun, *args)
            except (KafkaException, TimeoutError) as exc:  # TimeoutError: a read that stalled
                self.metrics.broker_errors.inc()
                log.warning("broker read failed, retrying in %.1f s: %s", delay, exc)
                await asyncio.sleep(delay)
                delay = min(2 * delay, 10.0)

    def apply_batch(
        self,
        p: int,
        part: PartitionState,
        records: list[tuple[bytes | None, bytes, int, float | None]],
        out: StageOutput,
    ) -> None:
        out.entries = []
        self.accounts.process(p, records, out)
        self.outputs.produce(
            self.service.coordination_topic,
            b"%d" % p,
            encode_envelope(part.envelope(out.entries, caught_up=False)),
        )

    def account_outputs(self, out: StageOutput) -> None:
        self.outputs.send(out.alerts, out.actions, out.dead_letters)
        metrics = self.metrics
        metrics.events.inc(out.events)
        metrics.duplicates.inc(out.skipped)
        metrics.misrouted.inc(out.misrouted)
        metrics.evicted_accounts.inc(out.evicted)
        metrics.tracked_accounts.set(self.accounts.tracked_accounts())

    async def account_partition(self, p: int) -> PartitionState:
        """The partition's state from its checkpoint, loaded the first time it is needed.

        The intake then starts consuming the partition at the state's next offset, so the
        input after the checkpoint is re-read by the consumer itself, at once, whatever offset
        the group committed: a worker killed after committing but before checkpointing loses
        nothing, and no partition waits for a new record to be recovered.
        """
        part = self.accounts.partitions.get(p)
        if part is not None:
            return part
        started = time.perf_counter()
        latest = await self.broker_read(
            read_latest, self.bootstrap, self.service.account_state_topic, p
        )
        part = self.accounts.partition(p)
        part.restore(latest, self.config)
        self.account_sizes.update(((p, k), len(v)) for k, v in latest.items())
        elapsed = time.perf_counter() - started
        self.metrics.recovery_seconds.labels("accounts").inc(elapsed)
        log.info(
            "recovered requests partition %d: %d accounts, checkpoint at offset %d, in %.3f s",
            p,
            len(part.profiler.states),
            part.next_offset,
            elapsed,
        )
        return part

    def checkpoint_accounts(self, partitions: list[int]) -> bool:
        """Outputs first (an account state must never be ahead of what was sent), then state."""
        self.last_account_checkpoint = time.monotonic()
        if self.outputs.flush(30) > 0:
            log.error("outputs not delivered; account checkpoint skipped")
            return False
        topic = self.service.account_state_topic
        sizes = self.account_sizes
        for p in partitions:
            for key, value in self.accounts.partitions[p].checkpoint_records():
                self.outputs.produce(topic, key, value, partition=p)
                if value is None:
                    sizes.pop((p, key), None)
                else:
                    sizes[(p, key)] = len(value)
        self.metrics.state_bytes.labels("accounts").set(sum(sizes.values()))
        return True

    async def ingest(
        self, stage: CoordinationStage, records: list[tuple[int, bytes]], stop: int
    ) -> None:
        """Ingest from the stage's next offset: the topic up to ``stop`` re-read, then
        ``records``; what the stage already applied is skipped."""
        if stop > stage.next_offset:
            missed = await self.broker_read(
                read_range,
                self.bootstrap,
                self.service.coordination_topic,
                0,
                stage.next_offset,
                stop,
            )
            records = [(m.offset(), m.value()) for m in missed] + records
        now = time.monotonic()
        for offset, value in records:
            if offset < stage.next_offset:
                self.metrics.duplicates.inc()
                continue
            stage.ingest(decode_envelope(value), now)
            stage.next_offset = offset + 1

    def release(self, stage: CoordinationStage, now: float) -> None:
        out = stage.release(now)
        self.outputs.send(
            [o for o in out if isinstance(o, Alert)], [o for o in out if isinstance(o, Action)], []
        )
        self.metrics.buffered.set(stage.pending())
        interval = self.service.checkpoint_interval_s
        if time.monotonic() - self.last_coordination_checkpoint >= interval:
            self.checkpoint_coordination()

    async def coordination_stage(self) -> CoordinationStage:
        if self.coordination is not None:
            return self.coordination
        started = time.perf_counter()
        latest = await self.broker_read(
            read_latest, self.bootstrap, self.service.coordination_state_topic, 0
        )
        blob = blob_from(latest)
        now = time.monotonic()
        if blob is None:
            stage = CoordinationStage(
                self.config, self.request_partitions, self.service.idle_flush_s
            )
        else:
            data, generation, chunks = blob
            stage = CoordinationStage.from_bytes(
                data, self.config, self.request_partitions, self.service.idle_flush_s, now
            )
            self.coordination_generation = (generation, chunks)
            self.metrics.state_bytes.labels("coordination").set(len(data))
        restored = stage.next_offset
        # As for a requests partition: the span below the committed offset is re-read now.
        topic = self.service.coordination_topic
        committed = await self.broker_read(
            committed_offsets, self.bootstrap, self.service.app_id, topic, [0]
        )
        await self.ingest(stage, [], committed[0])
        self.coordination = stage
        elapsed = time.perf_counter() - started
        self.metrics.recovery_seconds.labels("coordination").inc(elapsed)
        log.info(
            "recovered coordination stage: checkpoint at offset %d, re-read to the committed "
            "offset %d, %d buffered, in %.3f s",
            restored,
            stage.next_offset,
            stage.pending(),
            elapsed,
        )
        return stage

    def checkpoint_coordination(self) -> None:
        self.last_coordination_checkpoint = time.monotonic()
        stage = self.coordination
        if stage is None:
            return
        if self.outputs.flush(30) > 0:
            log.error("outputs not delivered; coordination checkpoint skipped")
            return
        data = stage.to_bytes()
        generation, chunks = self.coordination_generation
        records = blob_records(data, generation + 1, chunks)
        for key, value in records:
            self.outputs.produce(self.service.coordination_state_topic, key, value, partition=0)
        self.coordination_generation = (generation + 1, len(records) - 1 - chunks)
        self.metrics.state_bytes.labels("coordination").set(len(data))
