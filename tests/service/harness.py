"""Drives real ``distillwatch worker`` subprocesses on fresh topics of the local broker."""

from __future__ import annotations

import hashlib
import os
import re
import signal
import socket
import subprocess
import sys
import time
import tomllib
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from confluent_kafka import ConsumerGroupTopicPartitions, KafkaError, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from agents.kafka.clients import make_consumer, make_producer
from agents.settings import KafkaSecurity
from agents.tools.replay import ReplayResult, replay_records
from streams.config import DetectorConfig
from streams.detector import Detector
from streams.records import Alert, RequestEvent
from streams.wire.codecs import encode

REPO = Path(__file__).resolve().parents[2]
TOPICS_FILE = REPO / "infra" / "topics.toml"
REQUEST_PARTITIONS = 4
MALFORMED = [(b"acct-broken", b"{not json"), (b"acct-broken", b'{"schema": "request_event.v1"}')]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _declared_configs() -> dict[str, dict[str, str]]:
    """Broker configs of infra/topics.toml by role, so test topics behave like declared ones."""
    declared = tomllib.loads(TOPICS_FILE.read_text())["topics"]
    return {t["name"]: {k: str(v) for k, v in t.get("config", {}).items()} for t in declared}


@dataclass
class Deployment:
    """One isolated set of service topics plus the env that points workers at them."""

    bootstrap: str
    admin: AdminClient
    tmp: Path
    run: str = field(default_factory=lambda: uuid.uuid4().hex[:10])
    workers: list[subprocess.Popen] = field(default_factory=list)
    topics: dict[str, str] = field(default_factory=dict)
    security: KafkaSecurity | None = None  # None: this process's settings
    loglevel: str = "info"

    def create(self) -> None:
        configs = _declared_configs()
        plan = {
            # role: (env var, declared name, partitions)
            "requests": ("DISTILLWATCH_TOPICS__REQUESTS", "distillwatch.requests.v1", 4),
            "alerts": ("DISTILLWATCH_TOPICS__ALERTS", "distillwatch.alerts.v1", 2),
            "actions": ("DISTILLWATCH_TOPICS__ACTIONS", "distillwatch.actions.v1", 2),
            "signatures": ("DISTILLWATCH_TOPICS__SIGNATURES", "distillwatch.signatures.v1", 1),
            "decisions": ("DISTILLWATCH_TOPICS__DECISIONS", "distillwatch.decisions.v1", 1),
            "suppressions": (
                "DISTILLWATCH_TOPICS__SUPPRESSIONS",
                "distillwatch.suppressions.v1",
                1,
            ),
            "dead_letters": (
                "DISTILLWATCH_TOPICS__DEAD_LETTERS",
                "distillwatch.dead-letters.v1",
                1,
            ),
            "coordination": (
                "DISTILLWATCH_SERVICE__COORDINATION_TOPIC",
                "distillwatch.internal.coordination.v1",
                1,
            ),
            "account_state": (
                "DISTILLWATCH_SERVICE__ACCOUNT_STATE_TOPIC",
                "distillwatch.state.accounts.v1",
                REQUEST_PARTITIONS,
            ),
            "coordination_state": (
                "DISTILLWATCH_SERVICE__COORDINATION_STATE_TOPIC",
                "distillwatch.state.coordination.v1",
                1,
            ),
        }
        new = []
        self.env: dict[str, str] = {}
        for role, (var, declared, partitions) in plan.items():
            name = f"test.svc.{self.run}.{role}"
            self.topics[role] = name
            self.env[var] = name
            config = configs.get(declared, {})
            new.append(NewTopic(name, partitions, 1, config=config))
        for future in self.admin.create_topics(new, operation_timeout=30).values():
            future.result()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            listed = self.admin.list_topics(timeout=10).topics
            if all(
                n in listed and all(p.leader >= 0 for p in listed[n].partitions.values())
                for n in self.topics.values()
            ):
                return
            time.sleep(0.1)
        raise TimeoutError("test topics got no leaders")

    def delete(self) -> None:
        for worker in self.workers:
            if worker.poll() is None:
                worker.kill()
                worker.wait()
        names = [
            n
            for n in self.admin.list_topics(timeout=10).topics
            if n in self.topics.values() or self.run in n  # and the group's leader topic
        ]
        if names:
            for future in self.admin.delete_topics(names, operation_timeout=30).values():
                future.result()

    def start_worker(
        self, app_id: str, name: str, settings: dict[str, str] | None = None
    ) -> subprocess.Popen:
        """A worker of group ``app_id``; ``settings`` are extra ``DISTILLWATCH_*`` variables."""
        env = {
            **os.environ,
            **self.env,
            "DISTILLWATCH_BOOTSTRAP_SERVERS": self.bootstrap,
            "DISTILLWATCH_SERVICE__APP_ID": app_id,
            "DISTILLWATCH_SERVICE__DATADIR": str(self.tmp / "faust"),
            "DISTILLWATCH_SERVICE__SESSION_TIMEOUT_S": "6",
            "DISTILLWATCH_SERVICE__HEARTBEAT_INTERVAL_S": "0.5",
            "DISTILLWATCH_SERVICE__COMMIT_INTERVAL_S": "0.5",
            "DISTILLWATCH_SERVICE__CHECKPOINT_INTERVAL_S": "1",
            "DISTILLWATCH_SERVICE__IDLE_FLUSH_S": "1",
            "DISTILLWATCH_SERVICE__WATERMARK_INTERVAL_S": "0.5",
            **(settings or {}),
        }
        log = open(self.tmp / f"{name}.log", "ab")  # noqa: SIM115 - owned by the subprocess
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "agents.cli",
                "worker",
                "--loglevel",
                self.loglevel,
                "--web-port",
                str(free_port()),
            ],
            cwd=REPO,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        process.log_path = self.tmp / f"{name}.log"  # type: ignore[attr-defined]
        self.workers.append(process)
        return process

    def stop(self, process: subprocess.Popen, sig: int = signal.SIGTERM) -> None:
        if process.poll() is None:
            process.send_signal(sig)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def logs(self) -> str:
        return "\n".join(
            f"--- {p.log_path.name}\n"
            + "\n".join(p.log_path.read_text(errors="replace").splitlines()[-30:])
            for p in self.workers
        )

    def end_offsets(self, role: str) -> dict[int, int]:
        """Each partition's end offset (high watermark) as the broker reports it now."""
        topic = self.topics[role]
        consumer = make_consumer(self.bootstrap, f"w-{uuid.uuid4()}", self.security)
        try:
            parts = self.admin.list_topics(topic, timeout=10).topics[topic].partitions
            return {
                p: consumer.get_watermark_offsets(TopicPartition(topic, p), 10, cached=False)[1]
                for p in parts
            }
        finally:
            consumer.close()

    def committed(self, group: str, role: str) -> dict[int, int]:
        """The offsets ``group`` committed on a topic (partitions never committed: -1).

        A brand-new broker may answer NOT_COORDINATOR for a while: retried.
        """
        topic = self.topics[role]
        request = ConsumerGroupTopicPartitions(group)
        for _ in range(40):
            try:
                result = self.admin.list_consumer_group_offsets([request])[group].result()
            except KafkaException:
                time.sleep(0.25)
                continue
            return {
                tp.partition: max(tp.offset, -1)
                for tp in result.topic_partitions
                if tp.topic == topic
            }
        raise TimeoutError(f"offsets of group {group} not listed")

    def produce(self, events: list[RequestEvent], extra: list[tuple[bytes, bytes]] = ()) -> None:
        producer = make_producer(self.bootstrap, self.security)
        topic = self.topics["requests"]
        for event in events:
            producer.produce(topic, encode(event), event.account_id.encode())
            producer.poll(0)
        for key, value in extra:
            producer.produce(topic, value, key)
        assert producer.flush(30) == 0

    def produce_raw(self, records: list[tuple[bytes | None, bytes, int]], **config: object) -> None:
        """Raw (key, value, timestamp ms) records in this order, with producer overrides."""
        producer = make_producer(self.bootstrap, self.security, **config)
        topic = self.topics["requests"]
        for key, value, ms in records:
            producer.produce(topic, value, key, timestamp=ms)
            producer.poll(0)
        assert producer.flush(60) == 0

    def read(
        self,
        role: str,
        done: Callable[[list], bool],
        deadline_s: float,
        timestamps: bool = False,
    ) -> list:
        """(partition, offset, key, value[, broker timestamp]) records of a topic from the
        start until ``done``."""
        topic = self.topics[role]
        consumer = make_consumer(
            self.bootstrap, f"r-{uuid.uuid4()}", self.security, **{"enable.auto.commit": False}
        )
        parts = self.admin.list_topics(topic, timeout=10).topics[topic].partitions
        consumer.assign([TopicPartition(topic, p, 0) for p in parts])
        records: list = []
        deadline = time.monotonic() + deadline_s
        try:
            while not done(records) and time.monotonic() < deadline:
                for w in self.workers:
                    if w.poll() not in (None, -signal.SIGKILL, 0, -signal.SIGTERM):
                        raise AssertionError(f"worker died:\n{self.logs()}")
                for m in consumer.consume(1000, timeout=0.5):
                    if m.error() is None:
                        row = (m.partition(), m.offset(), m.key(), m.value())
                        if timestamps:
                            kind, ms = m.timestamp()
                            row = (*row, ms / 1000.0 if kind else None)
                        records.append(row)
                    elif m.error().code() != KafkaError._PARTITION_EOF:
                        raise AssertionError(m.error())
        finally:
            consumer.close()
        return records


_replayed: dict[str, ReplayResult] = {}


def reference(
    deployment: Deployment, expected_records: int, config: DetectorConfig | None = None
) -> ReplayResult:
    """Forensic replay of the deployment's requests topic with an in-process Detector."""
    records = deployment.read("requests", lambda r: len(r) >= expected_records, 60, True)
    assert len(records) == expected_records
    rows = sorted((p, o, v, ts) for p, o, _k, v, ts in records)
    digest = hashlib.sha256(repr((rows, config)).encode()).hexdigest()
    if digest not in _replayed:
        raws = [(v, "requests", p, o, ts) for p, o, v, ts in rows]
        partitions = 1 + max(p for p, *_ in rows)
        _replayed[digest] = replay_records(raws, partitions, Detector(config))
    return _replayed[digest]


def reference_alerts(deployment: Deployment, expected_records: int) -> list[Alert]:
    return reference(deployment, expected_records).alerts


def scrape(worker: subprocess.Popen) -> str:
    """The worker's Prometheus metrics as text."""
    port = worker.args[worker.args.index("--web-port") + 1]
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
        return response.read().decode()


def applied_offsets(worker: subprocess.Popen) -> dict[int, int]:
    """Per requests partition, the next offset the worker has not applied yet (its metrics)."""
    try:
        metrics = scrape(worker)
    except OSError:  # not serving yet
        return {}
    return {
        int(p): int(float(v))
        for p, v in re.findall(
            r'^distillwatch_applied_offset\{partition="(\d+)",topic="[^"]+"\} (\S+)$', metrics, re.M
        )
    }


def wait_applied_to_end(
    deployment: Deployment, worker: subprocess.Popen, deadline_s: float
) -> tuple[dict[int, int], dict[int, int]]:
    """(applied, end) offsets per requests partition once every partition is applied to its
    end, or as they stand at the deadline.  The ends are read anew each time: a transaction's
    commit markers are written after the producer returns."""
    deadline = time.monotonic() + deadline_s
    while True:
        applied, ends = applied_offsets(worker), deployment.end_offsets("requests")
        if applied == ends or time.monotonic() > deadline:
            return applied, ends
        time.sleep(0.5)


def split(events: list[RequestEvent], share: float) -> tuple[list, list]:
    cut = int(len(events) * share)
    return events[:cut], events[cut:]
