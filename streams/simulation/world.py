"""What every simulated population shares: the world of orgs and networks, the labelled
account record and the helpers that create accounts.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from streams.records import RequestEvent
from streams.simulation.network import (
    COUNTRIES,
)
from streams.simulation.traffic import (
    Account,
    rate_limit_for,
)

DAY = 86400.0
HELPFUL = "You are a helpful assistant."


@dataclass
class World:
    """The scenario window plus seeded sources of randomness and unique ids."""

    seed: int
    start: float
    end: float
    _ids: random.Random = field(init=False)
    _used: set[str] = field(init=False, default_factory=set)

    def __post_init__(self) -> None:
        self._ids = random.Random(f"{self.seed}/ids")

    def rng(self, *parts: object) -> random.Random:
        """An independent generator for one named part of the scenario."""
        return random.Random("/".join(map(str, (self.seed, *parts))))

    def new_id(self, prefix: str, bits: int = 48) -> str:
        """A fresh random id (collisions are drawn again, so ids are unique in a scenario)."""
        while True:
            value = f"{prefix}_{self._ids.getrandbits(bits):0{bits // 4}x}"
            if value not in self._used:
                self._used.add(value)
                return value

    @property
    def duration(self) -> float:
        return self.end - self.start


@dataclass(frozen=True, slots=True)
class Simulated:
    """One account's traffic and its ground-truth label."""

    account_id: str
    label: dict[str, Any]
    events: list[RequestEvent]


def account_label(
    kind: str, population: str, tactic: str, campaign: str | None = None
) -> dict[str, Any]:
    return {"label": kind, "population": population, "campaign": campaign, "tactic": tactic}


def established(
    rng: random.Random, world: World, min_days: float = 60, max_days: float = 1500
) -> float:
    return world.start - (min_days + (max_days - min_days) * rng.random() ** 1.4) * DAY


def user_created_at(rng: random.Random, world: World) -> float:
    """Ordinary sign-ups span years; a few per cent joined in the last two weeks."""
    if rng.random() < 0.04:
        return world.start - rng.uniform(0.5, 14) * DAY
    return established(rng, world, 14, 1700)


def utc_offset(rng: random.Random, country: str) -> float:
    base = COUNTRIES[country][0]
    if country in ("US", "CA", "AU", "BR"):
        return base + rng.choice((-2, -1, 0, 1))
    return base


def new_account(
    world: World,
    rng: random.Random,
    created_at: float,
    paid: bool,
    *,
    rpm: int | None = None,
    org_id: str | None = None,
    payment: str | None = None,
    keys: int = 1,
) -> Account:
    payment = payment if payment is not None else (world.new_id("pm", 64) if paid else None)
    return Account(
        account_id=world.new_id("acct"),
        org_id=org_id or world.new_id("org"),
        api_key_ids=tuple(world.new_id("key") for _ in range(keys)),
        created_at=round(created_at, 3),
        payment_fingerprint=payment,
        rpm_limit=rpm or rate_limit_for(created_at, payment is not None, world.start),
    )


def lognormal_median(rng: random.Random, median: float, sigma: float) -> float:
    return median * rng.lognormvariate(0.0, sigma)
