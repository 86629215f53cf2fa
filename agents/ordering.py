"""Where Kafka puts a key: the partition of an account's requests.

Forensic replay places the records of a file on the partition the requests topic would give
their account (``agents.replay``), as the gateways' producers do.  The order in which the
service then applies cross-account messages is kept by ``agents.coordination``.
"""

from __future__ import annotations

from aiokafka.partitioner import murmur2


def partition_for(key: str, partitions: int) -> int:
    """The partition Kafka's default partitioner (and Faust) gives ``key``."""
    return (murmur2(key.encode()) & 0x7FFFFFFF) % partitions
