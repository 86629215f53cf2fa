"""Stable identities, severities and responses shared by every stage.

Ids are BLAKE2b digests of the finding's identity (never wall clock, process
id or salted ``hash()``), so live workers, a forensic replay and a restarted
worker name the same finding identically.
"""

from __future__ import annotations

import hashlib
from typing import Any

from streams.config import DetectorConfig
from streams.records import Action, ActionKind, AlertKind, Severity

ACTION_RANK: dict[str, int] = {"watch": 0, "throttle": 1, "degrade": 2, "block": 3}
SEVERITY_RANK: dict[str, int] = {"low": 0, "medium": 1, "high": 2, "critical": 3}


def stable_id(*parts: str) -> str:
    """96-bit hex digest of the parts, joined with a separator no id contains."""
    return hashlib.blake2b("\x1f".join(parts).encode(), digest_size=12).hexdigest()


def alert_id_for(kind: AlertKind, identity: str) -> str:
    """The id of a finding: the same (kind, identity) always gets the same alert id."""
    return f"{kind[:3]}-{stable_id(kind, identity)}"


def ramp(value: float, low: float, high: float) -> float:
    """Linear suspicion: 0 at ``low``, 1 at ``high`` (works with ``high < low`` too)."""
    if high == low:
        return 1.0 if value >= high else 0.0
    t = (value - low) / (high - low)
    return 0.0 if t <= 0.0 else 1.0 if t >= 1.0 else t


def severity_for(score: float, config: DetectorConfig) -> Severity:
    """Severity band of a score (bands are lower bounds, highest first)."""
    for name, bound in config.severity_bands:
        if score >= bound:
            return name  # type: ignore[return-value]
    return "low"


def action_kind_for(severity: Severity, config: DetectorConfig) -> ActionKind:
    """The quiet response configured for a severity."""
    return dict(config.action_for_severity).get(severity, "watch")  # type: ignore[return-value]


def make_action(
    account_id: str,
    kind: ActionKind,
    reason: str,
    ts: float,
    config: DetectorConfig,
    alert_id: str | None,
) -> Action:
    """An action whose id is fixed by what it answers and when (event time)."""
    return Action(
        action_id=f"act-{stable_id(alert_id or '', account_id, kind, repr(ts))}",
        ts=ts,
        account_id=account_id,
        action=kind,
        reason=reason,
        expires_at=ts + config.action_ttl_s,
        alert_id=alert_id,
    )


def feature_evidence(
    values: dict[str, float], baselines: dict[str, float], names: tuple[str, ...]
) -> list[dict[str, Any]]:
    """Evidence rows ``{name, value, baseline}``; baseline is where suspicion starts."""
    return [
        {"name": name, "value": round(values[name], 4), "baseline": baselines[name]}
        for name in names
        if name in values
    ]
