"""Template campaigns: the keyed stage (key = ``template_id``) over ``TemplateStats``.

``TemplateStats`` says when a wrapper template spreads over far more accounts
and orgs than its volume explains.  That alone also fires for a newly
popular tool, so a campaign is alerted only when the accounts using the
template are, on average, risky by their own behaviour.  Once a template is
flagged, every later account using it joins the campaign, so revisions name
the whole campaign and not only the sketch's sample.
"""

from __future__ import annotations

from typing import Any

import orjson

from streams.config import DetectorConfig
from streams.messages import TemplateHit
from streams.records import Action, Alert
from streams.stages.lifecycle import RevisionPolicy
from streams.stages.scoring import action_kind_for, alert_id_for, make_action, ramp, severity_for
from streams.stages.template_stats import TemplateFinding, TemplateStats


class Campaign:
    """Accounts seen on one flagged template and the latest finding about it."""

    __slots__ = ("accounts", "finding", "first_ts", "last_ts", "policy", "risks")

    def __init__(self, finding: TemplateFinding) -> None:
        self.accounts: dict[str, str] = {}
        self.risks: dict[str, float] = {}
        self.finding = [
            finding.distinct_accounts,
            finding.distinct_orgs,
            finding.volume,
            finding.baseline,
            finding.score,
        ]
        self.first_ts = finding.window_start
        self.last_ts = finding.ts
        self.policy = RevisionPolicy()

    def to_list(self) -> list[Any]:
        return [
            self.accounts,
            self.risks,
            self.finding,
            self.first_ts,
            self.last_ts,
            self.policy.to_list(),
        ]


class TemplateStage:
    """TemplateHit -> ``template_campaign`` alert revisions (and watch actions)."""

    def __init__(self, config: DetectorConfig) -> None:
        self.config = config
        self.stats = TemplateStats(config.template_stats)
        self.campaigns: dict[str, Campaign] = {}

    def process(self, hit: TemplateHit) -> list[Alert | Action]:
        finding = self.stats.observe(hit.template_id, hit.account_id, hit.org_id, hit.ts)
        campaign = self.campaigns.get(hit.template_id)
        if finding is not None:
            if campaign is None:
                campaign = self.campaigns[hit.template_id] = Campaign(finding)
            else:
                campaign.finding = [
                    finding.distinct_accounts,
                    finding.distinct_orgs,
                    finding.volume,
                    finding.baseline,
                    finding.score,
                ]
            for account in finding.accounts:
                self._join(campaign, account, "", None)
        if campaign is None:
            return []
        self._join(campaign, hit.account_id, hit.org_id, hit.risk)
        campaign.last_ts = max(campaign.last_ts, hit.ts)
        return self._evaluate(hit.template_id, campaign, hit.ts)

    def _join(self, campaign: Campaign, account: str, org: str, risk: float | None) -> None:
        if account not in campaign.accounts:
            if len(campaign.accounts) >= self.config.campaign_max_accounts:
                return
            campaign.accounts[account] = org
            campaign.policy.pending += 1
        elif org and not campaign.accounts[account]:
            campaign.accounts[account] = org
        if risk:
            campaign.risks[account] = risk

    def _risk_bar(self, campaign: Campaign) -> float:
        """Mean account risk a campaign needs to be alerted: lower once many orgs send it."""
        config = self.config
        orgs = {org for org in campaign.accounts.values() if org}
        if len(orgs) >= config.campaign_wide_orgs:
            return config.campaign_wide_min_risk
        return config.campaign_min_risk

    def _evaluate(self, template_id: str, campaign: Campaign, ts: float) -> list[Alert | Action]:
        config = self.config
        if not campaign.risks:
            return []
        mean_risk = sum(campaign.risks.values()) / len(campaign.risks)
        if campaign.policy.revision == 0 and mean_risk < self._risk_bar(campaign):
            return []
        distinct_accounts, orgs, volume, baseline, ratio = campaign.finding
        spread = ramp(ratio, config.template_stats.score_threshold, 10.0)
        score = min(1.0, 0.3 + 0.3 * spread + 0.4 * mean_risk)
        severity = severity_for(score, config)
        size = len(campaign.accounts)
        if not campaign.policy.due(ts, size, severity, config, bounded=True):
            return []
        accounts = sorted(campaign.accounts)
        revision, new = campaign.policy.commit(ts, size, severity, accounts)
        alert_id = alert_id_for("template_campaign", template_id)
        alert = Alert(
            alert_id=alert_id,
            revision=revision,
            ts=ts,
            kind="template_campaign",
            severity=severity,
            score=round(score, 4),
            accounts=tuple(accounts),
            cluster_id=None,
            evidence={
                "features": [
                    {"name": "window_accounts", "value": distinct_accounts, "baseline": baseline},
                    {"name": "window_orgs", "value": orgs, "baseline": None},
                    {"name": "window_volume", "value": volume, "baseline": None},
                    {"name": "spread_ratio", "value": ratio, "baseline": 1.0},
                    {"name": "mean_account_risk", "value": round(mean_risk, 4), "baseline": None},
                ],
                "shared_templates": [{"template_id": template_id, "accounts": size}],
                "similar_pairs": [],
                "infrastructure": {},
                "time_span": {"first": campaign.first_ts, "last": campaign.last_ts},
            },
        )
        kind = action_kind_for(severity, config)
        actions = [
            make_action(a, kind, f"template_campaign:{template_id}", ts, config, alert_id)
            for a in new
        ]
        return [alert, *actions]

    def advance_to(self, watermark: float) -> list[Alert | Action]:
        """Close template windows, forget idle campaigns, flush due revisions."""
        self.stats.advance_watermark(watermark - self.config.template_stats.allowed_lateness)
        horizon = watermark - self.config.account_ttl_s
        out: list[Alert | Action] = []
        for template_id in sorted(self.campaigns):
            campaign = self.campaigns[template_id]
            if campaign.last_ts < horizon:
                del self.campaigns[template_id]
            elif campaign.policy.pending and campaign.policy.revision:
                out.extend(self._evaluate(template_id, campaign, watermark))
        return out

    def to_bytes(self) -> bytes:
        return orjson.dumps(
            {
                "stats": self.stats.to_bytes().hex(),
                "campaigns": {k: c.to_list() for k, c in sorted(self.campaigns.items())},
            }
        )

    @classmethod
    def from_bytes(cls, data: bytes, config: DetectorConfig) -> TemplateStage:
        row = orjson.loads(data)
        stage = cls(config)
        stage.stats = TemplateStats.from_bytes(bytes.fromhex(row["stats"]), config.template_stats)
        for template_id, (accounts, risks, finding, first, last, policy) in row[
            "campaigns"
        ].items():
            campaign = object.__new__(Campaign)
            campaign.accounts, campaign.risks, campaign.finding = accounts, risks, finding
            campaign.first_ts, campaign.last_ts = first, last
            campaign.policy = RevisionPolicy.from_list(policy)
            stage.campaigns[template_id] = campaign
        return stage
