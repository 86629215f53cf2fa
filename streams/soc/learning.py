"""Turn a confirmed finding into a shareable detection signature.

An analyst who confirms a cluster (or template campaign) wants every other lab running
DistillWatch to catch the same operator on its own traffic, where the accounts, cards and
often the proxies differ.  What carries over is what the operator reuses: the prompt
templates it wraps its harvest in, its tooling (user agent), sometimes its networks, and the
way its accounts behave.  So a learned signature keeps

* the shared templates and the infrastructure values that most of the cluster's similar
  pairs share (``min_pair_share`` of the strongest shared indicator), restricted to the
  indicator kinds a detector can match on a request;
* behaviour thresholds for every account metric on which the cluster's mean is past the
  level where suspicion starts, set at that level.  A signature matches when one indicator
  matches *and* every threshold holds, so a common user agent shared by the campaign cannot
  flag the ordinary users who send it too.

It never keeps account ids, org ids or prompt text: a signature is meant to leave the lab.
Pure function of the alert and the config, so learning twice gives the same signature.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Any

from streams.errors import SignatureError
from streams.records import Alert, Signature
from streams.stages.signatures import BEHAVIOUR_METRICS, INFRASTRUCTURE_FIELDS

LEARNABLE_KINDS = ("coordinated_cluster", "template_campaign")

LOWER_IS_SUSPICIOUS = frozenset({"account_age_days", "gap_cv"})
"""Metrics whose suspicion grows as they fall (young accounts, machine-regular gaps)."""


@dataclass(frozen=True, slots=True)
class LearningPolicy:
    """How much of a finding goes into the signature learned from it."""

    min_pair_share: float = 0.5
    """An indicator is kept when its pair count is at least this share of the strongest one's."""
    validity_s: float = 90 * 86400.0
    """The signature stays valid this long after the finding's last activity."""


def signature_id_for(alert: Alert) -> str:
    """The id a signature learned from ``alert`` gets: relearning replaces, never duplicates."""
    return f"learned-{alert.alert_id}"


def signature_from_cluster(
    alert: Alert, source: str, policy: LearningPolicy | None = None
) -> Signature:
    """The signature learned from a confirmed ``coordinated_cluster`` or ``template_campaign``.

    Raises ``SignatureError`` when the alert cannot teach a signature: another kind, or no template
    or matchable infrastructure shared widely enough.
    """
    policy = policy or LearningPolicy()
    if alert.kind not in LEARNABLE_KINDS:
        raise SignatureError(
            f"alert {alert.alert_id} is a {alert.kind}; signatures are learned from "
            f"{' or '.join(LEARNABLE_KINDS)} findings"
        )
    evidence = alert.evidence
    candidates: list[tuple[str, str, float]] = []  # (kind, value, weight)
    for item in evidence.get("shared_templates") or ():
        template_id, weight = _weighted(item, "template_id")
        if template_id:
            candidates.append(("template", template_id, weight))
    for kind, items in sorted((evidence.get("infrastructure") or {}).items()):
        if kind not in INFRASTRUCTURE_FIELDS and kind != "ip_prefix":
            continue  # e.g. created_hour: nothing a request event shows
        for item in items if isinstance(items, list) else ():
            value, weight = _weighted(item, "value")
            if value:
                candidates.append((kind, _indicator_value(kind, value), weight))
    strongest = max((w for _, _, w in candidates), default=0.0)
    kept = sorted(
        (kind, value)
        for kind, value, weight in candidates
        if strongest > 0 and weight >= policy.min_pair_share * strongest
    )
    templates = tuple(value for kind, value in kept if kind == "template")
    infrastructure: dict[str, tuple[str, ...]] = {}
    for kind, value in kept:
        if kind != "template":
            infrastructure[kind] = (*infrastructure.get(kind, ()), value)
    if not templates and not infrastructure:
        raise SignatureError(
            f"alert {alert.alert_id} shares no template or matchable infrastructure: "
            "a signature learned from it would match nothing"
        )
    span = evidence.get("time_span") or {}
    first, last = span.get("first"), span.get("last")
    members = len(alert.accounts)
    return Signature(
        signature_id=signature_id_for(alert),
        source=source,
        confidence=round(alert.score, 2),
        template_hashes=templates,
        infrastructure=infrastructure,
        behaviour=_behaviour(evidence.get("features") or ()),
        description=(
            f"Learned from confirmed {alert.kind} {alert.alert_id} revision {alert.revision} "
            f"({members} accounts, score {alert.score:.2f})."
        ),
        valid_from=float(first) if isinstance(first, int | float) else None,
        valid_until=(float(last) + policy.validity_s if isinstance(last, int | float) else None),
    )


def _weighted(item: Any, key: str) -> tuple[str, float]:
    """(value, weight) of an evidence entry: a bare id, or an object with pairs/accounts."""
    if isinstance(item, str):
        return item, 1.0
    if isinstance(item, dict):
        weight = item.get("pairs", item.get("accounts", 1))
        value = item.get(key)
        if isinstance(value, str) and isinstance(weight, int | float):
            return value, float(weight)
    return "", 0.0


def _indicator_value(kind: str, value: str) -> str:
    """Cluster evidence names /24 networks by their first three octets; signatures use CIDR."""
    if kind == "ip_prefix" and value.count(".") == 2:
        return str(ipaddress.ip_network(f"{value}.0/24"))
    return value


def _behaviour(features: Any) -> dict[str, float]:
    rules: dict[str, float] = {}
    for feature in features:
        if not isinstance(feature, dict):
            continue
        name, value, baseline = feature.get("name"), feature.get("value"), feature.get("baseline")
        if not (isinstance(name, str) and name.startswith("mean_")):
            continue
        metric = name.removeprefix("mean_")
        if metric not in BEHAVIOUR_METRICS or not isinstance(baseline, int | float):
            continue
        if not isinstance(value, int | float):
            continue
        if metric in LOWER_IS_SUSPICIOUS:
            if value < baseline:
                rules[f"max_{metric}"] = float(baseline)
        elif value > baseline:
            rules[f"min_{metric}"] = float(baseline)
    return dict(sorted(rules.items()))
