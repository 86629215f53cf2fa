"""Forensic replay (``distillwatch replay``): the detection core over recorded traffic.

Replay is the same code path as the live service: raw bytes go through
``streams.wire.codecs.decode_requests`` (native), valid events through each partition's
``streams.stages.admission.Admission`` in offset order, and admitted ones through
``streams.detector.Detector`` in the service's canonical order
(``agents.stages.coordination``), so a recorded range yields the alerts the service emitted
for it.  Records of a file are placed on the partition the requests topic would give their
account, in file order; they carry no broker timestamp, so a file replay cannot refuse
``future_event``s.  Records the decoder or the admission refuses are counted and, on request,
written as dead-letter records; they are never dropped silently.

Sources: a JSONL file (optionally gzip) of request events, or a Kafka topic between two
instants (located with offsets-for-times on the broker's record timestamps).
Sinks: an alerts JSONL file, or an alerts topic (keyed by ``alert_id``).
"""

from __future__ import annotations

import gzip
import sys
from collections.abc import Iterable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import IO, Any

from streams.errors import DeliveryError, TopicsFileError
from streams.records import Action, Alert, DeadLetter, PartitionRecord, RawRecord, RequestEvent

Output = Alert | Action


@dataclass
class ReplayResult:
    """What a replay produced; the CLI prints ``summary`` as JSON."""

    alerts: list[Alert] = field(default_factory=list)
    actions: list[Action] = field(default_factory=list)
    dead_letters: list[DeadLetter] = field(default_factory=list)
    events: int = 0

    @property
    def summary(self) -> dict[str, Any]:
        kinds: dict[str, int] = {}
        for alert in self.alerts:
            kinds[alert.kind] = kinds.get(alert.kind, 0) + 1
        return {
            "events": self.events,
            "dead_letters": len(self.dead_letters),
            "alert_records": len(self.alerts),
            "alert_ids": len({a.alert_id for a in self.alerts}),
            "alerts_by_kind": dict(sorted(kinds.items())),
            "actions": len(self.actions),
        }


def replay_records(
    records: Iterable[RawRecord | bytes], partitions: int, detector: Any | None = None
) -> ReplayResult:
    """Run raw records through the service's own two stages, in process.

    Each partition's records go through ``agents.stages.account.AccountStage`` in offset
    order (decoding, admission, account profiles and their caps, as a worker applies them),
    then every partition's messages through ``agents.stages.coordination.CoordinationStage`` in the
    canonical order, with every partition caught up.  ``partitions`` is the requests topic's
    partition count: records without a partition (lines of a file) are placed where the topic
    would put their account, with their line number as offset.  ``detector`` lends its
    configuration and signature book to both stages.
    """
    from agents.kafka.topics import partition_for
    from agents.stages.account import AccountStage, StageOutput
    from agents.stages.coordination import CoordinationStage
    from agents.stages.envelope import Envelope
    from streams.detector import Detector
    from streams.wire.codecs import decode_request

    detector = detector or Detector()
    config = detector.config
    by_partition: dict[int, list[PartitionRecord]] = {}
    sources: dict[tuple[int, int], tuple[int, RawRecord]] = {}
    for index, item in enumerate(records):
        raw = _raw_record(item)
        value, _topic, partition, offset, record_ts = raw
        if offset is None:
            offset = index
        if partition is None:
            event = decode_request(
                value,
                max_prompt_bytes=config.max_prompt_bytes,
                max_record_bytes=config.max_record_bytes,
            )
            partition = (
                partition_for(event.account_id, partitions)
                if isinstance(event, RequestEvent)
                else 0
            )
        by_partition.setdefault(partition, []).append(
            PartitionRecord(None, value, offset, record_ts)
        )
        sources[(partition, offset)] = (index, raw)

    accounts = AccountStage(config, "")
    accounts.detector = detector
    coordination = CoordinationStage(config, max(partitions, 1 + max(by_partition, default=0)), 0.0)
    coordination.detector = detector
    out = StageOutput()
    for partition in sorted(by_partition):
        rows = sorted(by_partition[partition], key=lambda row: row.offset)
        out.entries = []
        accounts.process(partition, rows, out)
        part = accounts.partitions[partition]
        coordination.ingest(part.envelope(out.entries, caught_up=True), 0.0)
    for partition in range(coordination.partitions):  # partitions without records hold nothing
        if partition not in by_partition:
            coordination.ingest(Envelope(partition, 0, None, True, []), 0.0)
    released = coordination.release(0.0)

    result = ReplayResult(events=out.events)
    for item in [*out.alerts, *out.actions, *released]:
        (result.alerts if isinstance(item, Alert) else result.actions).append(item)
    result.alerts.sort(key=lambda alert: alert.ts)
    result.actions.sort(key=lambda action: action.ts)
    letters = []
    for letter in out.dead_letters:
        index, raw = sources[(letter.source_partition, letter.source_offset)]
        letters.append(
            (
                index,
                replace(
                    letter,
                    source_topic=raw.topic,
                    source_partition=raw.partition,
                    source_offset=raw.offset,
                ),
            )
        )
    letters.sort(key=lambda pair: pair[0])
    result.dead_letters = [letter for _index, letter in letters]
    return result


def requests_partitions(settings: Any) -> int:
    """Partitions of the requests topic as declared in infra/topics.toml."""
    from agents.kafka.topics import load_topics

    for spec in load_topics(settings.topics_file):
        if spec.name == settings.topics.requests:
            return spec.partitions
    raise TopicsFileError(
        f"replay: {settings.topics.requests} is not declared in {settings.topics_file}"
    )


def _raw_record(item: RawRecord | tuple | bytes) -> RawRecord:
    """A bare value is a record from nowhere; a plain tuple has ``RawRecord``'s fields."""
    if isinstance(item, RawRecord):
        return item
    return RawRecord(*item) if isinstance(item, tuple) else RawRecord(item)


def read_jsonl(path: Path) -> Iterator[RawRecord]:
    """Lines of a JSONL file as raw records with their line number as the offset."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as handle:
        for number, line in enumerate(handle, start=1):
            line = line.rstrip(b"\r\n")
            if line.strip():
                yield RawRecord(line, str(path), None, number)


def read_topic(
    bootstrap: str, topic: str, since: float | None, until: float | None, progress: bool
) -> Iterator[RawRecord]:
    """Records of ``topic`` whose broker timestamp is in ``[since, until)``.

    ``agents.kafka.reader`` finds the start with offsets-for-times and reads each partition up
    to the end offset it had when the replay began, so a live topic still terminates.
    """
    from agents.kafka.reader import read_records

    until_ms = int(until * 1000) if until is not None else None
    with _Progress(progress, f"replaying {topic}") as bar:
        for record in read_records(
            bootstrap, topic, since=since, label="distillwatch-replay", planned=bar.start
        ):
            bar.advance(1)
            ms = record.timestamp_ms
            # Producer timestamps need not be monotonic within a partition, so a
            # record past --until is skipped rather than ending the partition.
            if until_ms is not None and ms is not None and ms >= until_ms:
                continue
            ts = ms / 1000.0 if ms is not None else None
            yield RawRecord(record.value, topic, record.partition, record.offset, ts)


class _Progress:
    """A rich progress bar on stderr, or nothing when quiet or not a terminal.  The bar starts
    when the reader knows how many records the range holds."""

    def __init__(self, enabled: bool, label: str) -> None:
        self.enabled, self.label = enabled and sys.stderr.isatty(), label
        self._bar: Any = None
        self._task: Any = None

    def __enter__(self) -> _Progress:
        return self

    def start(self, total: int) -> None:
        if not self.enabled:
            return
        from rich.progress import Progress

        self._bar = Progress(transient=True)
        self._bar.start()
        self._task = self._bar.add_task(self.label, total=total)

    def advance(self, n: int) -> None:
        if self._bar is not None:
            self._bar.advance(self._task, n)

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.stop()


def write_jsonl(path: Path | None, records: Iterable[Any], stack: ExitStack) -> None:
    from streams.wire.codecs import encode

    out: IO[bytes] = stack.enter_context(path.open("wb")) if path is not None else sys.stdout.buffer
    for record in records:
        out.write(encode(record) + b"\n")
    out.flush()


def produce_alerts(bootstrap: str, topic: str, alerts: list[Alert]) -> None:
    from agents.kafka.clients import make_producer
    from streams.wire.codecs import encode

    producer = make_producer(bootstrap)
    for alert in alerts:
        producer.produce(topic, key=alert.alert_id.encode(), value=encode(alert))
        producer.poll(0)
    if producer.flush(30) != 0:
        raise DeliveryError(f"alerts not delivered to {topic} within 30 s")
