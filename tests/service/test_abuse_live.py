"""Detector abuse on a live worker: a flood of fresh accounts and one-off templates.

The worker runs with small caps, so the flood is many times what it may hold: memory stays at
the caps, the flood evicts itself, both campaigns are still alerted, and the alerts equal a
forensic replay's under the same caps.
"""

from __future__ import annotations

import re
from dataclasses import replace

import pytest

from streams.config import DetectorConfig, TemplateStatsConfig
from tests.service.harness import REQUEST_PARTITIONS, reference, scrape
from tests.service.test_service import alert_records, assert_same_as_replay
from tests.support.abuse_traffic import flood

pytestmark = [pytest.mark.service, pytest.mark.faults]

MAX_ACCOUNTS = 100  # per requests partition; the traffic has about 70 per partition
MAX_TEMPLATES = 300
FLOOD = 3000


def test_a_flood_is_held_at_the_caps_and_the_campaigns_are_still_alerted(deployment, traffic):
    events = flood(traffic.events, FLOOD)
    deployment.env["DISTILLWATCH_DETECTOR__MAX_ACCOUNTS"] = str(MAX_ACCOUNTS)
    deployment.env["DISTILLWATCH_DETECTOR__TEMPLATE_STATS__MAX_TEMPLATES"] = str(MAX_TEMPLATES)
    config = DetectorConfig(
        max_accounts=MAX_ACCOUNTS,
        template_stats=replace(TemplateStatsConfig(), max_templates=MAX_TEMPLATES),
    )
    deployment.produce(events)
    expected = reference(deployment, len(events), config)
    worker = deployment.start_worker(f"svc-{deployment.run}-abuse", "abuse")
    records = alert_records(deployment, {(a.alert_id, a.revision) for a in expected.alerts})
    assert_same_as_replay(records, expected.alerts)

    def named(prefix: str, kind: str) -> int:
        return len(
            {a for alert in expected.alerts if alert.kind == kind for a in alert.accounts}
            & {a for a in traffic.labels if a.startswith(prefix)}
        )

    assert named("harv", "coordinated_cluster") >= 0.9 * 25
    assert named("wrap", "template_campaign") >= 0.9 * 25
    metrics = scrape(worker)
    tracked = float(re.search(r"^distillwatch_tracked_accounts (\S+)$", metrics, re.M)[1])
    evicted = float(re.search(r"^distillwatch_evicted_accounts_total (\S+)$", metrics, re.M)[1])
    print(f"\ntracked accounts {tracked:.0f}, evicted {evicted:.0f}")
    assert tracked <= REQUEST_PARTITIONS * (MAX_ACCOUNTS + 1)
    assert evicted >= FLOOD - REQUEST_PARTITIONS * MAX_ACCOUNTS
