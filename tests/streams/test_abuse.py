"""Detector abuse: floods of fresh accounts and one-off templates hit the caps, not the campaign."""

from __future__ import annotations

from dataclasses import replace

import pytest

from streams.config import DetectorConfig, TemplateStatsConfig
from streams.detector import Detector
from streams.records import Alert
from streams.stages.template_stats import TemplateStats
from streams.templates.extractor import TemplateMatch
from tests.support.abuse_traffic import flood
from tests.support.core_traffic import generate

MAX_ACCOUNTS = 300
MAX_TEMPLATES = 200
FLOOD = 6000
MATCH = TemplateMatch("p-plain", "p-plain", (), frozenset())


@pytest.fixture(scope="module")
def traffic():
    return generate(seed=11, duration=2700.0, benign=150, campaign_size=25)


def named(out, kind: str) -> set[str]:
    return {a for o in out if isinstance(o, Alert) and o.kind == kind for a in o.accounts}


def test_a_flood_stays_under_the_caps_and_the_campaigns_are_still_found(traffic):
    config = DetectorConfig(
        max_accounts=MAX_ACCOUNTS,
        template_stats=replace(TemplateStatsConfig(), max_templates=MAX_TEMPLATES),
    )
    det = Detector(config)
    most_accounts = most_templates = 0
    out = []
    for event in flood(traffic.events, FLOOD):
        out.extend(det.process(event))
        most_accounts = max(most_accounts, len(det.profiler.states))
        most_templates = max(most_templates, len(det.templates.stats.templates))
    # checked when event time advances, before the event: at most that one event over
    assert most_accounts <= MAX_ACCOUNTS + 1
    assert most_templates <= MAX_TEMPLATES
    assert det.counters["evicted_accounts"] >= FLOOD - MAX_ACCOUNTS
    assert det.templates.stats.evicted_templates > 0

    harvested = {a for a in traffic.labels if a.startswith("harv")}
    wrapped = {a for a in traffic.labels if a.startswith("wrap")}
    clustered = named(out, "coordinated_cluster")
    assert len(clustered & harvested) >= 0.9 * len(harvested)
    assert len(named(out, "template_campaign") & wrapped) >= 0.9 * len(wrapped)
    attackers = {a for a, label in traffic.labels.items() if label == "attack"}
    assert (
        not {a for o in out if isinstance(o, Alert) for a in o.accounts}
        - attackers
        - {a for a in det.profiler.states if a.startswith("flood")}
    ), "benign accounts were named"


def test_without_caps_the_same_flood_grows_state_with_it(traffic):
    det = Detector()
    det.process_many(flood(traffic.events, 2000))
    assert len(det.profiler.states) > 2000
    assert len(det.templates.stats.templates) > 1000


def test_the_account_cap_forgets_the_fewest_events_first(traffic):
    config = DetectorConfig(max_accounts=10, cap_evict_share=0.5)
    profiler = Detector(config).profiler
    base = traffic.events[0]
    for i in range(10):  # busy accounts: three events each
        for k in range(3):
            profiler.process(replace(base, account_id=f"busy{i}", ts=base.ts + k), MATCH)
    profiler.process(replace(base, account_id="fresh", ts=base.ts + 9), MATCH)
    evicted = profiler.enforce_cap()
    assert evicted[0] == "fresh" and len(evicted) == 11 - 5
    assert len(profiler.states) == 5
    assert profiler.enforce_cap() == []  # under the cap: nothing more


def test_a_busy_template_outlives_a_flood_of_one_off_templates():
    stats = TemplateStats(replace(TemplateStatsConfig(), max_templates=50))
    t0 = 1_767_225_600.0
    for i in range(1000):
        stats.observe("w-busy", f"acct{i % 7}", "org", t0 + i)
        stats.observe(f"w-once{i}", f"flood{i}", f"org{i}", t0 + i + 0.5)
        assert len(stats.templates) <= 50
    assert "w-busy" in stats.templates
    assert stats.evicted_templates >= 1000 - 50
