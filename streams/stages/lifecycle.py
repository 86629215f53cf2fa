"""Alert lifecycle bookkeeping shared by the stages that own findings.

A finding (cluster, signature, template campaign) is announced once and then
revised only when it changes materially: its membership grew by a share, its
severity changed, or something changed and a revision interval passed.  This
keeps the alert topic quiet while guaranteeing that every member is named in
some revision within ``revision_interval_s`` of event time.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from streams.config import DetectorConfig


class RevisionPolicy:
    """When to emit the next revision of one finding, and who it already named."""

    __slots__ = ("announced", "last_severity", "last_size", "last_ts", "pending", "revision")

    def __init__(self) -> None:
        self.revision = 0
        self.last_ts = 0.0
        self.last_size = 0
        self.last_severity = ""
        self.pending = 0
        self.announced: set[str] = set()

    def due(self, ts: float, size: int, severity: str, config: DetectorConfig) -> bool:
        """True when a revision should be emitted now."""
        if self.revision == 0:
            return True
        if severity != self.last_severity:
            return True
        if self.pending == 0:
            return False
        if size >= self.last_size * (1.0 + config.revision_growth):
            return True
        return ts - self.last_ts >= config.revision_interval_s

    def growth_due(self, ts: float, size: int, config: DetectorConfig) -> bool:
        """Membership-driven part of ``due``: lets a caller skip scoring when nothing can be due.

        A severity change of an unchanged finding waits for the next membership change.
        """
        if self.pending == 0:
            return False
        return size >= self.last_size * (1.0 + config.revision_growth) or (
            ts - self.last_ts >= config.revision_interval_s
        )

    def commit(
        self, ts: float, size: int, severity: str, members: Iterable[str]
    ) -> tuple[int, list[str]]:
        """Record an emitted revision; returns its number and the members it names first."""
        self.revision += 1
        self.last_ts = ts
        self.last_size = size
        self.last_severity = severity
        self.pending = 0
        new = sorted(m for m in members if m not in self.announced)
        self.announced.update(new)
        return self.revision, new

    def to_list(self) -> list[Any]:
        return [
            self.revision,
            self.last_ts,
            self.last_size,
            self.last_severity,
            self.pending,
            sorted(self.announced),
        ]

    @classmethod
    def from_list(cls, row: list[Any]) -> RevisionPolicy:
        policy = cls()
        (
            policy.revision,
            policy.last_ts,
            policy.last_size,
            policy.last_severity,
            policy.pending,
            announced,
        ) = row
        policy.announced = set(announced)
        return policy
