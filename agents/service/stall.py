"""Stalled-partition watch: an owned partition with records to apply and no progress.

A worker that owns a partition but stops applying it is detection that silently stops: every
account hashed there goes unseen, and nothing else in the worker fails.  The progress timer
feeds this watch each owned partition's applied offset and end offset; a partition that had
records available (applied < end) and whose applied offset has not moved for ``after_s`` is
stalled until it moves again.  Pure bookkeeping on the caller's clock, so it is unit-tested.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class _Progress:
    applied: int
    since: float
    """When ``applied`` last changed, or when the partition last had nothing to apply."""


class StallWatch:
    """Which partitions have had records to apply and no progress for ``after_s`` seconds."""

    def __init__(self, after_s: float) -> None:
        self.after_s = after_s
        self._progress: dict[int, _Progress] = {}
        self._stalled: set[int] = set()

    def observe(self, partition: int, applied: int, end: int, now: float) -> bool | None:
        """Record one observation; True when the partition just stalled, False when it just
        recovered, None when its status did not change."""
        seen = self._progress.get(partition)
        if seen is None or seen.applied != applied or applied >= end:
            self._progress[partition] = _Progress(applied, now)
            stalled = False
        else:
            stalled = now - seen.since >= self.after_s
        was = partition in self._stalled
        if stalled == was:
            return None
        if stalled:
            self._stalled.add(partition)
        else:
            self._stalled.discard(partition)
        return stalled

    def idle_for(self, partition: int, now: float) -> float:
        """Seconds since the partition last advanced or last had nothing to apply."""
        seen = self._progress.get(partition)
        return 0.0 if seen is None else now - seen.since

    def forget(self, partition: int) -> None:
        """The partition is no longer owned: its new owner watches it."""
        self._progress.pop(partition, None)
        self._stalled.discard(partition)

    @property
    def stalled(self) -> frozenset[int]:
        return frozenset(self._stalled)
