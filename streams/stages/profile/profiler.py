"""The account profiler: the first keyed stage (key = ``account_id``), native.

Each event is folded into its account's profile, and the profiler decides when the account's
snapshot (coordination tokens, behaviour, risk) goes to the cross-account stages and when a
single account is extraction-like on its own (``account_extraction``).  All of it runs in
``streams._native`` (``Profiler`` for the in-process detector, ``AccountPartition`` for the
service's partitioned stage, which adds decoding, admission and extraction); this module gives
it its settings and turns what it returns into the core's messages and records.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from streams import _native
from streams.config import DetectorConfig
from streams.errors import StateError
from streams.messages import AccountSnapshot, SignatureHit, TemplateHit
from streams.records import Action, Alert, RequestEvent
from streams.stages.profile.account import AccountView
from streams.stages.scoring import action_kind_for, alert_id_for, feature_evidence, make_action
from streams.stages.signatures import SignatureBook
from streams.templates.extractor import TemplateMatch

Message = TemplateHit | AccountSnapshot | SignatureHit

_SETTINGS = (
    "max_prompt_bytes",
    "max_record_bytes",
    "max_lateness_s",
    "max_future_s",
    "dedup_max_ids",
    "max_accounts",
    "cap_evict_share",
    "hot_accounts",
    "account_ttl_s",
    "gap_ewma_alpha",
    "gap_cap_s",
    "snapshot_first_after",
    "snapshot_every",
    "snapshot_on_new_tokens",
    "snapshot_min_events_between",
    "snapshot_max_interval_s",
    "kmv_k",
    "max_categories",
    "created_bucket_s",
    "created_wide_bucket_s",
    "temperature_bucket",
    "risk_min_events",
    "young_account_days",
    "old_account_days",
    "asn_rotation_low",
    "asn_rotation_high",
    "rotation_share_events",
    "ip_rotation_low",
    "ip_rotation_high",
    "diurnal_low_hours",
    "diurnal_high_hours",
    "volume_low_per_hour",
    "volume_high_per_hour",
    "breadth_low",
    "breadth_high",
    "diversity_low",
    "diversity_high",
    "structured_low",
    "structured_high",
    "cot_low",
    "cot_high",
    "ratio_low",
    "ratio_high",
    "throttle_low",
    "throttle_high",
    "regularity_cv_high",
    "regularity_cv_low",
    "extraction_min_events",
    "extraction_threshold",
    "extraction_min_automation",
    "extraction_min_harvest",
    "df_window_s",
    "signature_min_events",
    "evict_interval_s",
)
_TEMPLATE_SETTINGS = (
    "num_perm",
    "seed",
    "shingle_size",
    "id_tokens",
    "plain_id_tokens",
    "min_wrapper_tokens",
    "wrapper_cue_share",
    "label_max_tokens",
    "max_prompt_chars",
    "length_buckets",
    "slot_quotes",
    "slot_named_entities",
    "slot_list_markers",
)


def native_settings(config: DetectorConfig) -> dict[str, Any]:
    """The knobs the native account stage reads, by ``DetectorConfig`` field name."""
    settings: dict[str, Any] = {name: getattr(config, name) for name in _SETTINGS}
    settings["templates"] = {
        name: list(value) if isinstance(value, tuple) else value
        for name in _TEMPLATE_SETTINGS
        for value in (getattr(config.templates, name),)
    }
    settings["family_caps"] = [f.cap for f in config.token_families]
    settings["risk_weights"] = [tuple(pair) for pair in config.risk_weights]
    settings["severity_bands"] = [tuple(pair) for pair in config.severity_bands]
    return settings


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


def message_from(kind: str, p: list[Any]) -> Message:
    """The message of an envelope entry's kind and payload (``agents.stages.envelope``)."""
    if kind == "t":
        return TemplateHit(p[0], p[1], p[2], p[3], p[4])
    if kind == "s":
        return AccountSnapshot(
            account_id=p[0],
            org_id=p[1],
            ts=p[2],
            first_ts=p[3],
            n_events=p[4],
            tokens=tuple(p[5]),
            new_tokens=tuple(p[6]),
            recount=p[7],
            behaviour=np.asarray(p[8], dtype=np.float32),
            risk=p[9],
            features=tuple((name, value) for name, value in p[10]),
        )
    if kind == "g":
        return SignatureHit(p[0], p[1], p[2], p[3], tuple(p[4]), p[5])
    raise StateError(f"unknown message kind {kind!r}")


def extraction_outputs(
    found: tuple[Any, ...], config: DetectorConfig, baselines: dict[str, float]
) -> list[Alert | Action]:
    """The alert and action of a native account_extraction finding."""
    account_id, ts, revision, severity, risk, metrics, infrastructure, first, last = found
    alert_id = alert_id_for("account_extraction", account_id)
    evidence = {
        "features": feature_evidence(metrics, baselines, tuple(baselines)),
        "shared_templates": [],
        "similar_pairs": [],
        "infrastructure": infrastructure,
        "time_span": {"first": first, "last": last},
    }
    alert = Alert(
        alert_id=alert_id,
        revision=revision,
        ts=ts,
        kind="account_extraction",
        severity=severity,
        score=round(risk, 4),
        accounts=(account_id,),
        cluster_id=None,
        evidence=evidence,
    )
    kind = action_kind_for(severity, config)
    return [alert, make_action(account_id, kind, "account_extraction", ts, config, alert_id)]


class AccountStates:
    """Read-only view of native profiles: ids in insertion order, ``AccountView`` per id."""

    __slots__ = ("_native",)

    def __init__(self, native: Any) -> None:
        self._native = native

    def __len__(self) -> int:
        return len(self._native)

    def __iter__(self) -> Iterator[str]:
        return iter(self._native.accounts())

    def __contains__(self, account: object) -> bool:
        return isinstance(account, str) and account in self._native

    def __getitem__(self, account: str) -> AccountView:
        data = self._native.state(account)
        if data is None:
            raise KeyError(account)
        return AccountView.of(data)

    def get(self, account: str) -> AccountView | None:
        data = self._native.state(account)
        return None if data is None else AccountView.of(data)

    def items(self) -> Iterator[tuple[str, AccountView]]:
        for account in self._native.accounts():
            yield account, self[account]

    def values(self) -> Iterator[AccountView]:
        for _, view in self.items():
            yield view


class AccountProfiler:
    """Keyed stage: RequestEvent (+ its TemplateMatch) -> hits, snapshots, account alerts."""

    def __init__(self, config: DetectorConfig, signatures: SignatureBook) -> None:
        self.config = config
        self.signatures = signatures
        self.native = _native.Profiler(native_settings(config))
        self.states = AccountStates(self.native)
        self.baselines = feature_baselines(config)

    def process(
        self, event: RequestEvent, match: TemplateMatch
    ) -> list[TemplateHit | AccountSnapshot | SignatureHit | Alert | Action]:
        messages, found = self.native.process(event, match, self.signatures.native)
        out: list[TemplateHit | AccountSnapshot | SignatureHit | Alert | Action] = [
            message_from(kind, payload) for kind, payload in messages
        ]
        if found is not None:
            out.extend(extraction_outputs(found, self.config, self.baselines))
        return out

    def enforce_cap(self) -> list[str]:
        """Forget accounts beyond ``max_accounts``; returns them.

        Fewest events go first, then the longest idle, then by id: a flood of one-request
        fresh accounts is what gets forgotten, not a campaign's busy accounts.  Callers run
        it when event time advances, before the event that advanced it, so the set it sees
        depends on the stream's order alone.
        """
        return self.native.enforce_cap()

    def retract_signature(self, signature_id: str) -> list[str]:
        """A tombstoned signature no longer counts as matched; returns the accounts changed."""
        return self.native.retract_signature(signature_id)

    def evict(self, watermark: float) -> int:
        """Forget accounts idle beyond the TTL; returns how many were dropped."""
        return len(self.native.evict(watermark))

    def load(self, account: str, data: bytes) -> None:
        """Load an account from its checkpoint bytes."""
        try:
            self.native.put(account, data)
        except ValueError as exc:
            raise StateError(f"account {account!r}: {exc}") from exc
