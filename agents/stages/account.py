"""The account stage: one requests partition's raw records -> outputs (no I/O).

Per requests partition it keeps the accounts' profiles (``streams.stages.profile``), the next input
offset, and the partition's event-time watermark: the running maximum of admitted event
``ts`` in offset order.  That running maximum is also each message's ``order_ts``, the first part of
the canonical order in which the cross-account stage processes messages; it is a function of
the partition's content alone, so a live worker and a restarted one compute the same keys,
and so does forensic replay, which runs this very stage on each partition's records
(``agents.tools.replay``; ``agents.kafka.topics.partition_for`` puts a file's records on the
partition the requests topic would give their account).

Before the core, each partition's events pass its ``streams.stages.admission.Admission`` (late,
future and duplicate events are dead-lettered); the partition's watermark is the admission's,
so refused events move no clock.  Whenever it advances, the partition's accounts are held to
``max_accounts`` (``AccountProfiler.enforce_cap``) before the event that advanced it.

Each account state remembers the last input offset applied to it.  A checkpoint can then be
written without transactions: after a crash the partition resumes at the checkpoint's offset
and events an account state already contains are skipped, so nothing is counted twice.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import orjson

from agents.stages.envelope import Entry, Envelope, entry_of
from streams.config import DetectorConfig
from streams.detector import Detector
from streams.messages import AccountSnapshot, SignatureHit, TemplateHit
from streams.records import Action, Alert, DeadLetter, RequestEvent
from streams.stages.admission import Admission, refusal_letter
from streams.stages.profile.account import AccountState
from streams.stages.profile.profiler import AccountProfiler
from streams.wire.codecs import decode_requests

META_KEY = b"\x00meta"
"""Checkpoint key of a partition's progress; account ids are keys of their own state."""


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


class PartitionState:
    """Accounts of one requests partition and how far the partition has been applied."""

    def __init__(self, partition: int, profiler: AccountProfiler) -> None:
        self.partition = partition
        self.profiler = profiler
        self.admission = Admission(profiler.config)
        self.applied: dict[str, int] = {}
        self.next_offset = 0
        self.next_evict = -math.inf
        self.dirty: set[str] = set()
        self.evicted: set[str] = set()

    @property
    def watermark(self) -> float:
        """Highest event time admitted on this partition."""
        return self.admission.watermark

    def envelope(self, entries: list[Entry], caught_up: bool) -> Envelope:
        wm = None if self.watermark == -math.inf else self.watermark
        return Envelope(self.partition, self.next_offset, wm, caught_up, entries)

    # -- checkpoints: per-key bytes on a compacted topic --------------------------------------

    def checkpoint_records(self) -> list[tuple[bytes, bytes | None]]:
        """Changed accounts (tombstones for evicted ones), then the progress record."""
        states = self.profiler.states
        out: list[tuple[bytes, bytes | None]] = [
            (a.encode(), None) for a in sorted(self.evicted) if a not in states
        ]
        for account in sorted(self.dirty):
            state = states.get(account)
            if state is not None:
                value = b'{"o":%d,"s":%s}' % (self.applied[account], state.to_bytes())
                out.append((account.encode(), value))
        meta = {"next": self.next_offset, "admission": self.admission.to_dict()}
        out.append((META_KEY, orjson.dumps(meta)))
        self.dirty.clear()
        self.evicted.clear()
        return out

    def restore(self, records: dict[bytes, bytes], config: DetectorConfig) -> None:
        """Load the latest value of every key of this partition's checkpoint."""
        meta = records.pop(META_KEY, None)
        if meta is not None:
            row = orjson.loads(meta)
            self.next_offset = row["next"]
            if "admission" in row:
                self.admission = Admission.from_dict(row["admission"], config)
            elif row.get("wm") is not None:  # a checkpoint written before admission existed
                self.admission.watermark = row["wm"]
        for key, value in records.items():
            row = orjson.loads(value)
            account = key.decode()
            self.applied[account] = row["o"]
            self.profiler.states[account] = AccountState.from_bytes(orjson.dumps(row["s"]), config)


class AccountStage:
    """Every requests partition this worker owns, over one shared signature book."""

    def __init__(self, config: DetectorConfig, topic: str) -> None:
        self.config = config
        self.topic = topic
        # The Detector holds the template extractor and the signature book; its own
        # profiler stays empty: accounts live in the partition states.
        self.detector = Detector(config)
        self.partitions: dict[int, PartitionState] = {}

    def partition(self, partition: int) -> PartitionState:
        state = self.partitions.get(partition)
        if state is None:
            profiler = AccountProfiler(self.config, self.detector.book)
            state = self.partitions[partition] = PartitionState(partition, profiler)
        return state

    def drop(self, partition: int) -> None:
        self.partitions.pop(partition, None)

    def retract_signature(self, signature_id: str) -> None:
        """A tombstoned signature no longer counts as matched by any account."""
        for part in self.partitions.values():
            part.dirty.update(part.profiler.retract_signature(signature_id))

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
        decoded = decode_requests(
            ((value, self.topic, partition, offset, ts) for _key, value, offset, ts in fresh),
            max_prompt_bytes=self.config.max_prompt_bytes,
            max_record_bytes=self.config.max_record_bytes,
        )
        profiler = part.profiler
        admission = part.admission
        # Admission first: it depends on the partition's records alone, so refused events
        # (a flood of duplicates, say) never reach template extraction.
        admitted: list[tuple[bytes | None, int, RequestEvent, bool, float]] = []
        for (key, value, offset, ts), item in zip(fresh, decoded, strict=True):
            if isinstance(item, DeadLetter):
                out.dead_letters.append(item)
                continue
            before = admission.watermark
            refusal = admission.check(item, ts)
            if refusal is not None:
                out.dead_letters.append(
                    refusal_letter(refusal, value, self.topic, partition, offset, ts)
                )
                continue
            admitted.append((key, offset, item, admission.watermark > before, admission.watermark))
        part.next_offset = fresh[-1][2] + 1
        # One vectorised extraction for the batch.
        matches = self.detector.extract_many([row[2] for row in admitted])
        applied = part.applied
        entries = out.entries
        for (key, offset, event, advanced, order_ts), match in zip(admitted, matches, strict=True):
            if advanced:
                self._cap(part, out)
            account = event.account_id
            if key is not None and key != account.encode():
                out.misrouted += 1
            if applied.get(account, -1) >= offset:
                out.skipped += 1
                continue
            out.events += 1
            index = 0
            for msg in profiler.process(event, match):
                if isinstance(msg, TemplateHit | AccountSnapshot | SignatureHit):
                    entries.append(entry_of(order_ts, account, offset, index, msg))
                    index += 1
                elif isinstance(msg, Alert):
                    out.alerts.append(msg)
                else:
                    out.actions.append(msg)
            applied[account] = offset
            part.dirty.add(account)
        self._evict(part)

    def _cap(self, part: PartitionState, out: StageOutput) -> None:
        evicted = part.profiler.enforce_cap()
        for account in evicted:
            part.applied.pop(account, None)
            part.dirty.discard(account)
            part.evicted.add(account)
        out.evicted += len(evicted)

    def _evict(self, part: PartitionState) -> None:
        """Forget idle accounts; result-neutral (the profiler restarts a stale account anyway)."""
        if part.watermark < part.next_evict or part.watermark == -math.inf:
            return  # (-inf: nothing admitted yet, e.g. a first batch of only bad records)
        horizon = part.watermark - self.config.account_ttl_s
        states = part.profiler.states
        for account in [a for a, s in states.items() if s.last_ts < horizon]:
            del states[account]
            part.applied.pop(account, None)
            part.dirty.discard(account)
            part.evicted.add(account)
        interval = self.config.evict_interval_s
        part.next_evict = (math.floor(part.watermark / interval) + 1) * interval

    def tracked_accounts(self) -> int:
        return sum(len(p.profiler.states) for p in self.partitions.values())
