"""Template campaigns: quiet accounts of many orgs on one flagged template add up."""

from __future__ import annotations

from streams.config import DetectorConfig
from streams.messages import TemplateHit
from streams.records import Alert
from streams.stages.template_campaigns import TemplateStage

T0 = 1_741_000_000.0
CONFIG = DetectorConfig()


def _run(senders: int, risk: float) -> list[Alert]:
    """Background templates with a normal spread for an hour, then one wrapper template
    sent by ``senders`` accounts of as many orgs, each at ``risk``."""
    stage = TemplateStage(CONFIG)
    out = []
    for minute in range(60):
        for t in range(40):
            ts = T0 + 60 * minute + t
            out += stage.process(TemplateHit(f"w-bg{t}", f"bg{t}-{minute % 3}", f"obg{t}", ts, 0.5))
    start = T0 + 3600
    for i in range(senders):
        out += stage.process(TemplateHit("w-wrapped", f"q{i}", f"org{i}", start + i, risk))
    return [o for o in out if isinstance(o, Alert)]


def test_a_flagged_template_of_many_orgs_is_alerted_at_the_lower_risk_bar() -> None:
    risk = (CONFIG.campaign_wide_min_risk + CONFIG.campaign_min_risk) / 2
    wide = _run(CONFIG.campaign_wide_orgs + 30, risk)
    assert wide and {a.kind for a in wide} == {"template_campaign"}
    assert len(wide[-1].accounts) >= CONFIG.campaign_wide_orgs
    # the same risk over fewer orgs is a small group's template: no alert
    assert not _run(CONFIG.campaign_wide_orgs - 20, risk)


def test_a_popular_tool_of_near_zero_risk_users_is_never_alerted() -> None:
    assert not _run(CONFIG.campaign_wide_orgs * 3, 0.02)
