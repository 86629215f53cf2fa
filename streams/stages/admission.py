"""Admission of decoded request events: event time and identity checks before the core.

A decoded event can still be hostile to the detector.  One timestamp in the far future would
move a partition's watermark there and make every later event "late" (and hold the
cross-account stage back until the rest of the stream catches up: blinded and bloated); a
record re-published by a retrying gateway would count twice.  So each requests partition
passes its events, in offset order, through one ``Admission``:

- ``future_event``: the event claims a time more than ``max_future_s`` after the record's
  broker timestamp (the broker's clock, not ours; without a broker timestamp, e.g. a file
  replay, there is nothing to compare with and the event passes);
- ``late_event``: the event is older than the partition's watermark minus
  ``max_lateness_s``; events within the lateness are processed at their own event time;
- ``duplicate_event``: the (account, event id) pair is among the last ``dedup_max_ids``
  events admitted on this partition.

A refused event becomes a dead letter with its original bytes; nothing is dropped silently.
Decisions depend only on the partition's records in offset order and the state checkpointed
with the partition, so live, replay and a restarted worker refuse the same records.
"""

from __future__ import annotations

import base64
import math
from collections import OrderedDict
from hashlib import blake2b
from typing import Any

from streams.config import DetectorConfig
from streams.records import DeadLetter, RequestEvent
from streams.timeparse import MAX_EPOCH, MIN_EPOCH, format_timestamp

_DIGEST_BYTES = 8


class Admission:
    """Watermark and recent event identities of one requests partition."""

    __slots__ = ("config", "recent", "watermark")

    def __init__(self, config: DetectorConfig) -> None:
        self.config = config
        self.watermark = -math.inf
        self.recent: OrderedDict[bytes, None] = OrderedDict()

    def check(self, event: RequestEvent, record_ts: float | None) -> tuple[str, str] | None:
        """``(reason, detail)`` of a refusal, or None when the event is admitted (and recorded).

        ``record_ts`` is the broker timestamp of the record (epoch seconds), if known.
        """
        config = self.config
        ts = event.ts
        record_ts = _known(record_ts)
        if record_ts is not None and ts > record_ts + config.max_future_s:
            return (
                "future_event",
                f"event time {format_timestamp(ts)} is more than {config.max_future_s:g} s "
                f"after the record's broker time {format_timestamp(record_ts)}",
            )
        if ts < self.watermark - config.max_lateness_s:
            return (
                "late_event",
                f"event time {format_timestamp(ts)} is more than {config.max_lateness_s:g} s "
                f"behind the partition's event time {format_timestamp(self.watermark)}",
            )
        key = _identity(event)
        recent = self.recent
        if key in recent:
            shown = event.event_id if len(event.event_id) <= 80 else f"{event.event_id[:77]}..."
            return ("duplicate_event", f"event {shown!r} of this account was just seen")
        recent[key] = None
        if len(recent) > config.dedup_max_ids:
            recent.popitem(last=False)
        if ts > self.watermark:
            self.watermark = ts
        return None

    def to_dict(self) -> dict[str, Any]:
        return {
            "wm": None if self.watermark == -math.inf else self.watermark,
            "ids": base64.b64encode(b"".join(self.recent)).decode(),
        }

    @classmethod
    def from_dict(cls, row: dict[str, Any], config: DetectorConfig) -> Admission:
        admission = cls(config)
        admission.watermark = -math.inf if row["wm"] is None else row["wm"]
        ids = base64.b64decode(row["ids"])
        admission.recent = OrderedDict(
            (ids[i : i + _DIGEST_BYTES], None) for i in range(0, len(ids), _DIGEST_BYTES)
        )
        return admission


def refusal_letter(
    refusal: tuple[str, str],
    original: bytes,
    topic: str | None,
    partition: int | None,
    offset: int | None,
    record_ts: float | None,
) -> DeadLetter:
    """The dead letter of a refused event, with the record's coordinates."""
    reason, detail = refusal
    return DeadLetter(reason, detail, bytes(original), topic, partition, offset, _known(record_ts))


def _known(record_ts: float | None) -> float | None:
    """A broker timestamp, or None when it is missing (-1) or outside the supported range."""
    if record_ts is None or not MIN_EPOCH < record_ts < MAX_EPOCH:
        return None
    return record_ts


def _identity(event: RequestEvent) -> bytes:
    """A fixed-size digest of (account, event id): an event id may be arbitrarily long."""
    text = f"{event.account_id}\x00{event.event_id}".encode(errors="surrogatepass")
    return blake2b(text, digest_size=_DIGEST_BYTES).digest()
