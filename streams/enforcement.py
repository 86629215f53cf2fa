"""What the API gateway does with DistillWatch's actions: the current action per account and
the decision for one request.

Pure and deterministic: no I/O and no clock of its own -- every call that depends on time takes
``now`` (epoch seconds), so a test or a replay gives the same answers.  The gateway's side of
the system (``agents.gateway``) feeds an ``EnforcementTable`` from the actions topic and asks it
``decide`` on every request, which costs a dictionary lookup and a comparison or two.

How actions combine.  The detector's sources (account profiles, clusters, signatures) publish
independently, so a weaker action can arrive after a stronger one for the same account: a watch
from the profile after a block from a signature.  The table keeps, per account, the latest
expiry of each action kind it received, and the decision is the strongest kind not yet expired.
So a later action supersedes an earlier one of its kind or weaker, a weaker one takes over only
once the stronger expires, and the result does not depend on the order records are read in
(partitions read in any interleaving, a duplicate, a restarted follower give the same table).
An action applies from when the gateway reads it: its ``ts`` is the event time of the decision,
already past.  Action v1 carries no rate or level, so the gateway's ``EnforcementPolicy`` gives
the rate of a throttle and the level of a degrade.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from streams.errors import ConfigError
from streams.records import Action
from streams.stages.scoring import ACTION_RANK

Verdict = Literal["allow", "watch", "throttle", "degrade", "block"]


@dataclass(frozen=True, slots=True)
class EnforcementPolicy:
    """The gateway's answer to each action kind where action v1 says only the kind.

    ``throttle_rate`` requests per second with bursts of ``throttle_burst`` for a throttled
    account; ``degrade_level`` is passed to the model server, which decides what it means
    (README, "Gateway enforcement").
    """

    throttle_rate: float = 0.5
    throttle_burst: float = 5.0
    degrade_level: int = 1

    def __post_init__(self) -> None:
        if not (self.throttle_rate > 0 and math.isfinite(self.throttle_rate)):
            raise ConfigError(f"throttle_rate must be a positive number, not {self.throttle_rate}")
        if not (self.throttle_burst >= 1 and math.isfinite(self.throttle_burst)):
            raise ConfigError(f"throttle_burst must be at least 1, not {self.throttle_burst}")
        if self.degrade_level < 1:
            raise ConfigError(f"degrade_level must be at least 1, not {self.degrade_level}")


@dataclass(frozen=True, slots=True)
class Decision:
    """What the gateway does with one request.

    ``rate``/``burst``: a throttle's requests per second and burst; ``level``: a degrade's
    level; ``until``: when the action behind it expires; ``action_id``, ``alert_id`` and
    ``reason`` for the gateway's audit log.
    """

    verdict: Verdict
    until: float = math.inf
    rate: float | None = None
    burst: float | None = None
    level: int | None = None
    action_id: str | None = None
    alert_id: str | None = None
    reason: str | None = None


ALLOW = Decision("allow")


class EnforcementTable:
    """The current actions per account, and ``decide`` for a request.

    One thread writes (``apply``, ``prune``; the follower's) while any number read
    (``decide``): an account's entry is an immutable tuple replaced by one assignment, so a
    reader sees the old or the new entry, never half of one, without a lock.
    """

    def __init__(self, policy: EnforcementPolicy | None = None) -> None:
        self.policy = policy or EnforcementPolicy()
        # account -> its decisions, strongest first, at most one per action kind
        self._accounts: dict[str, tuple[Decision, ...]] = {}

    def __len__(self) -> int:
        return len(self._accounts)

    def _decision(self, action: Action) -> Decision:
        policy = self.policy
        throttle = action.action == "throttle"
        return Decision(
            action.action,
            until=action.expires_at,
            rate=policy.throttle_rate if throttle else None,
            burst=policy.throttle_burst if throttle else None,
            level=policy.degrade_level if action.action == "degrade" else None,
            action_id=action.action_id,
            alert_id=action.alert_id,
            reason=action.reason,
        )

    def apply(self, action: Action) -> bool:
        """Take in one action; False when it changes nothing (a duplicate, or an action of a
        kind the account already holds for longer)."""
        held = self._accounts.get(action.account_id, ())
        if any(d.verdict == action.action and d.until >= action.expires_at for d in held):
            return False
        kept = [d for d in held if d.verdict != action.action]
        entry = sorted([*kept, self._decision(action)], key=lambda d: -ACTION_RANK[d.verdict])
        self._accounts[action.account_id] = tuple(entry)
        return True

    def decide(self, account_id: str, api_key_id: str | None, now: float) -> Decision:
        """The decision for a request of ``account_id`` with ``api_key_id`` at ``now``.

        Action v1 targets accounts, so the key does not change the answer today; gateways pass
        it so that a later action version targeting single keys needs no change of theirs.
        """
        for decision in self._accounts.get(account_id, ()):
            if decision.until > now:
                return decision
        return ALLOW

    def prune(self, now: float) -> int:
        """Forget what has expired at ``now`` (accounts whose every action expired); returns
        how many accounts were dropped.  Only the writing thread calls it."""
        gone = [a for a, held in self._accounts.items() if all(d.until <= now for d in held)]
        for account in gone:
            del self._accounts[account]
        return len(gone)


@dataclass(slots=True)
class TokenBucket:
    """A throttle's allowance: ``rate`` tokens a second up to ``burst``; a request takes one.

    Starts full, so an account that becomes throttled keeps its burst first.
    """

    rate: float
    burst: float
    tokens: float
    stamp: float

    @classmethod
    def full(cls, rate: float, burst: float, now: float) -> TokenBucket:
        return cls(rate, burst, burst, now)

    def take(self, now: float) -> float:
        """0.0 when the request may go (a token taken), else the seconds until one is due."""
        if now > self.stamp:
            self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
            self.stamp = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return 0.0
        return (1.0 - self.tokens) / self.rate
