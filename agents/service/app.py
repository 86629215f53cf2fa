"""The Faust service: thin agents wiring topics to the detection core.

Topology (every topic declared in infra/topics.toml)::

    requests (N partitions, key = account_id)
      │  agent "accounts": batches of raw bytes -> decode/validate -> AccountStage (per account)
      ├──> dead-letters                       (bad records, with reason and source coordinates)
      ├──> alerts / actions                   (account_extraction: a single account's finding)
      ├──> state.accounts (N, compacted)      (per-account checkpoints + per-partition progress)
      └──> internal.coordination (1 partition) envelopes: messages + watermark of partition p
             │  agent "coordination": merge in canonical order -> template, token-frequency,
             │  similarity, cluster and signature stages of the core
             ├──> alerts (key = alert_id) / actions (key = account_id)
             └──> state.coordination (1, compacted)  whole-stage checkpoints
    signatures (compacted) ──> every worker reads all of it at start, then polls for changes

The core does the detection; this module only moves bytes, owns partitions, checkpoints state
and exposes metrics.  Outputs are produced with confluent-kafka (murmur2 partitioning, like the
Java clients), synchronously from the agent, so no agent ever awaits between a state change and
its outputs, and a timer can interleave only between batches.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import faust
from confluent_kafka import OFFSET_BEGINNING, KafkaError, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient
from prometheus_client import CONTENT_TYPE_LATEST

from agents.kafka.checkpoint import (
    blob_from,
    blob_records,
    committed_offsets,
    high_watermarks,
    read_latest,
    read_range,
)
from agents.kafka.clients import make_admin, make_faust_app, make_producer, make_reader
from agents.service.metrics import Metrics
from agents.service.stall import StallWatch
from agents.settings import KafkaSecurity, ServiceSettings, Settings
from agents.stages.account import AccountStage, PartitionState, StageOutput
from agents.stages.coordination import CoordinationStage
from agents.stages.envelope import decode_envelope, encode_envelope
from streams.config import DetectorConfig
from streams.records import Action, Alert, DeadLetter, Signature
from streams.wire.codecs import decode_signature, encode, fit_dead_letter

log = logging.getLogger(__name__)
T = TypeVar("T")


class Service:
    """One worker's stages, producer and metrics, and the Faust app that drives them."""

    def __init__(
        self,
        settings: Settings,
        service: ServiceSettings,
        config: DetectorConfig,
        request_partitions: int,
    ) -> None:
        self.settings = settings
        self.service = service
        self.config = config
        self.bootstrap = settings.bootstrap_servers
        self.topics = settings.topics
        self.request_partitions = request_partitions
        self.metrics = Metrics()
        self.stalls = StallWatch(service.stall_after_s)
        self.accounts = AccountStage(config, self.topics.requests)
        self.coordination: CoordinationStage | None = None
        self.coordination_generation = (0, 0)  # (generation, chunks) of the last checkpoint
        self.owned_requests: set[int] = set()
        self.owns_coordination = False
        self.account_sizes: dict[tuple[int, bytes], int] = {}
        self.lock_accounts = asyncio.Lock()
        self.lock_coordination = asyncio.Lock()
        self.signatures_ready = asyncio.Event()
        self.last_account_checkpoint = time.monotonic()
        self.last_coordination_checkpoint = time.monotonic()
        self.producer = make_producer(
            self.bootstrap,
            settings.kafka,
            **{
                "linger.ms": 5,
                "compression.type": "none",
                "message.max.bytes": 4 * 1024 * 1024,
            },
        )
        self.app = self._build_app()

    # -- Faust wiring -------------------------------------------------------------------------

    def _build_app(self) -> faust.App:
        service = self.service
        service.datadir.mkdir(parents=True, exist_ok=True)
        app = make_faust_app(
            service.app_id,
            self.bootstrap,
            self.settings.kafka,
            store="memory://",
            datadir=str(service.datadir / service.app_id),
            topic_replication_factor=1,
            web_enabled=True,
            web_bind=service.web_host,
            web_port=service.web_port,
            broker_session_timeout=service.session_timeout_s,
            broker_heartbeat_interval=service.heartbeat_interval_s,
            broker_commit_interval=service.commit_interval_s,
            key_serializer="raw",
            value_serializer="raw",
        )
        raw = {"key_type": bytes, "value_type": bytes, "key_serializer": "raw"}
        requests = app.topic(self.topics.requests, value_serializer="raw", **raw)
        coordination = app.topic(service.coordination_topic, value_serializer="raw", **raw)
        app.agent(requests, name="distillwatch.accounts")(self._accounts_agent)
        app.agent(coordination, name="distillwatch.coordination")(self._coordination_agent)
        app.timer(service.watermark_interval_s, name="distillwatch.progress")(self._tick)
        app.task(self._signatures_task)
        app.on_partitions_assigned.connect(self._on_assigned)
        app.on_partitions_revoked.connect(self._on_revoked)

        @app.page("/metrics")
        async def metrics(web: Any, request: Any) -> Any:
            return web.bytes(self.metrics.render(), headers={"Content-Type": CONTENT_TYPE_LATEST})

        @app.page("/health")
        async def health(web: Any, request: Any) -> Any:
            report = self.health()
            return web.json(report, status=503 if report["status"] == "unhealthy" else 200)

        return app

    def health(self) -> dict[str, Any]:
        """``starting`` until signatures are loaded, ``unhealthy`` while a partition stalls."""
        coordination = self.coordination
        stalled = sorted(self.stalls.stalled)
        if not self.signatures_ready.is_set():
            status = "starting"
        else:
            status = "unhealthy" if stalled else "ok"
        return {
            "status": status,
            "stalled_request_partitions": stalled,
            "app_id": self.service.app_id,
            "owned_request_partitions": sorted(self.owned_requests),
            "loaded_request_partitions": sorted(self.accounts.partitions),
            "owns_coordination": self.owns_coordination,
            "tracked_accounts": self.accounts.tracked_accounts(),
            "buffered_messages": 0 if coordination is None else coordination.pending(),
        }

    async def _on_assigned(self, sender: Any, assigned: set[Any], **kwargs: Any) -> None:
        self.owned_requests = {tp.partition for tp in assigned if tp.topic == self.topics.requests}
        self.owns_coordination = any(tp.topic == self.service.coordination_topic for tp in assigned)
        self._bound_fetch_wait()
        log.info(
            "assigned requests=%s coordination=%s",
            sorted(self.owned_requests),
            self.owns_coordination,
        )

    def _bound_fetch_wait(self) -> None:
        """Cap how long the broker may hold a fetch that finds no new records.

        One consumer fetches the requests and the coordination partitions.  aiokafka leaves a
        partition whose records are not yet consumed out of the next fetch, and sends no other
        fetch to the broker while one is pending; so a partition consumed just after a fetch
        went out waits for that fetch to return: at once if one of its partitions gets records,
        after the fetch's max wait if none does.  Faust hard-codes that wait at 1.5 s, and under
        paced traffic records queued there for seconds while the worker idled.  Set here because
        Faust has no setting for it; the fetcher reads it for every fetch it builds.
        """
        thread = getattr(self.app.consumer, "_thread", None)
        fetcher = getattr(getattr(thread, "_consumer", None), "_fetcher", None)
        if fetcher is None:
            log.warning("aiokafka fetcher not found; fetch max wait left at Faust's 1.5 s")
            return
        fetcher._fetch_max_wait_ms = round(self.service.fetch_max_wait_s * 1000)
        log.info("fetch max wait bounded to %d ms", fetcher._fetch_max_wait_ms)

    async def _on_revoked(self, sender: Any, revoked: set[Any], **kwargs: Any) -> None:
        """Checkpoint what is handed over, then forget it: the next owner starts from there."""
        lost = {tp.partition for tp in revoked if tp.topic == self.topics.requests}
        async with self.lock_accounts:
            self.owned_requests -= lost
            loaded = sorted(lost & set(self.accounts.partitions))
            if loaded and self._checkpoint_accounts(loaded):
                self.producer.flush(30)
            for p in loaded:
                self.accounts.drop(p)
            for p in lost:
                self.stalls.forget(p)
                self.metrics.forget_partition(self.topics.requests, p)
            self.metrics.stalled_partitions.set(len(self.stalls.stalled))
        if any(tp.topic == self.service.coordination_topic for tp in revoked):
            async with self.lock_coordination:
                self.owns_coordination = False
                if self.coordination is not None:
                    self._checkpoint_coordination()
                    self.producer.flush(30)
                    self.coordination = None

    async def _executor(self, fun: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(None, fun, *args)

    async def _broker_read(self, fun: Callable[..., T], *args: Any) -> T:
        """A read the current batch cannot go without: retried while the broker is away.

        Raised out of an agent it would drop the batch after earlier partitions of it were
        applied but before their outputs were sent.
        """
        delay = 0.5
        while True:
            try:
                return await self._executor(fun, *args)
            except (KafkaException, TimeoutError) as exc:  # TimeoutError: a read that stalled
                self.metrics.broker_errors.inc()
                log.warning("broker read failed, retrying in %.1f s: %s", delay, exc)
                await asyncio.sleep(delay)
                delay = min(2 * delay, 10.0)

    # -- account stage ------------------------------------------------------------------------

    async def _accounts_agent(self, stream: Any) -> None:
        service = self.service
        async for events in stream.take_events(service.batch_max, within=service.batch_within_s):
            async with self.lock_accounts:
                await self._accounts_batch(events)

    async def _accounts_batch(self, events: Sequence[Any]) -> None:
        await self.signatures_ready.wait()
        started = time.perf_counter()
        by_partition: dict[int, list[tuple[bytes | None, bytes, int, float | None]]] = {}
        for event in events:
            m = event.message
            if m.partition in self.owned_requests:  # a revoked one is re-read by its new owner
                by_partition.setdefault(m.partition, []).append(
                    (m.key, m.value, m.offset, m.timestamp)
                )
        if not by_partition:
            return
        out = StageOutput()
        for p in sorted(by_partition):
            records = by_partition[p]
            part = await self._account_partition(p)
            # Recovery re-read up to where the consumer resumed, so the first record follows
            # the state; were the consumer ever to jump ahead, the jump is re-read, not lost.
            await self._apply_accounts(p, part, records, records[0][2], out)
        self._account_outputs(out)
        metrics = self.metrics
        metrics.batch_seconds.labels("accounts").observe(time.perf_counter() - started)
        last = events[-1].message.timestamp
        if last:
            metrics.event_latency.labels("accounts").observe(max(0.0, time.time() - last))
        if time.monotonic() - self.last_account_checkpoint >= self.service.checkpoint_interval_s:
            self._checkpoint_accounts(sorted(self.accounts.partitions))

    async def _apply_accounts(
        self,
        p: int,
        part: PartitionState,
        records: list[tuple[bytes | None, bytes, int, float | None]],
        stop: int,
        out: StageOutput,
    ) -> None:
        """Apply partition ``p`` from its state's next offset: the input up to ``stop`` re-read
        from the broker, then ``records``, each batch's messages in one envelope to the
        cross-account stage.  The re-read goes in batches of ``batch_max`` records, so neither
        memory nor an envelope grows with the span."""
        while part.next_offset < stop:
            end = min(stop, part.next_offset + self.service.batch_max)
            missed = await self._broker_read(
                read_range, self.bootstrap, self.topics.requests, p, part.next_offset, end
            )
            self._apply_batch(p, part, [_coordinates(m) for m in missed], out)
            # every record below ``end`` is applied now: offsets that held none (deleted by
            # retention, transaction markers) are passed too, or the loop would not end
            part.next_offset = max(part.next_offset, end)
        if records:
            self._apply_batch(p, part, records, out)

    def _apply_batch(
        self,
        p: int,
        part: PartitionState,
        records: list[tuple[bytes | None, bytes, int, float | None]],
        out: StageOutput,
    ) -> None:
        out.entries = []
        self.accounts.process(p, records, out)
        self._produce(
            self.service.coordination_topic,
            b"%d" % p,
            encode_envelope(part.envelope(out.entries, caught_up=False)),
        )

    def _account_outputs(self, out: StageOutput) -> None:
        self._send(out.alerts, out.actions, out.dead_letters)
        metrics = self.metrics
        metrics.events.inc(out.events)
        metrics.duplicates.inc(out.skipped)
        metrics.misrouted.inc(out.misrouted)
        metrics.evicted_accounts.inc(out.evicted)
        metrics.tracked_accounts.set(self.accounts.tracked_accounts())

    async def _account_partition(self, p: int) -> PartitionState:
        """The partition's state, recovered the first time it is needed.

        Recovery is the checkpoint plus the input between the checkpoint and the group's
        committed offset.  The consumer resumes at the committed offset and never fetches what
        lies below it again, so that span is re-read here, at once: were it left to the next
        fetched record, a partition whose committed offset is already its end (a worker killed
        after committing but before checkpointing) would never be applied.
        """
        part = self.accounts.partitions.get(p)
        if part is not None:
            return part
        started = time.perf_counter()
        latest = await self._broker_read(
            read_latest, self.bootstrap, self.service.account_state_topic, p
        )
        part = self.accounts.partition(p)
        part.restore(latest, self.config)
        self.account_sizes.update(((p, k), len(v)) for k, v in latest.items())
        restored = part.next_offset
        committed = await self._broker_read(
            committed_offsets, self.bootstrap, self.service.app_id, self.topics.requests, [p]
        )
        if committed[p] > restored:
            out = StageOutput()
            await self._apply_accounts(p, part, [], committed[p], out)
            self._account_outputs(out)
        elapsed = time.perf_counter() - started
        self.metrics.recovery_seconds.labels("accounts").inc(elapsed)
        log.info(
            "recovered requests partition %d: %d accounts, checkpoint at offset %d, "
            "re-read to the committed offset %d, in %.3f s",
            p,
            len(part.profiler.states),
            restored,
            part.next_offset,
            elapsed,
        )
        return part

    def _checkpoint_accounts(self, partitions: list[int]) -> bool:
        """Outputs first (an account state must never be ahead of what was sent), then state."""
        self.last_account_checkpoint = time.monotonic()
        if self.producer.flush(30) > 0:
            log.error("outputs not delivered; account checkpoint skipped")
            return False
        topic = self.service.account_state_topic
        sizes = self.account_sizes
        for p in partitions:
            for key, value in self.accounts.partitions[p].checkpoint_records():
                self._produce(topic, key, value, partition=p)
                if value is None:
                    sizes.pop((p, key), None)
                else:
                    sizes[(p, key)] = len(value)
        self.metrics.state_bytes.labels("accounts").set(sum(sizes.values()))
        return True

    # -- cross-account stage ------------------------------------------------------------------

    async def _coordination_agent(self, stream: Any) -> None:
        service = self.service
        async for events in stream.take_events(service.batch_max, within=service.batch_within_s):
            async with self.lock_coordination:
                await self._coordination_batch([e.message for e in events])

    async def _coordination_batch(self, messages: Sequence[Any]) -> None:
        await self.signatures_ready.wait()
        if not self.owns_coordination or not messages:
            return
        started = time.perf_counter()
        stage = await self._coordination_stage()
        records = [(m.offset, m.value) for m in messages]
        await self._ingest(stage, records, records[0][0])
        self._release(stage, time.monotonic())
        self.metrics.batch_seconds.labels("coordination").observe(time.perf_counter() - started)
        last = messages[-1].timestamp
        if last:
            self.metrics.event_latency.labels("coordination").observe(max(0.0, time.time() - last))

    async def _ingest(
        self, stage: CoordinationStage, records: list[tuple[int, bytes]], stop: int
    ) -> None:
        """Ingest from the stage's next offset: the topic up to ``stop`` re-read, then
        ``records``; what the stage already applied is skipped."""
        if stop > stage.next_offset:
            missed = await self._broker_read(
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

    def _release(self, stage: CoordinationStage, now: float) -> None:
        out = stage.release(now)
        self._send(
            [o for o in out if isinstance(o, Alert)], [o for o in out if isinstance(o, Action)], []
        )
        self.metrics.buffered.set(stage.pending())
        interval = self.service.checkpoint_interval_s
        if time.monotonic() - self.last_coordination_checkpoint >= interval:
            self._checkpoint_coordination()

    async def _coordination_stage(self) -> CoordinationStage:
        if self.coordination is not None:
            return self.coordination
        started = time.perf_counter()
        latest = await self._broker_read(
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
        committed = await self._broker_read(
            committed_offsets, self.bootstrap, self.service.app_id, topic, [0]
        )
        await self._ingest(stage, [], committed[0])
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

    def _checkpoint_coordination(self) -> None:
        self.last_coordination_checkpoint = time.monotonic()
        stage = self.coordination
        if stage is None:
            return
        if self.producer.flush(30) > 0:
            log.error("outputs not delivered; coordination checkpoint skipped")
            return
        data = stage.to_bytes()
        generation, chunks = self.coordination_generation
        records = blob_records(data, generation + 1, chunks)
        for key, value in records:
            self._produce(self.service.coordination_state_topic, key, value, partition=0)
        self.coordination_generation = (generation + 1, len(records) - 1 - chunks)
        self.metrics.state_bytes.labels("coordination").set(len(data))

    # -- progress reports, idle flush and periodic checkpoints --------------------------------

    async def _tick(self) -> None:
        if not self.signatures_ready.is_set():
            return
        try:
            await self._progress()
        except KafkaException as exc:
            # The broker is away (a restart, the network): skip this report, the next tick
            # retries.  Raised out of a timer it would stop the whole worker.
            self.metrics.broker_errors.inc()
            log.warning("progress report skipped, broker unavailable: %s", exc)

    async def _progress(self) -> None:
        async with self.lock_accounts:
            owned = sorted(self.owned_requests)
            if owned:
                for p in owned:
                    await self._account_partition(p)
                highs = await self._executor(
                    high_watermarks, self.bootstrap, self.topics.requests, owned
                )
                now = time.monotonic()
                for p in owned:
                    part = self.accounts.partitions.get(p)
                    if part is None or p not in self.owned_requests:
                        continue
                    await self._report_progress(p, part, highs[p], now)
                    lag = max(0, highs[p] - part.next_offset)
                    self._produce(
                        self.service.coordination_topic,
                        b"%d" % p,
                        encode_envelope(part.envelope([], caught_up=lag == 0)),
                    )
                self.metrics.stalled_partitions.set(len(self.stalls.stalled))
                interval = self.service.checkpoint_interval_s
                if time.monotonic() - self.last_account_checkpoint >= interval:
                    self._checkpoint_accounts(sorted(self.accounts.partitions))
        async with self.lock_coordination:
            if self.owns_coordination:
                self._release(await self._coordination_stage(), time.monotonic())
        self.producer.poll(0)

    async def _report_progress(self, p: int, part: PartitionState, end: int, now: float) -> None:
        """Gauges of one owned requests partition, and its stall status.

        Before a partition is called stalled, the offsets between its state and the end are
        read: offsets that hold no record a consumer is given (transaction markers, aborted
        transactions) are nothing to apply, and the state is advanced past them.  Without
        that a gateway producing in transactions would show a lag that never drains.
        """
        stalls = self.stalls
        if (
            part.next_offset < end
            and p not in stalls.stalled
            and stalls.idle_for(p, now) >= stalls.after_s
        ):
            head = await self._broker_read(
                read_range, self.bootstrap, self.topics.requests, p, part.next_offset, end, 30.0, 1
            )
            if not head:
                part.next_offset = end
        applied = part.next_offset
        labels = (self.topics.requests, str(p))
        metrics = self.metrics
        metrics.lag.labels(*labels).set(max(0, end - applied))
        metrics.applied_offset.labels(*labels).set(applied)
        metrics.end_offset.labels(*labels).set(end)
        change = stalls.observe(p, applied, end, now)
        if change is True:
            metrics.partition_stalls.inc()
            log.error(
                "requests partition %d stalled: applied to offset %d of %d, no progress for %.0f s",
                p,
                applied,
                end,
                stalls.idle_for(p, now),
            )
        elif change is False:
            log.warning("requests partition %d progresses again (offset %d of %d)", p, applied, end)

    # -- signatures ---------------------------------------------------------------------------

    async def _signatures_task(self) -> None:
        """Load every signature before any event is processed, then follow the topic."""
        feed = SignatureFeed(self.bootstrap, self.topics.signatures, self.settings.kafka)
        try:
            for record in await self._executor(feed.initial):
                self._apply_signature(*record)
            self.signatures_ready.set()
            log.info("signatures loaded: %d active", len(feed.seen))
            while True:
                records = await self._executor(feed.poll, 1.0)
                if records:
                    async with self.lock_accounts, self.lock_coordination:
                        for record in records:
                            self._apply_signature(*record)
        finally:
            feed.close()

    def _apply_signature(self, key: bytes | None, value: bytes | None, where: tuple) -> None:
        if value is None:
            if key is None:
                return
            signature: Signature | DeadLetter = Signature(
                key.decode(), "tombstone", 0.0, deleted=True
            )
        else:
            signature = decode_signature(
                value,
                topic=where[0],
                partition=where[1],
                offset=where[2],
                max_record_bytes=self.config.max_record_bytes,
            )
        if isinstance(signature, DeadLetter):
            log.warning("signature refused: %s %s", signature.reason, signature.detail)
            self.metrics.dead_letters.labels(f"signature_{signature.reason}").inc()
            return
        try:
            unsupported = self.accounts.detector.apply_signature(signature)
        except ValueError as exc:
            log.warning("signature %s refused: %s", signature.signature_id, exc)
            self.metrics.dead_letters.labels("signature_invalid_value").inc()
            return
        if unsupported:
            log.info(
                "signature %s: indicators %s cannot match", signature.signature_id, unsupported
            )
        if signature.deleted:
            self.accounts.retract_signature(signature.signature_id)
            if self.coordination is not None:
                self.coordination.detector.signatures.retract(signature.signature_id)
        log.info(
            "signature %s %s",
            signature.signature_id,
            "retracted" if signature.deleted else "applied",
        )

    # -- output -------------------------------------------------------------------------------

    def _send(
        self, alerts: list[Alert], actions: list[Action], dead_letters: list[DeadLetter]
    ) -> None:
        topics = self.topics
        metrics = self.metrics
        for dead in dead_letters:
            self._produce(topics.dead_letters, None, encode(fit_dead_letter(dead)))
            metrics.dead_letters.labels(dead.reason).inc()
        for alert in alerts:
            self._produce(topics.alerts, alert.alert_id.encode(), encode(alert))
            metrics.alerts.labels(alert.kind).inc()
        for action in actions:
            self._produce(topics.actions, action.account_id.encode(), encode(action))
            metrics.actions.labels(action.action).inc()
        self.producer.poll(0)

    def _produce(
        self, topic: str, key: bytes | None, value: bytes | None, partition: int | None = None
    ) -> None:
        kwargs: dict[str, Any] = {"on_delivery": self._delivered}
        if partition is not None:
            kwargs["partition"] = partition
        while True:
            try:
                self.producer.produce(topic, value, key, **kwargs)
                return
            except BufferError:
                self.producer.poll(0.05)

    def _delivered(self, error: KafkaError | None, message: Any) -> None:
        if error is not None:
            self.metrics.delivery_errors.inc()
            log.error("delivery to %s failed: %s", message.topic(), error)


class SignatureFeed:
    """A group-less consumer of the whole signatures topic: every worker needs every one."""

    def __init__(self, bootstrap: str, topic: str, security: KafkaSecurity) -> None:
        self.topic = topic
        self.consumer = make_reader(bootstrap, "distillwatch-signatures-feed", security)
        metadata = self.consumer.list_topics(topic, timeout=30).topics[topic]
        if metadata.error is not None:
            raise RuntimeError(f"signatures topic {topic}: {metadata.error}")
        self.partitions = sorted(metadata.partitions)
        self.consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in self.partitions])
        self.seen: set[str] = set()

    def initial(self) -> list[tuple[bytes | None, bytes | None, tuple]]:
        """Every record up to the end of each partition at start."""
        at_end: set[int] = set()
        out: list[tuple[bytes | None, bytes | None, tuple]] = []
        deadline = time.monotonic() + 60.0
        while len(at_end) < len(self.partitions):
            if time.monotonic() > deadline:
                raise TimeoutError(f"signatures topic {self.topic} not read to its end")
            for message in self.consumer.consume(1000, timeout=0.05):
                error = message.error()
                if error is not None:
                    if error.code() == KafkaError._PARTITION_EOF:
                        at_end.add(message.partition())
                        continue
                    raise RuntimeError(f"reading signatures: {error}")
                out.append(self._record(message))
        return out

    def poll(self, timeout: float) -> list[tuple[bytes | None, bytes | None, tuple]]:
        return [
            self._record(m)
            for m in self.consumer.consume(1000, timeout=timeout)
            if m.error() is None
        ]

    def _record(self, message: Any) -> tuple[bytes | None, bytes | None, tuple]:
        key = message.key()
        if key is not None:
            if message.value() is None:
                self.seen.discard(key.decode(errors="replace"))
            else:
                self.seen.add(key.decode(errors="replace"))
        return key, message.value(), (message.topic(), message.partition(), message.offset())

    def close(self) -> None:
        self.consumer.close()


def _coordinates(message: Any) -> tuple[bytes | None, bytes, int, float | None]:
    kind, ms = message.timestamp()
    return message.key(), message.value(), message.offset(), ms / 1000.0 if kind else None


def topic_partitions(admin: AdminClient, topic: str) -> int:
    """Partitions of a declared topic; a missing topic is an error (`distillwatch topics`)."""
    metadata = admin.list_topics(topic, timeout=30)
    info = metadata.topics.get(topic)
    if info is None or info.error is not None or not info.partitions:
        raise RuntimeError(f"topic {topic} is not declared; run `distillwatch topics`")
    return len(info.partitions)


def create_service(
    settings: Settings, service: ServiceSettings, config: DetectorConfig | None = None
) -> Service:
    """The service on the broker of ``settings``; checks that its topics are declared."""
    admin = make_admin(settings.bootstrap_servers, settings.kafka)
    requests = topic_partitions(admin, settings.topics.requests)
    state = topic_partitions(admin, service.account_state_topic)
    if state < requests:
        raise RuntimeError(
            f"{service.account_state_topic} has {state} partitions, fewer than the "
            f"{requests} of {settings.topics.requests}: checkpoints are written per partition"
        )
    for topic in (
        service.coordination_topic,
        service.coordination_state_topic,
        settings.topics.alerts,
        settings.topics.actions,
        settings.topics.dead_letters,
        settings.topics.signatures,
    ):
        topic_partitions(admin, topic)
    return Service(settings, service, config or DetectorConfig(), requests)
