"""The account stage: one requests partition's raw records -> outputs (no I/O).

Per requests partition it keeps the accounts' profiles (``streams.stages.profile``), the next input
offset, and the partition's event-time watermark: the running maximum of admitted event
``ts`` in offset order.  That running maximum is also each message's ``order_ts``, the first part of
the canonical order in which the cross-account stage processes messages; it is a function of
the partition's content alone, so a live worker and a restarted one compute the same keys,
and so does forensic replay, which runs this very stage on each partition's records
(``agents.tools.replay``; ``agents.kafka.topics.partition_for`` puts a file's records on the
partition the requests topic would give their account).

All of the per-event work is native (``streams._native.AccountPartition``, one call per batch
with the GIL released): decoding and validation, admission (late, future and duplicate events
are dead-lettered; the partition's watermark is the admission's, so refused events move no
clock), template extraction, and the profile update; whenever the watermark advances, the
partition's accounts are held to ``max_accounts`` before the event that advanced it.  This
shell turns what the batch returns into dead letters, envelope entries, alerts and actions.

Each account state remembers the last input offset applied to it.  A checkpoint can then be
written without transactions: after a crash the partition resumes at the checkpoint's offset
and events an account state already contains are skipped, so nothing is counted twice.
"""

from __future__ import annotations

import base64
import math
from dataclasses import dataclass, field

import orjson

from agents.stages.envelope import Entry, Envelope
from streams import _native
from streams.config import DetectorConfig
from streams.detector import Detector
from streams.errors import StateError
from streams.records import Action, Alert, DeadLetter
from streams.stages.admission import refusal_detail, refusal_letter
from streams.stages.profile.profiler import AccountStates, extraction_outputs, native_settings
from streams.timeparse import MAX_EPOCH, MIN_EPOCH

META_KEY = b"\x00meta"
"""Checkpoint key of a partition's progress; account ids are keys of their own state."""

_ADMISSION = frozenset({"future_event", "late_event", "duplicate_event"})


@dataclass
class StageOutput:
    """What one batch produced, for the shell to send."""

    dead_letters: list[DeadLetter] = field(default_factory=list)
    alerts: list[Alert] = field(default_factory=list)
    actions: list[Action] = field(default_factory=list)
    entries: list[Entry] = field(default_factory=list)
    events: int = 0
    skipped: int = 0
    misrouted: int = 0
    evicted: int = 0


def _broker_ts(ts: float | None) -> float | None:
    """A broker timestamp as a decoder dead letter keeps it (unknown or out of range: None)."""
    return ts if ts is not None and MIN_EPOCH <= ts < MAX_EPOCH else None


class PartitionState:
    """Accounts of one requests partition and how far the partition has been applied."""

    def __init__(self, partition: int, config: DetectorConfig) -> None:
        self.partition = partition
        self.native = _native.AccountPartition(native_settings(config))
        self.states = AccountStates(self.native)
        self.next_offset = 0

    @property
    def profiler(self) -> PartitionState:
        """The partition itself: callers count ``profiler.states``."""
        return self

    @property
    def watermark(self) -> float:
        """Highest event time admitted on this partition."""
        return self.native.watermark

    def envelope(self, entries: list[Entry], caught_up: bool) -> Envelope:
        wm = None if self.watermark == -math.inf else self.watermark
        return Envelope(self.partition, self.next_offset, wm, caught_up, entries)

    # -- checkpoints: per-key bytes on a compacted topic --------------------------------------

    def checkpoint_records(self) -> list[tuple[bytes, bytes | None]]:
        """Changed accounts (tombstones for evicted ones), then the progress record."""
        out: list[tuple[bytes, bytes | None]] = self.native.checkpoint()
        wm, ids = self.native.admission()
        meta = {
            "next": self.next_offset,
            "admission": {"wm": wm, "ids": base64.b64encode(ids).decode()},
        }
        out.append((META_KEY, orjson.dumps(meta)))
        return out

    def restore(self, records: dict[bytes, bytes], config: DetectorConfig) -> None:
        """Load the latest value of every key of this partition's checkpoint."""
        meta = records.pop(META_KEY, None)
        if meta is not None:
            row = orjson.loads(meta)
            self.next_offset = row["next"]
            if "admission" in row:
                admission = row["admission"]
                self.native.restore_admission(admission["wm"], base64.b64decode(admission["ids"]))
            elif row.get("wm") is not None:  # a checkpoint written before admission existed
                self.native.restore_admission(row["wm"], b"")
        for key, value in records.items():
            try:
                self.native.restore_account(key.decode(), value)
            except ValueError as exc:
                raise StateError(f"checkpoint of account {key!r}: {exc}") from exc


class AccountStage:
    """Every requests partition this worker owns, over one shared signature book."""

    def __init__(self, config: DetectorConfig, topic: str) -> None:
        self.config = config
        self.topic = topic
        # The Detector holds the signature book (and the fingerprint mismatch counter); its
        # own profiler stays empty: accounts live in the partition states.
        self.detector = Detector(config)
        self.partitions: dict[int, PartitionState] = {}

    def partition(self, partition: int) -> PartitionState:
        state = self.partitions.get(partition)
        if state is None:
            state = self.partitions[partition] = PartitionState(partition, self.config)
        return state

    def drop(self, partition: int) -> None:
        self.partitions.pop(partition, None)

    def retract_signature(self, signature_id: str) -> None:
        """A tombstoned signature no longer counts as matched by any account."""
        for part in self.partitions.values():
            part.native.retract_signature(signature_id)

    def process(
        self,
        partition: int,
        records: list[tuple[bytes | None, bytes, int, float | None]],
        out: StageOutput,
    ) -> None:
        """Apply (key, value, offset, broker timestamp) records of one partition in offset order."""
        part = self.partition(partition)
        fresh = [r for r in records if r[2] >= part.next_offset]
        out.skipped += len(records) - len(fresh)
        if not fresh:
            return
        letters, entries, findings, counts = part.native.process(
            [r[0] for r in fresh],
            [r[1] for r in fresh],
            [r[2] for r in fresh],
            [r[3] for r in fresh],
            self.detector.book.native,
            Entry,
        )
        part.next_offset = fresh[-1][2] + 1
        topic, config = self.topic, self.config
        for index, reason, detail in letters:
            _key, value, offset, ts = fresh[index]
            if reason in _ADMISSION:
                refusal = (reason, refusal_detail(reason, detail, config))
                letter = refusal_letter(refusal, value, topic, partition, offset, ts)
            else:
                letter = DeadLetter(reason, detail, value, topic, partition, offset, _broker_ts(ts))
            out.dead_letters.append(letter)
        out.entries.extend(entries)
        baselines = self.detector.profiler.baselines
        for found in findings:
            alert, action = extraction_outputs(found, config, baselines)
            out.alerts.append(alert)  # type: ignore[arg-type]
            out.actions.append(action)  # type: ignore[arg-type]
        events, skipped, misrouted, evicted, mismatch = counts
        out.events += events
        out.skipped += skipped
        out.misrouted += misrouted
        out.evicted += evicted
        if mismatch:
            self.detector.counters["fingerprint_mismatch"] += mismatch

    def tracked_accounts(self) -> int:
        return sum(len(p.native) for p in self.partitions.values())
