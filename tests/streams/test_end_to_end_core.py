"""End to end, in process: coordinated campaigns hidden in ordinary traffic.

Uses the small hand-written generator in ``tests.support.core_traffic`` (not the project's
simulator), whose populations each carry one trait the core must judge right.
"""

from __future__ import annotations

import pytest

from streams.detector import Detector
from streams.records import Action, Alert
from tests.support.core_traffic import generate


@pytest.fixture(scope="module")
def result():
    traffic = generate(seed=11, duration=2700.0, benign=150, campaign_size=25)
    det = Detector()
    out = det.process_many(traffic.events)
    out += det.advance_to(traffic.events[-1].ts + 600.0)
    alerts = [o for o in out if isinstance(o, Alert)]
    actions = [o for o in out if isinstance(o, Action)]
    named: dict[str, set[str]] = {}
    first_seen: dict[str, float] = {}
    for alert in alerts:
        for account in alert.accounts:
            named.setdefault(account, set()).add(alert.kind)
            first_seen.setdefault(account, alert.ts)
    return traffic, alerts, actions, named, first_seen


def campaign(traffic, prefix: str) -> set[str]:
    return {a for a, label in traffic.labels.items() if a.startswith(prefix) and label == "attack"}


def test_wrapped_campaign_is_found_quickly_and_almost_entirely(result):
    traffic, _, _, named, first_seen = result
    members = campaign(traffic, "wrap")
    found = members & set(named)
    assert len(found) >= 0.95 * len(members)
    delay = min(first_seen[a] for a in found) - traffic.campaign_start["wrap"]
    assert delay <= 300.0


def test_harvested_prompts_without_wrapper_are_found_by_coordination(result):
    traffic, alerts, _, named, first_seen = result
    members = campaign(traffic, "harv")
    clustered = {
        a for alert in alerts if alert.kind == "coordinated_cluster" for a in alert.accounts
    }
    assert len(members & clustered) >= 0.95 * len(members)
    delay = min(first_seen[a] for a in members & set(named)) - traffic.campaign_start["harv"]
    assert delay <= 300.0
    # the evidence is infrastructure and behaviour, not templates
    harv_alerts = [
        a for a in alerts if a.kind == "coordinated_cluster" and set(a.accounts) & members
    ]
    infra = harv_alerts[-1].evidence["infrastructure"]
    assert "payment_fingerprint" in infra or "ip_prefix" in infra


@pytest.mark.parametrize(
    "account", ["heavy-dev", "power-user", "labeller", "research0", "research3", "corp000"]
)
def test_hard_negatives_are_not_flagged(result, account):
    _, _, actions, named, _ = result
    assert account not in named
    assert account not in {a.account_id for a in actions}


def test_ordinary_users_are_not_flagged(result):
    traffic, _, _, named, _ = result
    benign = {a for a, label in traffic.labels.items() if label != "attack"}
    assert not benign & set(named)


def test_every_alerted_attacker_gets_a_quiet_response(result):
    traffic, _, actions, named, _ = result
    acted = {a.account_id for a in actions}
    assert {a for a in named if traffic.labels[a] == "attack"} <= acted
    assert all(a.action in ("watch", "throttle", "degrade", "block") for a in actions)
