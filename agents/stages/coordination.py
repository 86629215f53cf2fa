"""The cross-account stage: envelopes from every requests partition -> alerts (no I/O).

Messages arrive from many requests partitions in whatever interleaving the topic holds, but
the template, token-frequency, similarity, cluster and signature stages of the core depend on
the order they see messages in.  So this stage buffers messages and releases them in the
canonical order ``(order_ts, account_id, offset, index)`` once every requests partition has
reported a watermark beyond them (strictly: ties at the watermark may still come).  A
partition that reported itself caught up and then stayed silent for ``idle_flush_s`` stops
holding the others back.  Released messages go through the very code of
``streams.detector.Detector.process`` (``Detector.observe_event`` for an event's first message,
then ``Detector.route``), so the alerts equal those of an in-process ``Detector`` fed the same
events in the same canonical order; forensic replay (``agents.tools.replay``) runs this very
stage.

Duplicates (a requests partition replayed after a restart or a rebalance) are dropped by
input offset: per requests partition the stage remembers the next offset it expects.
"""

from __future__ import annotations

import heapq
import math
from hashlib import blake2b
from typing import Any

import orjson

from agents.stages.envelope import Entry, Envelope, entry_from, message_of
from streams.config import DetectorConfig
from streams.detector import Detector
from streams.errors import StateError
from streams.records import Action, Alert
from streams.wire.codecs import encode

SNAPSHOT_VERSION = 1


class CoordinationStage:
    """Merge buffer in front of the core's global stages."""

    def __init__(self, config: DetectorConfig, partitions: int, idle_flush_s: float) -> None:
        self.config = config
        self.partitions = partitions
        self.idle_flush_s = idle_flush_s
        self.detector = Detector(config)
        self.buffer: list[Entry] = []
        """A heap of entries: they sort in the canonical order."""
        self.watermark: list[float] = [-math.inf] * partitions
        self.position: list[int] = [0] * partitions
        self.caught_up: list[bool] = [False] * partitions
        self.progress_at: list[float] = [0.0] * partitions
        self.reported_at: list[float] = [-math.inf] * partitions
        self.emitted: dict[str, str] = {}
        self.next_offset = 0
        """Next offset of the coordination topic (its only partition) not yet applied."""
        self.duplicates = 0

    # -- input --------------------------------------------------------------------------------

    def ingest(self, envelope: Envelope, now: float) -> None:
        p = envelope.partition
        if p >= self.partitions:
            self._grow(p + 1)
        position = self.position[p]
        self.reported_at[p] = now
        for entry in envelope.entries:
            if entry.offset < position:
                self.duplicates += 1
                continue
            heapq.heappush(self.buffer, entry)
        if envelope.next_offset > position:
            self.position[p] = envelope.next_offset
            self.progress_at[p] = now
            if envelope.watermark is not None:
                self.watermark[p] = max(self.watermark[p], envelope.watermark)
        if envelope.next_offset >= self.position[p]:
            self.caught_up[p] = envelope.caught_up

    def _grow(self, partitions: int) -> None:
        extra = partitions - self.partitions
        self.watermark += [-math.inf] * extra
        self.position += [0] * extra
        self.caught_up += [False] * extra
        self.progress_at += [0.0] * extra
        self.reported_at += [-math.inf] * extra
        self.partitions = partitions

    def frontier(self, now: float) -> float:
        """Messages strictly below this order time can be processed.

        A partition stops holding the others back only while its owner keeps confirming
        that it is caught up: a partition nobody reports on (its worker died, a rebalance)
        holds the stage back until it is owned again.
        """
        idle = self.idle_flush_s
        return min(
            (
                math.inf
                if self.caught_up[p]
                and now - self.progress_at[p] >= idle
                and now - self.reported_at[p] <= idle
                else self.watermark[p]
            )
            for p in range(self.partitions)
        )

    def release(self, now: float) -> list[Alert | Action]:
        frontier = self.frontier(now)
        buffer = self.buffer
        out: list[Alert | Action] = []
        while buffer and buffer[0].order_ts < frontier:
            out.extend(self._apply(heapq.heappop(buffer)))
        return self._dedup(out)

    # -- the routing of Detector.process, message by message ---------------------------------

    def _apply(self, entry: Entry) -> list[Alert | Action]:
        det = self.detector
        msg = message_of(entry)
        # the first message of an event (its template hit) carries the event's time
        out = det.observe_event(msg.ts) if entry.index == 0 else []
        out.extend(det.route(msg))
        return out

    def _dedup(self, out: list[Alert | Action]) -> list[Alert | Action]:
        """Drop an alert revision identical to the last one sent for its alert id.

        Only identical ones: a revision number the core repeats with new content is still news.
        """
        kept: list[Alert | Action] = []
        emitted = self.emitted
        for item in out:
            if isinstance(item, Alert):
                digest = f"{item.revision}:{blake2b(encode(item), digest_size=8).hexdigest()}"
                if emitted.get(item.alert_id) == digest:
                    continue
                emitted[item.alert_id] = digest
            kept.append(item)
        return kept

    # -- state --------------------------------------------------------------------------------

    def pending(self) -> int:
        return len(self.buffer)

    def to_bytes(self) -> bytes:
        wm: list[Any] = [None if w == -math.inf else w for w in self.watermark]
        return orjson.dumps(
            {
                "version": SNAPSHOT_VERSION,
                "detector": self.detector.snapshot().decode(),
                "buffer": [tuple(entry) for entry in self.buffer],
                "watermark": wm,
                "position": self.position,
                "emitted": self.emitted,
                "next_offset": self.next_offset,
            }
        )

    @classmethod
    def from_bytes(
        cls, data: bytes, config: DetectorConfig, partitions: int, idle_flush_s: float, now: float
    ) -> CoordinationStage:
        row = orjson.loads(data)
        if row.get("version") != SNAPSHOT_VERSION:
            raise StateError(f"unsupported coordination snapshot {row.get('version')!r}")
        stage = cls(config, max(partitions, len(row["position"])), idle_flush_s)
        stage.detector = Detector.restore(row["detector"].encode(), config)
        stage.buffer = [entry_from(e) for e in row["buffer"]]
        heapq.heapify(stage.buffer)
        n = len(row["position"])
        stage.watermark[:n] = [-math.inf if w is None else w for w in row["watermark"]]
        stage.position[:n] = row["position"]
        stage.progress_at = [now] * stage.partitions
        stage.emitted = row["emitted"]
        stage.next_offset = row["next_offset"]
        return stage
