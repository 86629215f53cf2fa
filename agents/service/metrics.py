"""Prometheus metrics of one worker, in a registry of its own (served at /metrics)."""

from __future__ import annotations

import contextlib

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


class Metrics:
    def __init__(self) -> None:
        self.registry = r = CollectorRegistry()
        self.events = Counter("distillwatch_events", "Request events applied", registry=r)
        self.dead_letters = Counter(
            "distillwatch_dead_letters", "Records sent to dead letters", ["reason"], registry=r
        )
        self.alerts = Counter("distillwatch_alerts", "Alert revisions sent", ["kind"], registry=r)
        self.actions = Counter("distillwatch_actions", "Actions sent", ["action"], registry=r)
        self.misrouted = Counter(
            "distillwatch_misrouted_events",
            "Request events whose Kafka key is not their account_id",
            registry=r,
        )
        self.duplicates = Counter(
            "distillwatch_replayed_records", "Input records skipped as already applied", registry=r
        )
        self.evicted_accounts = Counter(
            "distillwatch_evicted_accounts",
            "Accounts forgotten to hold the max_accounts cap (not idle ones)",
            registry=r,
        )
        self.broker_errors = Counter(
            "distillwatch_broker_errors",
            "Broker reads that failed (broker away); retried",
            registry=r,
        )
        self.delivery_errors = Counter(
            "distillwatch_delivery_errors", "Records the producer failed to deliver", registry=r
        )
        self.tracked_accounts = Gauge(
            "distillwatch_tracked_accounts", "Accounts in worker memory", registry=r
        )
        self.state_bytes = Gauge(
            "distillwatch_state_bytes",
            "Serialised state size at the last checkpoint",
            ["stage"],
            registry=r,
        )
        self.buffered = Gauge(
            "distillwatch_buffered_messages",
            "Messages waiting for the watermark in the cross-account stage",
            registry=r,
        )
        self.lag = Gauge(
            "distillwatch_consumer_lag",
            "Records of an owned partition not yet applied",
            ["topic", "partition"],
            registry=r,
        )
        self.applied_offset = Gauge(
            "distillwatch_applied_offset",
            "Next offset of an owned partition not yet applied (its state's resume point)",
            ["topic", "partition"],
            registry=r,
        )
        self.end_offset = Gauge(
            "distillwatch_end_offset",
            "End offset of an owned partition at the last progress report",
            ["topic", "partition"],
            registry=r,
        )
        self.stalled_partitions = Gauge(
            "distillwatch_stalled_partitions",
            "Owned partitions with records to apply and no progress for stall_after_s",
            registry=r,
        )
        self.partition_stalls = Counter(
            "distillwatch_partition_stalls",
            "Times an owned partition was found stalled",
            registry=r,
        )
        self.batch_seconds = Histogram(
            "distillwatch_batch_seconds",
            "Processing time of one batch",
            ["stage"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.event_latency = Histogram(
            "distillwatch_event_latency_seconds",
            "Broker append time to processed, of each batch's last record",
            ["stage"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.recovery_seconds = Gauge(
            "distillwatch_recovery_seconds",
            "Duration of the last state recovery",
            ["stage"],
            registry=r,
        )

    def forget_partition(self, topic: str, partition: int) -> None:
        """Drop the per-partition gauges of a partition this worker no longer owns."""
        for gauge in (self.lag, self.applied_offset, self.end_offset):
            with contextlib.suppress(KeyError):  # never reported
                gauge.remove(topic, str(partition))

    def render(self) -> bytes:
        return generate_latest(self.registry)
