"""The canonical order in which the service applies cross-account messages.

The service processes cross-account messages in the order ``(order_ts, account_id, offset)``
where ``order_ts`` is the running maximum of event time in the event's requests partition
(``agents.account_stage``).  Feeding an in-process ``Detector`` the events in that order gives
the alerts the live service gave, however many workers it ran on; forensic replay
(``agents.replay``) and evaluation use it for that reason.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from aiokafka.partitioner import murmur2

from streams.records import RequestEvent


def partition_for(key: str, partitions: int) -> int:
    """The partition Kafka's default partitioner (and Faust) gives ``key``."""
    return (murmur2(key.encode()) & 0x7FFFFFFF) % partitions


def canonical_order(events: Iterable[tuple[int, int, RequestEvent]]) -> list[RequestEvent]:
    """Events given as (partition, offset, event) in the service's processing order."""
    keyed: list[tuple[float, str, int, RequestEvent]] = []
    watermark: dict[int, float] = {}
    for partition, offset, event in sorted(events, key=lambda r: (r[0], r[1])):
        wm = max(watermark.get(partition, -math.inf), event.ts)
        watermark[partition] = wm
        keyed.append((wm, event.account_id, offset, event))
    keyed.sort(key=lambda k: k[:3])
    return [k[3] for k in keyed]
