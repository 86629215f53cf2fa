"""What an account profile holds, as the rest of the core names it.

The profile itself is native (``streams/native/src/account/``: counters, EWMAs and bottom-k
samples, a few hundred bytes per account, bit-identical to the former Python
``AccountState``); its checkpoint form is the JSON array documented there.  Bottom-k by a
stable hash bounds the state, and two accounts drawing from one pool (a proxy pool, a
template set) keep *the same* sample, so their coordination tokens overlap even when each
saw a different subset of the pool.
"""

from __future__ import annotations

from dataclasses import dataclass

import orjson

from streams.config import TOKEN_FAMILY_NAMES

EVIDENCE_METRICS = (
    "account_age_days",
    "asn_distinct",
    "ip24_distinct",
    "rate_per_hour",
    "active_hours",
    "distinct_categories",
    "template_diversity",
    "structured_share",
    "cot_share",
    "completion_ratio",
    "throttle_share",
)
"""Metrics carried by snapshots and cited in alert evidence."""


@dataclass(frozen=True, slots=True)
class AccountView:
    """A read-only look at one profile, decoded from its checkpoint bytes (tests, tools)."""

    org_id: str
    first_ts: float
    last_ts: float
    n: int
    created_at: float | None
    tokens: dict[str, list[str]]
    signature_hits: list[str]
    alert_revision: int
    last_risk: float
    data: bytes

    @classmethod
    def of(cls, data: bytes) -> AccountView:
        row = orjson.loads(data)
        return cls(
            org_id=row[0],
            first_ts=row[1],
            last_ts=row[2],
            n=row[3],
            created_at=row[4],
            tokens=dict(zip(TOKEN_FAMILY_NAMES, row[11], strict=True)),
            signature_hits=row[15],
            alert_revision=row[14][1],
            last_risk=row[14][2],
            data=data,
        )

    def to_bytes(self) -> bytes:
        return self.data
