"""Progress of the owned requests partitions: reported to the cross-account stage, to the
metrics, and watched for stalls.

Every ``watermark_interval_s`` each owned requests partition sends an envelope with no
messages but its progress (next offset, watermark, caught up or not), so the cross-account
stage can release what is below every partition's watermark, and a silent caught-up
partition stops holding the others back.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from agents.kafka.checkpoint import high_watermarks
from agents.kafka.reader import read_range
from agents.service.recovery import Recovery, executor
from agents.service.stall import StallWatch
from agents.stages.account import PartitionState
from agents.stages.envelope import encode_envelope

log = logging.getLogger(__name__)


class Progress:
    """The periodic progress report of one worker's requests partitions."""

    def __init__(self, recovery: Recovery, stalls: StallWatch) -> None:
        self.recovery = recovery
        self.stalls = stalls
        self.bootstrap = recovery.bootstrap
        self.topics = recovery.topics
        self.service = recovery.service
        self.metrics = recovery.metrics
        self.outputs = recovery.outputs

    async def report(self, owned: list[int], owns: Callable[[int], bool]) -> None:
        """Report every partition of ``owned`` that ``owns`` still (recovering it first if it
        is not loaded yet), then checkpoint the account stage if its interval is up."""
        recovery = self.recovery
        for p in owned:
            await recovery.account_partition(p)
        highs = await executor(high_watermarks, self.bootstrap, self.topics.requests, owned)
        now = time.monotonic()
        for p in owned:
            part = recovery.accounts.partitions.get(p)
            if part is None or not owns(p):
                continue
            await self._report(p, part, highs[p], now)
            lag = max(0, highs[p] - part.next_offset)
            self.outputs.produce(
                self.service.coordination_topic,
                b"%d" % p,
                encode_envelope(part.envelope([], caught_up=lag == 0)),
            )
        self.metrics.stalled_partitions.set(len(self.stalls.stalled))
        interval = self.service.checkpoint_interval_s
        if time.monotonic() - recovery.last_account_checkpoint >= interval:
            recovery.checkpoint_accounts(sorted(recovery.accounts.partitions))

    async def _report(self, p: int, part: PartitionState, end: int, now: float) -> None:
        """Gauges of one owned requests partition, and its stall status.

        Before a partition is called stalled, the offsets between its state and the end are
        read: offsets that hold no record a consumer is given (transaction markers, aborted
        transactions) are nothing to apply, and the state is advanced past them.  Without
        that a gateway producing in transactions would show a lag that never drains.
        """
        stalls = self.stalls
        if (
            part.next_offset < end
            and p not in stalls.stalled
            and stalls.idle_for(p, now) >= stalls.after_s
        ):
            head = await self.recovery.broker_read(
                read_range, self.bootstrap, self.topics.requests, p, part.next_offset, end, 30.0, 1
            )
            if not head:
                part.next_offset = end
        applied = part.next_offset
        labels = (self.topics.requests, str(p))
        metrics = self.metrics
        metrics.lag.labels(*labels).set(max(0, end - applied))
        metrics.applied_offset.labels(*labels).set(applied)
        metrics.end_offset.labels(*labels).set(end)
        change = stalls.observe(p, applied, end, now)
        if change is True:
            metrics.partition_stalls.inc()
            log.error(
                "requests partition %d stalled: applied to offset %d of %d, no progress for %.0f s",
                p,
                applied,
                end,
                stalls.idle_for(p, now),
            )
        elif change is False:
            log.warning("requests partition %d progresses again (offset %d of %d)", p, applied, end)
