"""The gateway's decision table: strongest unexpired action per account, order-independent."""

from __future__ import annotations

import itertools

import pytest

from streams.enforcement import (
    ALLOW,
    EnforcementPolicy,
    EnforcementTable,
    TokenBucket,
)
from streams.errors import ConfigError
from streams.records import Action


def action(account: str, kind: str, ts: float, expires_at: float, n: int = 0) -> Action:
    return Action(
        action_id=f"act-{account}-{kind}-{n}",
        ts=ts,
        account_id=account,
        action=kind,  # type: ignore[arg-type]
        reason=f"coordinated_cluster:{kind}",
        expires_at=expires_at,
        alert_id="clu-1",
    )


def test_an_account_without_actions_is_allowed():
    assert EnforcementTable().decide("acct-1", "key-1", 100.0) is ALLOW


def test_each_kind_carries_the_policy_and_expires():
    table = EnforcementTable(
        EnforcementPolicy(throttle_rate=2.0, throttle_burst=3, degrade_level=2)
    )
    table.apply(action("t", "throttle", 0.0, 100.0))
    table.apply(action("d", "degrade", 0.0, 100.0))
    table.apply(action("b", "block", 0.0, 100.0))
    table.apply(action("w", "watch", 0.0, 100.0))
    throttle = table.decide("t", None, 50.0)
    assert (throttle.verdict, throttle.rate, throttle.burst, throttle.until) == (
        "throttle",
        2.0,
        3,
        100.0,
    )
    assert (table.decide("d", None, 50.0).verdict, table.decide("d", None, 50.0).level) == (
        "degrade",
        2,
    )
    assert table.decide("b", None, 99.999).verdict == "block"
    assert table.decide("w", None, 0.0).action_id == "act-w-watch-0"
    # expiry is exclusive: at expires_at the action no longer applies
    assert all(table.decide(a, None, 100.0) is ALLOW for a in "tdbw")


def test_a_weaker_later_action_does_not_lift_a_stronger_one_before_it_expires():
    table = EnforcementTable()
    table.apply(action("a", "block", 0.0, 100.0))
    table.apply(action("a", "watch", 10.0, 500.0))
    assert table.decide("a", None, 50.0).verdict == "block"
    assert table.decide("a", None, 150.0).verdict == "watch"
    assert table.decide("a", None, 500.0) is ALLOW


def test_a_later_action_of_the_same_kind_extends_it_and_a_duplicate_changes_nothing():
    table = EnforcementTable()
    first = action("a", "degrade", 0.0, 100.0)
    assert table.apply(first)
    assert not table.apply(first)
    assert not table.apply(action("a", "degrade", -50.0, 50.0, n=1))  # shorter: kept as it was
    assert table.apply(action("a", "degrade", 60.0, 160.0, n=2))
    assert table.decide("a", None, 120.0).action_id == "act-a-degrade-2"


def test_the_table_does_not_depend_on_the_order_actions_are_read_in():
    actions = [
        action("a", "watch", 0.0, 300.0),
        action("a", "throttle", 5.0, 120.0),
        action("a", "degrade", 7.0, 80.0),
        action("a", "throttle", 50.0, 200.0, n=1),
        action("a", "block", 9.0, 20.0),
    ]
    expected = None
    for order in itertools.permutations(actions):
        table = EnforcementTable()
        for a in order:
            table.apply(a)
        answers = [
            table.decide("a", "k", now)
            for now in (0.0, 19.0, 20.0, 79.0, 80.0, 199.0, 200.0, 300.0)
        ]
        expected = expected or answers
        assert answers == expected
    assert [d.verdict for d in expected] == [
        "block",
        "block",
        "degrade",
        "degrade",
        "throttle",
        "throttle",
        "watch",
        "allow",
    ]


def test_prune_forgets_accounts_whose_every_action_expired():
    table = EnforcementTable()
    table.apply(action("a", "block", 0.0, 100.0))
    table.apply(action("b", "block", 0.0, 100.0))
    table.apply(action("b", "watch", 0.0, 300.0))
    assert table.prune(150.0) == 1
    assert len(table) == 1
    assert table.decide("b", None, 150.0).verdict == "watch"


@pytest.mark.parametrize(
    "policy",
    [
        {"throttle_rate": 0.0},
        {"throttle_rate": float("nan")},
        {"throttle_burst": 0.5},
        {"degrade_level": 0},
    ],
)
def test_a_policy_out_of_range_is_refused(policy):
    with pytest.raises(ConfigError):
        EnforcementPolicy(**policy)


def test_the_token_bucket_allows_its_burst_then_its_rate():
    bucket = TokenBucket.full(rate=2.0, burst=3.0, now=0.0)
    assert [bucket.take(0.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert bucket.take(0.0) == pytest.approx(0.5)
    assert bucket.take(0.25) == pytest.approx(0.25)
    assert bucket.take(0.5) == 0.0
    assert bucket.take(10.0) == 0.0  # refilled, but never past the burst
    assert bucket.tokens == pytest.approx(2.0)
