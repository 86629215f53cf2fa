"""The Faust service: thin agents wiring topics to the detection core.

Topology (every topic declared in infra/topics.toml)::

    requests (N partitions, key = account_id)
      │  intake (confluent-kafka, group <app_id>.requests): batches of raw bytes ->
      │  decode/validate -> AccountStage (per account)
      ├──> dead-letters                       (bad records, with reason and source coordinates)
      ├──> alerts / actions                   (account_extraction: a single account's finding)
      ├──> state.accounts (N, compacted)      (per-account checkpoints + per-partition progress)
      └──> internal.coordination (1 partition) envelopes: messages + watermark of partition p
             │  agent "coordination": merge in canonical order -> template, token-frequency,
             │  similarity, cluster and signature stages of the core
             ├──> alerts (key = alert_id) / actions (key = account_id)
             └──> state.coordination (1, compacted)  whole-stage checkpoints
    signatures (compacted) ──> every worker reads all of it at start, then polls for changes

The core does the detection; this module wires the worker.  Faust hosts it: the web pages,
the coordination agent, the progress timer and the signature task.  The requests topic, which
carries every API call, is consumed by ``intake`` (confluent-kafka batches in a consumer group
of its own; see there for why and for its rebalance protocol), which calls the methods of
``Service`` marked as the intake's.  The rest of the worker has a module each in
agents/service: ``recovery`` (stage state, checkpoints, the re-read), ``outputs`` (the
producer), ``signatures`` (the signature feed), ``progress`` (progress reports, stall watch),
``metrics`` and ``stall``.  Outputs are produced synchronously from each batch, so nothing
ever awaits between a state change and its outputs, and a timer can interleave only between
batches.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from typing import Any

import faust
from confluent_kafka import KafkaException, Message
from confluent_kafka.admin import AdminClient
from prometheus_client import CONTENT_TYPE_LATEST

from agents.kafka.clients import make_admin, make_batch_consumer, make_faust_app
from agents.service.console import register_console
from agents.service.intake import Intake
from agents.service.metrics import Metrics
from agents.service.outputs import Outputs
from agents.service.progress import Progress
from agents.service.recovery import Recovery
from agents.service.signatures import Signatures
from agents.service.stall import StallWatch
from agents.settings import ServiceSettings, Settings
from agents.stages.account import StageOutput
from streams.config import DetectorConfig
from streams.errors import TopicLayoutError

log = logging.getLogger(__name__)


class Service:
    """One worker: its stages (``recovery``), producer, signatures, progress and metrics, and
    the Faust app that drives them."""

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
        self.outputs = Outputs(settings, self.metrics)
        self.recovery = Recovery(service, config, request_partitions, self.outputs)
        self.progress = Progress(self.recovery, self.stalls)
        self.signatures = Signatures(settings, config, self.recovery, self.metrics)
        self.owned_requests: set[int] = set()
        self.owns_coordination = False
        self.lock_accounts = asyncio.Lock()
        self.lock_coordination = asyncio.Lock()
        self.intake = Intake(
            lambda **extra: make_batch_consumer(
                self.bootstrap,
                service.requests_group,
                settings.kafka,
                fetch_max_wait_s=service.fetch_max_wait_s,
                session_timeout_s=service.session_timeout_s,
                heartbeat_interval_s=service.heartbeat_interval_s,
                **extra,
            ),
            self.topics.requests,
            self,
            batch_max=service.batch_max,
            batch_within_s=service.batch_within_s,
            commit_interval_s=service.commit_interval_s,
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
        coordination = app.topic(service.coordination_topic, value_serializer="raw", **raw)
        app.agent(coordination, name="distillwatch.coordination")(self._coordination_agent)
        app.timer(service.watermark_interval_s, name="distillwatch.progress")(self._tick)
        app.task(self._signatures_task)
        app.on_partitions_assigned.connect(self._on_assigned)
        app.on_partitions_revoked.connect(self._on_revoked)
        app.service(self.intake)  # type: ignore[arg-type]  # an instance is started as is

        @app.page("/metrics")
        async def metrics(web: Any, request: Any) -> Any:
            return web.bytes(self.metrics.render(), headers={"Content-Type": CONTENT_TYPE_LATEST})

        @app.page("/health")
        async def health(web: Any, request: Any) -> Any:
            report = self.health()
            return web.json(report, status=503 if report["status"] == "unhealthy" else 200)

        register_console(app, self)  # /console, and the suppressions this worker honours
        return app

    def health(self) -> dict[str, Any]:
        """``starting`` until signatures are loaded, ``unhealthy`` while a partition stalls."""
        coordination = self.recovery.coordination
        stalled = sorted(self.stalls.stalled)
        if not self.signatures.ready.is_set():
            status = "starting"
        else:
            status = "unhealthy" if stalled else "ok"
        return {
            "status": status,
            "stalled_request_partitions": stalled,
            "app_id": self.service.app_id,
            "owned_request_partitions": sorted(self.owned_requests),
            "loaded_request_partitions": sorted(self.recovery.accounts.partitions),
            "owns_coordination": self.owns_coordination,
            "tracked_accounts": self.recovery.accounts.tracked_accounts(),
            "buffered_messages": 0 if coordination is None else coordination.pending(),
        }

    async def _on_assigned(self, sender: Any, assigned: set[Any], **kwargs: Any) -> None:
        """Faust's group: the coordination partition (the requests are the intake's)."""
        self.owns_coordination = any(tp.topic == self.service.coordination_topic for tp in assigned)
        self._bound_fetch_wait()
        log.info("assigned coordination=%s", self.owns_coordination)

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
        """Checkpoint the coordination stage when it is handed over; the next owner starts there."""
        if any(tp.topic == self.service.coordination_topic for tp in revoked):
            async with self.lock_coordination:
                self.owns_coordination = False
                if self.recovery.coordination is not None:
                    self.recovery.checkpoint_coordination()
                    self.outputs.flush(30)
                    self.recovery.coordination = None

    # -- the intake's (requests partitions) ---------------------------------------------------

    async def assigned(self, partitions: list[int]) -> dict[int, int]:
        """Recover each partition from its checkpoint; the intake resumes it from there."""
        async with self.lock_accounts:
            self.owned_requests |= set(partitions)
            resume = {}
            for p in partitions:
                resume[p] = (await self.recovery.account_partition(p)).next_offset
        log.info("assigned requests=%s resume at %s", partitions, resume)
        return resume

    async def revoked(self, partitions: list[int]) -> dict[int, int]:
        """Checkpoint what is handed over, then forget it; returns the offsets to commit."""
        async with self.lock_accounts:
            self.owned_requests -= set(partitions)
            loaded = sorted(set(partitions) & set(self.recovery.accounts.partitions))
            handed = {p: self.recovery.accounts.partitions[p].next_offset for p in loaded}
            if loaded and not self.recovery.checkpoint_accounts(loaded):
                handed = {}  # outputs undelivered: the next owner re-reads from the checkpoint
            self._forget(partitions)
        log.info("revoked requests=%s", partitions)
        return handed

    async def lost(self, partitions: list[int]) -> None:
        """The session expired: another worker may own these already, so no checkpoint."""
        async with self.lock_accounts:
            self.owned_requests -= set(partitions)
            self._forget(partitions)
        log.warning("lost requests %s (session expired); state dropped", partitions)

    def _forget(self, partitions: list[int]) -> None:
        for p in partitions:
            self.recovery.accounts.drop(p)
            self.stalls.forget(p)
            self.metrics.forget_partition(self.topics.requests, p)
        self.metrics.stalled_partitions.set(len(self.stalls.stalled))

    async def batch(self, messages: list[Message]) -> None:
        await self.signatures.ready.wait()
        async with self.lock_accounts:
            self._accounts_batch(messages)

    async def committable(self) -> dict[int, int]:
        """Applied offsets of the owned partitions, once the outputs they caused are delivered."""
        async with self.lock_accounts:
            if self.outputs.flush(30) > 0:
                log.error("outputs not delivered; offsets not committed")
                return {}
            parts = self.recovery.accounts.partitions
            return {p: parts[p].next_offset for p in sorted(self.owned_requests) if p in parts}

    def broker_error(self, reason: str) -> None:
        self.metrics.broker_errors.inc()
        log.warning("requests consumer: %s", reason)

    # -- the agents ---------------------------------------------------------------------------

    def _accounts_batch(self, messages: list[Message]) -> None:
        started = time.perf_counter()
        by_partition: dict[int, list[tuple[bytes | None, bytes, int, float | None]]] = {}
        owned = self.owned_requests
        for m in messages:
            p = m.partition()
            if p in owned:  # a revoked one is re-read by its new owner
                kind, ms = m.timestamp()
                by_partition.setdefault(p, []).append(
                    (m.key(), m.value(), m.offset(), ms / 1000.0 if kind else None)
                )
        if not by_partition:
            return
        out = StageOutput()
        for p in sorted(by_partition):
            records = by_partition[p]
            # The intake resumed the partition where its state ends: records follow the state
            # in offset order (gaps are offsets without records: transaction markers).
            self.recovery.apply_batch(p, self.recovery.accounts.partitions[p], records, out)
        self.recovery.account_outputs(out)
        metrics = self.metrics
        metrics.batch_seconds.labels("accounts").observe(time.perf_counter() - started)
        kind, last = messages[-1].timestamp()
        if kind:
            metrics.event_latency.labels("accounts").observe(max(0.0, time.time() - last / 1000.0))
        interval = self.service.checkpoint_interval_s
        if time.monotonic() - self.recovery.last_account_checkpoint >= interval:
            self.recovery.checkpoint_accounts(sorted(self.recovery.accounts.partitions))

    async def _coordination_agent(self, stream: Any) -> None:
        service = self.service
        async for events in stream.take_events(service.batch_max, within=service.batch_within_s):
            async with self.lock_coordination:
                await self._coordination_batch([e.message for e in events])

    async def _coordination_batch(self, messages: Sequence[Any]) -> None:
        await self.signatures.ready.wait()
        if not self.owns_coordination or not messages:
            return
        started = time.perf_counter()
        stage = await self.recovery.coordination_stage()
        records = [(m.offset, m.value) for m in messages]
        await self.recovery.ingest(stage, records, records[0][0])
        self.recovery.release(stage, time.monotonic())
        self.metrics.batch_seconds.labels("coordination").observe(time.perf_counter() - started)
        last = messages[-1].timestamp
        if last:
            self.metrics.event_latency.labels("coordination").observe(max(0.0, time.time() - last))

    # -- progress reports, idle flush and periodic checkpoints --------------------------------

    async def _tick(self) -> None:
        if not self.signatures.ready.is_set():
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
                await self.progress.report(owned, lambda p: p in self.owned_requests)
        async with self.lock_coordination:
            if self.owns_coordination:
                self.recovery.release(await self.recovery.coordination_stage(), time.monotonic())
        self.outputs.poll()

    async def _signatures_task(self) -> None:
        await self.signatures.follow(self.lock_accounts, self.lock_coordination)


def topic_partitions(admin: AdminClient, topic: str) -> int:
    """Partitions of a declared topic; a missing topic is an error (`distillwatch topics`)."""
    metadata = admin.list_topics(topic, timeout=30)
    info = metadata.topics.get(topic)
    if info is None or info.error is not None or not info.partitions:
        raise TopicLayoutError(f"topic {topic} is not declared; run `distillwatch topics`")
    return len(info.partitions)


def create_service(
    settings: Settings, service: ServiceSettings, config: DetectorConfig | None = None
) -> Service:
    """The service on the broker of ``settings``; checks that its topics are declared."""
    admin = make_admin(settings.bootstrap_servers, settings.kafka)
    requests = topic_partitions(admin, settings.topics.requests)
    state = topic_partitions(admin, service.account_state_topic)
    if state < requests:
        raise TopicLayoutError(
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
        settings.topics.decisions,
        settings.topics.suppressions,
    ):
        topic_partitions(admin, topic)
    return Service(settings, service, config or DetectorConfig(), requests)
