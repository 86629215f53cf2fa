"""Alert lifecycle bookkeeping shared by the stages that own findings.

A finding (cluster, signature, template campaign) is announced at once and then
revised only when it changes materially: its membership grew by ``revision_growth``,
its severity changed, or members joined and ``revision_interval_s`` passed.  A cluster
or template campaign (findings that grow to hundreds of members) is revised only when
its severity rose or members joined, and never twice within ``alert_min_interval_s``
of event time.  A SOC ingests every revision (each names all members), so that bounds
the volume (a 6-hour finding has at most 6 h / ``alert_min_interval_s`` revisions) while
every member is still named within ``max(revision_interval_s, alert_min_interval_s)``
of joining.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from streams.config import DetectorConfig
from streams.stages.scoring import SEVERITY_RANK


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

    def due(
        self, ts: float, size: int, severity: str, config: DetectorConfig, bounded: bool = False
    ) -> bool:
        """True when a revision should be emitted now.

        ``bounded`` findings (clusters, template campaigns: the ones that grow to hundreds of
        members) also wait ``alert_min_interval_s``; a signature match names its accounts at
        once because its actions may block them.
        """
        if self.revision == 0:
            return True
        if bounded and ts - self.last_ts < config.alert_min_interval_s:
            return False
        if bounded:
            if SEVERITY_RANK.get(severity, 0) > SEVERITY_RANK.get(self.last_severity, 0):
                return True
        elif severity != self.last_severity:
            return True
        return self.growth_due(ts, size, config, bounded)

    def growth_due(
        self, ts: float, size: int, config: DetectorConfig, bounded: bool = False
    ) -> bool:
        """Membership-driven part of ``due``: lets a caller skip scoring when nothing can be due.

        A severity change of an unchanged finding waits for the next membership change; a
        lower severity alone is never a revision (the next one carries it).
        """
        if self.pending == 0:
            return False
        if bounded and ts - self.last_ts < config.alert_min_interval_s:
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
