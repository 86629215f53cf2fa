"""Signatures: every worker reads the whole signatures topic before it processes any event,
then follows it and applies each change to both stages (a tombstone retracts)."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from confluent_kafka import OFFSET_BEGINNING

from agents.kafka.clients import make_reader
from agents.kafka.reader import PartitionReader
from agents.service.metrics import Metrics
from agents.service.recovery import Recovery, executor
from agents.settings import KafkaSecurity, Settings
from streams.config import DetectorConfig
from streams.errors import TopicReadError
from streams.records import DeadLetter, Signature
from streams.wire.codecs import decode_signature

log = logging.getLogger(__name__)


class Signatures:
    """Applies the signatures topic to the stages of ``recovery``."""

    def __init__(
        self, settings: Settings, config: DetectorConfig, recovery: Recovery, metrics: Metrics
    ) -> None:
        self.settings = settings
        self.config = config
        self.recovery = recovery
        self.metrics = metrics
        self.ready = asyncio.Event()
        """Set once every signature on the topic at start is applied."""

    async def follow(self, accounts: asyncio.Lock, coordination: asyncio.Lock) -> None:
        """Load every signature before any event is processed, then follow the topic; a
        change is applied holding both stages' locks."""
        settings = self.settings
        feed = SignatureFeed(settings.bootstrap_servers, settings.topics.signatures, settings.kafka)
        try:
            for record in await executor(feed.initial):
                self.apply(*record)
            self.ready.set()
            log.info("signatures loaded: %d active", len(feed.seen))
            while True:
                records = await executor(feed.poll, 1.0)
                if records:
                    async with accounts, coordination:
                        for record in records:
                            self.apply(*record)
        finally:
            feed.close()

    def apply(self, key: bytes | None, value: bytes | None, where: tuple) -> None:
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
            unsupported = self.recovery.accounts.detector.apply_signature(signature)
        except ValueError as exc:
            log.warning("signature %s refused: %s", signature.signature_id, exc)
            self.metrics.dead_letters.labels("signature_invalid_value").inc()
            return
        if unsupported:
            log.info(
                "signature %s: indicators %s cannot match", signature.signature_id, unsupported
            )
        if signature.deleted:
            self.recovery.accounts.retract_signature(signature.signature_id)
            if self.recovery.coordination is not None:
                self.recovery.coordination.detector.signatures.retract(signature.signature_id)
        log.info(
            "signature %s %s",
            signature.signature_id,
            "retracted" if signature.deleted else "applied",
        )


class SignatureFeed:
    """A group-less reader of the whole signatures topic: every worker needs every one."""

    def __init__(self, bootstrap: str, topic: str, security: KafkaSecurity) -> None:
        self.topic = topic
        consumer = make_reader(bootstrap, "distillwatch-signatures-feed", security)
        self.reader = PartitionReader(consumer, topic, hold=True)
        metadata = consumer.list_topics(topic, timeout=30).topics[topic]
        if metadata.error is not None:
            raise TopicReadError(f"signatures topic {topic}: {metadata.error}")
        self.partitions = sorted(metadata.partitions)
        self.reader.assign({p: OFFSET_BEGINNING for p in self.partitions})
        self.seen: set[str] = set()

    def initial(self) -> list[tuple[bytes | None, bytes | None, tuple]]:
        """Every record up to the end each partition had at start."""
        stops = {}
        for p in self.partitions:
            low, high = self.reader.watermarks(p, 30.0)
            if high > low:
                stops[p] = high
        try:
            return [self._record(m) for m in self.reader.read_to(stops, timeout=60.0, batch=1000)]
        except TimeoutError:
            raise TimeoutError(f"signatures topic {self.topic} not read to its end") from None

    def poll(self, timeout: float) -> list[tuple[bytes | None, bytes | None, tuple]]:
        return [self._record(m) for m in self.reader.poll(timeout)]

    def _record(self, message: Any) -> tuple[bytes | None, bytes | None, tuple]:
        key = message.key()
        if key is not None:
            if message.value() is None:
                self.seen.discard(key.decode(errors="replace"))
            else:
                self.seen.add(key.decode(errors="replace"))
        return key, message.value(), (message.topic(), message.partition(), message.offset())

    def close(self) -> None:
        self.reader.close()
