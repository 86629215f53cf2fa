"""What a worker sends: alerts, actions and dead letters, envelopes and checkpoints.

Every record goes through one confluent-kafka producer (murmur2 partitioning, like the Java
clients), synchronously from the agent, so no agent ever awaits between a state change and
its outputs.  A full local queue is waited out, never dropped; a failed delivery is logged and
counted.
"""

from __future__ import annotations

import logging
from typing import Any

from confluent_kafka import KafkaError

from agents.kafka.clients import make_producer
from agents.service.metrics import Metrics
from agents.settings import Settings
from streams.records import Action, Alert, DeadLetter
from streams.wire.codecs import encode, fit_dead_letter

log = logging.getLogger(__name__)


class Outputs:
    """The worker's producer and the topics its findings go to."""

    def __init__(self, settings: Settings, metrics: Metrics) -> None:
        self.bootstrap = settings.bootstrap_servers
        self.topics = settings.topics
        self.metrics = metrics
        self.producer = make_producer(
            settings.bootstrap_servers,
            settings.kafka,
            **{
                "linger.ms": 5,
                "compression.type": "none",
                "message.max.bytes": 4 * 1024 * 1024,
            },
        )

    def send(
        self, alerts: list[Alert], actions: list[Action], dead_letters: list[DeadLetter]
    ) -> None:
        topics = self.topics
        metrics = self.metrics
        for dead in dead_letters:
            self.produce(topics.dead_letters, None, encode(fit_dead_letter(dead)))
            metrics.dead_letters.labels(dead.reason).inc()
        for alert in alerts:
            self.produce(topics.alerts, alert.alert_id.encode(), encode(alert))
            metrics.alerts.labels(alert.kind).inc()
        for action in actions:
            self.produce(topics.actions, action.account_id.encode(), encode(action))
            metrics.actions.labels(action.action).inc()
        self.producer.poll(0)

    def produce(
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

    def flush(self, timeout: float) -> int:
        """Wait for every record sent so far; returns how many are still undelivered."""
        return self.producer.flush(timeout)

    def poll(self) -> None:
        """Serve delivery reports without waiting."""
        self.producer.poll(0)

    def _delivered(self, error: KafkaError | None, message: Any) -> None:
        if error is not None:
            self.metrics.delivery_errors.inc()
            log.error("delivery to %s failed: %s", message.topic(), error)
