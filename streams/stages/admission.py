"""Admission of decoded request events: event time and identity checks before the core.

A decoded event can still be hostile to the detector.  One timestamp in the far future would
move a partition's watermark there and make every later event "late" (and hold the
cross-account stage back until the rest of the stream catches up: blinded and bloated); a
record re-published by a retrying gateway would count twice.  So each requests partition
passes its events, in offset order, through its admission (native, part of
``streams._native.AccountPartition``; this module words its refusals):

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

from typing import Any

from streams.config import DetectorConfig
from streams.records import DeadLetter
from streams.timeparse import MAX_EPOCH, MIN_EPOCH, format_timestamp


def refusal_detail(reason: str, args: Any, config: DetectorConfig) -> str:
    """The human detail of a native admission refusal: ``args`` are ``(event time, broker
    time)`` of a future event, ``(event time, watermark)`` of a late one, the event id of a
    duplicate."""
    if reason == "future_event":
        ts, record_ts = args
        return (
            f"event time {format_timestamp(ts)} is more than {config.max_future_s:g} s "
            f"after the record's broker time {format_timestamp(record_ts)}"
        )
    if reason == "late_event":
        ts, watermark = args
        return (
            f"event time {format_timestamp(ts)} is more than {config.max_lateness_s:g} s "
            f"behind the partition's event time {format_timestamp(watermark)}"
        )
    shown = args if len(args) <= 80 else f"{args[:77]}..."
    return f"event {shown!r} of this account was just seen"


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
