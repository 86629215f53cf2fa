"""The account profiler: the first keyed stage (key = ``account_id``).

It folds each event into its account's ``AccountState`` and decides when the account's
snapshot (coordination tokens, behaviour, risk) goes to the cross-account stages.
"""

from __future__ import annotations

import heapq

from streams.config import DetectorConfig
from streams.messages import AccountSnapshot, SignatureHit, TemplateHit
from streams.records import Action, Alert, RequestEvent
from streams.sketches.minhash import stable_hash64
from streams.stages.profile.account import EVIDENCE_METRICS, U32, AccountState
from streams.stages.profile.store import AccountStates
from streams.stages.scoring import (
    SEVERITY_RANK,
    action_kind_for,
    alert_id_for,
    feature_evidence,
    make_action,
    severity_for,
)
from streams.stages.signatures import SignatureBook
from streams.templates.extractor import TemplateMatch

_AUTOMATION = ("young", "asn_rotation", "ip_rotation", "diurnal")


def _snapshot_due(state: AccountState, ts: float, config: DetectorConfig) -> bool:
    n, last = state.n, state.last_snap_n
    if n < config.snapshot_first_after:
        return False
    if last == 0:
        return True
    since = n - last
    if since >= min(last, config.snapshot_every):
        return True
    if since < config.snapshot_min_events_between:
        return False
    return (
        state.pending_tokens >= config.snapshot_on_new_tokens
        or ts - state.last_snap_ts >= config.snapshot_max_interval_s
    )


def feature_baselines(config: DetectorConfig) -> dict[str, float]:
    """For each metric, the level where suspicion starts: what legitimate accounts stay under."""
    return {
        "account_age_days": config.old_account_days,
        "asn_distinct": config.asn_rotation_low,
        "ip24_distinct": config.ip_rotation_low,
        "active_hours": config.diurnal_low_hours,
        "rate_per_hour": config.volume_low_per_hour,
        "distinct_categories": config.breadth_low,
        "template_diversity": config.diversity_low,
        "structured_share": config.structured_low,
        "cot_share": config.cot_low,
        "completion_ratio": config.ratio_low,
        "throttle_share": config.throttle_low,
        "gap_cv": config.regularity_cv_high,
    }


class AccountProfiler:
    """Keyed stage: RequestEvent (+ its TemplateMatch) -> hits, snapshots, account alerts."""

    def __init__(self, config: DetectorConfig, signatures: SignatureBook) -> None:
        self.config = config
        self.signatures = signatures
        self.states = AccountStates(config)
        self.baselines = feature_baselines(config)

    def process(
        self, event: RequestEvent, match: TemplateMatch
    ) -> list[TemplateHit | AccountSnapshot | SignatureHit | Alert | Action]:
        config = self.config
        ts = event.ts
        states = self.states
        entry = states.peek(event.account_id)
        if entry is None or ts - entry.last_ts > config.account_ttl_s:
            state = AccountState(event.org_id, ts, config)
            states[event.account_id] = state
        else:
            state = states[event.account_id]
        state.update(event, match, config)
        out: list[TemplateHit | AccountSnapshot | SignatureHit | Alert | Action] = [
            TemplateHit(match.template_id, event.account_id, event.org_id, ts, state.last_risk)
        ]
        metrics: dict[str, float] | None = None
        if self.signatures.active:
            metrics = state.metrics()
            for sig_id, matched, confidence in self.signatures.match(
                event, match, metrics, state.n
            ):
                if sig_id not in state.signature_hits:
                    state.signature_hits.append(sig_id)
                    out.append(
                        SignatureHit(
                            sig_id, event.account_id, event.org_id, ts, matched, confidence
                        )
                    )
        if _snapshot_due(state, ts, config):
            if metrics is None:
                metrics = state.metrics()
            out.extend(self._snapshot(event.account_id, state, ts, metrics))
        return out

    def _snapshot(
        self, account_id: str, state: AccountState, ts: float, metrics: dict[str, float]
    ) -> list[AccountSnapshot | Alert | Action]:
        config = self.config
        suspicion = state.suspicion(metrics, config)
        risk = state.risk(suspicion, config)
        state.last_risk = risk
        tokens = state.token_list()
        recount = state.reported_at is None or ts - state.reported_at >= config.df_window_s
        if recount:
            new_tokens = tokens
            state.reported_at = ts
        else:
            reported = set(state.reported)
            new_tokens = tuple(t for t in tokens if stable_hash64(t) & U32 not in reported)
        state.reported = sorted(stable_hash64(t) & U32 for t in tokens)
        state.pending_tokens = 0
        state.last_snap_n = state.n
        state.last_snap_ts = ts
        features = tuple((name, metrics[name]) for name in EVIDENCE_METRICS if name in metrics)
        out: list[AccountSnapshot | Alert | Action] = [
            AccountSnapshot(
                account_id=account_id,
                org_id=state.org_id,
                ts=ts,
                first_ts=state.first_ts,
                n_events=state.n,
                tokens=tokens,
                new_tokens=new_tokens,
                recount=recount,
                behaviour=state.behaviour(metrics),
                risk=risk,
                features=features,
            )
        ]
        out.extend(self._extraction(account_id, state, ts, metrics, suspicion, risk))
        return out

    def _extraction(
        self,
        account_id: str,
        state: AccountState,
        ts: float,
        metrics: dict[str, float],
        suspicion: dict[str, float],
        risk: float,
    ) -> list[Alert | Action]:
        """A single account whose own behaviour is extraction-like (automation AND harvesting)."""
        config = self.config
        if state.n < config.extraction_min_events or risk < config.extraction_threshold:
            return []
        automation = max(suspicion.get(name, 0.0) for name in _AUTOMATION)
        harvest = min(suspicion.get("breadth", 0.0), suspicion.get("diversity", 0.0))
        if automation < config.extraction_min_automation or harvest < config.extraction_min_harvest:
            return []
        severity = severity_for(risk, config)
        if (
            state.alerted_severity
            and SEVERITY_RANK[severity] <= SEVERITY_RANK[state.alerted_severity]
        ):
            return []
        state.alert_revision += 1
        state.alerted_severity = severity
        alert_id = alert_id_for("account_extraction", account_id)
        evidence = {
            "features": feature_evidence(metrics, self.baselines, tuple(self.baselines)),
            "shared_templates": [],
            "similar_pairs": [],
            "infrastructure": {
                "asns": sorted(state.tokens["asn"].items),
                "ip_prefixes": sorted(state.tokens["ip24"].items),
                "user_agents": sorted(state.tokens["ua"].items),
                "payment_fingerprints": sorted(state.tokens["pay"].items),
            },
            "time_span": {"first": state.first_ts, "last": state.last_ts},
        }
        alert = Alert(
            alert_id=alert_id,
            revision=state.alert_revision,
            ts=ts,
            kind="account_extraction",
            severity=severity,
            score=round(risk, 4),
            accounts=(account_id,),
            cluster_id=None,
            evidence=evidence,
        )
        action = make_action(
            account_id,
            action_kind_for(severity, config),
            "account_extraction",
            ts,
            config,
            alert_id,
        )
        return [alert, action]

    def enforce_cap(self) -> list[str]:
        """Forget accounts beyond ``max_accounts``; returns them.

        Fewest events go first, then the longest idle, then by id: a flood of one-request
        fresh accounts is what gets forgotten, not a campaign's busy accounts.  Callers run
        it when event time advances, before the event that advanced it, so the set it sees
        depends on the stream's order alone.
        """
        config = self.config
        states = self.states
        if len(states) <= config.max_accounts:
            return []
        keep = round(config.max_accounts * (1.0 - config.cap_evict_share))
        victims = heapq.nsmallest(
            len(states) - keep, ((s.n, s.last_ts, a) for a, s in states.items())
        )
        for *_, account_id in victims:
            del states[account_id]
        return [account_id for *_, account_id in victims]

    def retract_signature(self, signature_id: str) -> list[str]:
        """A tombstoned signature no longer counts as matched; returns the accounts changed."""
        return self.states.retract_signature(signature_id)

    def evict(self, watermark: float) -> int:
        """Forget accounts idle beyond the TTL; returns how many were dropped."""
        horizon = watermark - self.config.account_ttl_s
        stale = [a for a, s in self.states.items() if s.last_ts < horizon]
        for account_id in stale:
            del self.states[account_id]
        return len(stale)
