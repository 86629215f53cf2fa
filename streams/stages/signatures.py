"""Shared detection signatures, matched in-stream and hot-swappable.

A signature names *event indicators* (template hashes, prompt-structure
regexes, infrastructure values) and/or *behaviour thresholds* over an
account's metrics.  It matches an event when any event indicator matches (or
it has none) and every behaviour threshold holds (or it has none).  The
``SignatureBook`` is read by the account stage; the ``SignatureStage`` (key =
``signature_id``) turns hits into one ``signature_match`` alert per signature
whose revisions list the matching accounts.
"""

from __future__ import annotations

import ipaddress
import math
import re
from typing import Any

import orjson

from streams.config import DetectorConfig
from streams.errors import SignatureError
from streams.messages import SignatureHit
from streams.records import Action, Alert, RequestEvent, Signature
from streams.stages.lifecycle import RevisionPolicy
from streams.stages.scoring import (
    action_kind_for,
    alert_id_for,
    make_action,
    severity_for,
)
from streams.templates.extractor import TemplateMatch

INFRASTRUCTURE_FIELDS = {
    "asn": "asn",
    "ip": "ip",
    "user_agent": "user_agent",
    "payment_fingerprint": "payment_fingerprint",
    "country": "country",
    "api_key_id": "api_key_id",
    "model": "model",
}
"""Indicator kinds matched by exact value against an event field (``ip_prefix`` is CIDR).

Other kinds are allowed on the wire; the detector cannot see them in an event,
so they are kept in ``CompiledSignature.unsupported`` and never match.
"""

BEHAVIOUR_METRICS = (
    "events",
    "observed_hours",
    "rate_per_hour",
    "gap_cv",
    "active_hours",
    "distinct_categories",
    "category_entropy",
    "template_diversity",
    "structured_share",
    "cot_share",
    "throttle_share",
    "completion_ratio",
    "asn_distinct",
    "ip24_distinct",
    "account_age_days",
)
"""Metrics a signature may bound: ``<metric>`` or ``min_<metric>`` (at least), ``max_<metric>``."""

BEHAVIOUR_ALIASES = {
    "structured_output_ratio": "structured_share",
    "chain_of_thought_ratio": "cot_share",
    "requests_per_hour": "rate_per_hour",
    "distinct_asns": "asn_distinct",
    "distinct_ip_prefixes": "ip24_distinct",
}


def behaviour_rule(signature_id: str, key: str, bound: float) -> tuple[str, str, float]:
    """``(op, metric, bound)`` of one behaviour key; the STIX mapping shares it so a partner's
    bundle and a local record name the same metrics with the same aliases."""
    op, metric = "min", key
    for prefix in ("min_", "max_"):
        if key.startswith(prefix):
            op, metric = prefix[:3], key[4:]
    metric = BEHAVIOUR_ALIASES.get(metric, metric)
    if metric not in BEHAVIOUR_METRICS:
        raise SignatureError(
            f"signature {signature_id}: unknown behaviour feature {key!r}; "
            f"known: {', '.join(BEHAVIOUR_METRICS)}"
        )
    return op, metric, float(bound)


class CompiledSignature:
    """A signature with its regexes and networks parsed once, at apply time."""

    __slots__ = (
        "behaviour",
        "networks",
        "patterns",
        "record",
        "templates",
        "unsupported",
        "valid_from",
        "valid_until",
        "values",
    )

    def __init__(self, sig: Signature) -> None:
        self.record = sig
        self.valid_from = -math.inf if sig.valid_from is None else sig.valid_from
        self.valid_until = math.inf if sig.valid_until is None else sig.valid_until
        if self.valid_until <= self.valid_from:
            raise SignatureError(
                f"signature {sig.signature_id}: valid_until is not after valid_from"
            )
        self.templates = frozenset(sig.template_hashes)
        try:
            self.patterns = tuple(re.compile(p) for p in sig.prompt_patterns)
        except re.error as exc:
            raise SignatureError(
                f"signature {sig.signature_id}: bad prompt pattern: {exc}"
            ) from exc
        infra = sig.infrastructure
        try:
            self.networks = tuple(
                ipaddress.ip_network(p, strict=False) for p in infra.get("ip_prefix", ())
            )
        except ValueError as exc:
            raise SignatureError(f"signature {sig.signature_id}: {exc}") from exc
        self.values = {
            field: frozenset(infra[kind])
            for kind, field in INFRASTRUCTURE_FIELDS.items()
            if infra.get(kind)
        }
        self.unsupported = tuple(
            sorted(k for k in infra if k not in INFRASTRUCTURE_FIELDS and k != "ip_prefix")
        )
        self.behaviour = tuple(
            behaviour_rule(sig.signature_id, key, bound)
            for key, bound in sorted(sig.behaviour.items())
        )

    @property
    def has_indicators(self) -> bool:
        return bool(self.templates or self.patterns or self.networks or self.values)

    def indicators(self, event: RequestEvent, match: TemplateMatch) -> list[str]:
        """Names of the event indicators this event matches."""
        hits: list[str] = []
        if self.templates and (
            match.template_id in self.templates or match.exact_id in self.templates
        ):
            hits.append(f"template:{match.template_id}")
        if self.patterns and event.prompt:
            hits.extend(
                f"pattern:{i}" for i, p in enumerate(self.patterns) if p.search(event.prompt)
            )
        for field, wanted in self.values.items():
            value = getattr(event, field)
            if value is not None and str(value) in wanted:
                hits.append(f"{field}:{value}")
        if self.networks:
            try:
                address = ipaddress.ip_address(event.ip)
            except ValueError:
                address = None
            if address is not None and any(address in net for net in self.networks):
                hits.append(f"ip_prefix:{event.ip}")
        return hits

    def behaviour_holds(self, metrics: dict[str, float]) -> bool:
        for op, metric, bound in self.behaviour:
            value = metrics.get(metric)
            if value is None:
                return False
            if (op == "min" and value < bound) or (op == "max" and value > bound):
                return False
        return True


class SignatureBook:
    """The set of live signatures; ``apply`` adds, replaces or (tombstone) removes one."""

    def __init__(self, config: DetectorConfig) -> None:
        self.config = config
        self.active: dict[str, CompiledSignature] = {}

    def apply(self, sig: Signature) -> tuple[str, ...]:
        """Hot swap; returns indicator kinds it cannot match on events.

        Raises ``SignatureError`` (keeping the previous version) on an invalid signature.
        """
        if sig.deleted:
            self.active.pop(sig.signature_id, None)
            return ()
        compiled = CompiledSignature(sig)
        self.active[sig.signature_id] = compiled
        return compiled.unsupported

    def match(
        self, event: RequestEvent, match: TemplateMatch, metrics: dict[str, float], n_events: int
    ) -> list[tuple[str, tuple[str, ...], float]]:
        """(signature_id, matched indicators, confidence) for every signature the event matches."""
        out = []
        for sig_id in sorted(self.active):
            compiled = self.active[sig_id]
            if not compiled.valid_from <= event.ts < compiled.valid_until:
                continue
            matched: list[str] = []
            if compiled.has_indicators:
                matched = compiled.indicators(event, match)
                if not matched:
                    continue
            if compiled.behaviour:
                if n_events < self.config.signature_min_events or not compiled.behaviour_holds(
                    metrics
                ):
                    continue
                matched.append("behaviour")
            if matched:
                out.append((sig_id, tuple(matched), compiled.record.confidence))
        return out

    def to_bytes(self) -> bytes:
        return orjson.dumps([_signature_dict(c.record) for _, c in sorted(self.active.items())])

    @classmethod
    def from_bytes(cls, data: bytes, config: DetectorConfig) -> SignatureBook:
        book = cls(config)
        for row in orjson.loads(data):
            book.apply(_signature_from_dict(row))
        return book


def _signature_dict(sig: Signature) -> dict[str, Any]:
    return {
        "signature_id": sig.signature_id,
        "source": sig.source,
        "confidence": sig.confidence,
        "template_hashes": list(sig.template_hashes),
        "prompt_patterns": list(sig.prompt_patterns),
        "infrastructure": {k: list(v) for k, v in sorted(sig.infrastructure.items())},
        "behaviour": dict(sorted(sig.behaviour.items())),
        "description": sig.description,
        "deleted": sig.deleted,
        "valid_from": sig.valid_from,
        "valid_until": sig.valid_until,
    }


def _signature_from_dict(row: dict[str, Any]) -> Signature:
    return Signature(
        signature_id=row["signature_id"],
        source=row["source"],
        confidence=row["confidence"],
        template_hashes=tuple(row["template_hashes"]),
        prompt_patterns=tuple(row["prompt_patterns"]),
        infrastructure={k: tuple(v) for k, v in row["infrastructure"].items()},
        behaviour=row["behaviour"],
        description=row["description"],
        deleted=row["deleted"],
        valid_from=row.get("valid_from"),
        valid_until=row.get("valid_until"),
    )


class SignatureStage:
    """Keyed stage (key = ``signature_id``): hits -> ``signature_match`` revisions and actions."""

    def __init__(self, config: DetectorConfig) -> None:
        self.config = config
        self.findings: dict[str, SignatureFinding] = {}

    def retract(self, signature_id: str) -> None:
        """A tombstoned signature stops producing alerts; accounts already named stay named."""
        self.findings.pop(signature_id, None)

    def process(self, hit: SignatureHit) -> list[Alert | Action]:
        finding = self.findings.get(hit.signature_id)
        if finding is None:
            finding = self.findings[hit.signature_id] = SignatureFinding(hit.signature_id)
        finding.add(hit)
        return finding.emit(hit.ts, self.config)

    def flush(self, watermark: float) -> list[Alert | Action]:
        out: list[Alert | Action] = []
        for sig_id in sorted(self.findings):
            out.extend(self.findings[sig_id].emit(watermark, self.config))
        return out

    def to_bytes(self) -> bytes:
        return orjson.dumps({k: v.to_dict() for k, v in sorted(self.findings.items())})

    @classmethod
    def from_bytes(cls, data: bytes, config: DetectorConfig) -> SignatureStage:
        stage = cls(config)
        for key, row in orjson.loads(data).items():
            stage.findings[key] = SignatureFinding.from_dict(key, row)
        return stage


class SignatureFinding:
    """Accounts that matched one signature, and what has been alerted so far."""

    __slots__ = (
        "accounts",
        "confidence",
        "first_ts",
        "last_ts",
        "matched",
        "policy",
        "signature_id",
    )

    def __init__(self, signature_id: str) -> None:
        self.signature_id = signature_id
        self.accounts: dict[str, str] = {}
        self.matched: dict[str, list[str]] = {}
        self.confidence = 0.0
        self.first_ts = 0.0
        self.last_ts = 0.0
        self.policy = RevisionPolicy()

    def add(self, hit: SignatureHit) -> None:
        if not self.accounts:
            self.first_ts = hit.ts
        self.last_ts = max(self.last_ts, hit.ts)
        self.confidence = hit.confidence
        if hit.account_id not in self.accounts:
            self.accounts[hit.account_id] = hit.org_id
            self.matched[hit.account_id] = list(hit.matched)
            self.policy.pending += 1

    def emit(self, ts: float, config: DetectorConfig) -> list[Alert | Action]:
        severity = severity_for(self.confidence, config)
        if not self.policy.due(ts, len(self.accounts), severity, config):
            return []
        revision, new_accounts = self.policy.commit(ts, len(self.accounts), severity, self.accounts)
        alert_id = alert_id_for("signature_match", self.signature_id)
        accounts = tuple(sorted(self.accounts))
        indicators = sorted({m for ms in self.matched.values() for m in ms})
        alert = Alert(
            alert_id=alert_id,
            revision=revision,
            ts=ts,
            kind="signature_match",
            severity=severity,
            score=round(self.confidence, 4),
            accounts=accounts,
            cluster_id=None,
            evidence={
                "features": [{"name": "matched", "value": len(accounts), "baseline": 0}],
                "shared_templates": sorted(
                    m.split(":", 1)[1] for m in indicators if m.startswith("template:")
                ),
                "similar_pairs": [],
                "infrastructure": {"matched_indicators": indicators},
                "time_span": {"first": self.first_ts, "last": self.last_ts},
            },
            signatures=(self.signature_id,),
        )
        kind = (
            "block"
            if self.confidence >= config.block_signature_confidence
            else action_kind_for(severity, config)
        )
        actions = [
            make_action(a, kind, f"signature_match:{self.signature_id}", ts, config, alert_id)
            for a in new_accounts
        ]
        return [alert, *actions]

    def to_dict(self) -> dict[str, Any]:
        return {
            "accounts": self.accounts,
            "matched": self.matched,
            "confidence": self.confidence,
            "span": [self.first_ts, self.last_ts],
            "policy": self.policy.to_list(),
        }

    @classmethod
    def from_dict(cls, signature_id: str, row: dict[str, Any]) -> SignatureFinding:
        finding = cls(signature_id)
        finding.accounts = row["accounts"]
        finding.matched = row["matched"]
        finding.confidence = row["confidence"]
        finding.first_ts, finding.last_ts = row["span"]
        finding.policy = RevisionPolicy.from_list(row["policy"])
        return finding
