"""Suppressions: every worker reads the whole suppressions topic and holds its cross-account
stage to it, so a finding an analyst dismissed as benign gets no new revision or action.

A suppression carries the event time it applies from, so the outputs it removes depend only
on event time; it takes effect when the worker reads it (within a poll, like a signature
change), and a worker that takes over the coordination partition applies the whole set again
before its next poll: a stage restored from a checkpoint already holds the suppressions of
that checkpoint.
"""

from __future__ import annotations

import asyncio
import logging

from agents.service.metrics import Metrics
from agents.service.recovery import Recovery, executor
from agents.service.signatures import SignatureFeed
from agents.settings import Settings
from agents.stages.coordination import CoordinationStage
from streams.records import DeadLetter, Suppression
from streams.wire.codecs import decode_suppression

log = logging.getLogger(__name__)

POLL_S = 0.5


class Suppressions:
    """The suppressions in force (``current``), applied to the stage of ``recovery``."""

    def __init__(self, settings: Settings, recovery: Recovery, metrics: Metrics) -> None:
        self.settings = settings
        self.recovery = recovery
        self.metrics = metrics
        self.current: dict[str, Suppression] = {}
        self.applied_to: CoordinationStage | None = None
        """The stage that holds ``current``; a new stage (a takeover) gets them again."""
        self.ready = asyncio.Event()

    async def follow(self, coordination: asyncio.Lock) -> None:
        """Read the topic to its end, then follow it; apply each change holding the
        cross-account stage's lock."""
        settings = self.settings
        # The feed is topic-agnostic: a group-less reader of a whole compacted topic.
        feed = SignatureFeed(
            settings.bootstrap_servers, settings.topics.suppressions, settings.kafka
        )
        try:
            self.take(await executor(feed.initial))
            self.ready.set()
            log.info("suppressions loaded: %d in force", len(self.current))
            while True:
                changed = self.take(await executor(feed.poll, POLL_S))
                stage = self.recovery.coordination
                if stage is not None and (changed or stage is not self.applied_to):
                    async with coordination:
                        self.apply()
        finally:
            feed.close()

    def take(self, records: list[tuple[bytes | None, bytes | None, tuple]]) -> bool:
        """Fold records of the topic into ``current``; whether anything changed."""
        changed = False
        for key, value, where in records:
            if value is None:
                if key is not None:
                    changed |= self.current.pop(key.decode(errors="replace"), None) is not None
                continue
            decoded = decode_suppression(value, topic=where[0], partition=where[1], offset=where[2])
            if isinstance(decoded, DeadLetter):
                log.warning("suppression refused: %s %s", decoded.reason, decoded.detail)
                self.metrics.dead_letters.labels(f"suppression_{decoded.reason}").inc()
                continue
            if decoded.deleted:
                self.current.pop(decoded.suppression_id, None)
            else:
                self.current[decoded.suppression_id] = decoded
            changed = True
            log.info(
                "suppression %s %s (%d accounts)",
                decoded.suppression_id,
                "lifted" if decoded.deleted else "in force",
                len(decoded.accounts),
            )
        return changed

    def apply(self) -> None:
        """Hold the current stage to exactly the suppressions in force."""
        stage = self.recovery.coordination
        if stage is None:
            return
        stage.detector.suppressions.reset(list(self.current.values()))
        self.applied_to = stage
