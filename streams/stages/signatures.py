"""Shared detection signatures, matched in-stream and hot-swappable.

A signature names *event indicators* (template hashes, prompt-structure
regexes, infrastructure values) and/or *behaviour thresholds* over an
account's metrics.  It matches an event when any event indicator matches (or
it has none) and every behaviour threshold holds (or it has none).  The
``SignatureBook`` is read by the account stage (natively); the ``SignatureStage`` (key =
``signature_id``) turns hits into one ``signature_match`` alert per signature
whose revisions list the matching accounts.
"""

from __future__ import annotations

import ipaddress
import math
from typing import Any

import orjson

from streams import _native
from streams.config import DetectorConfig
from streams.errors import SignatureError
from streams.messages import SignatureHit
from streams.records import Action, Alert, Signature
from streams.stages.lifecycle import RevisionPolicy
from streams.stages.scoring import (
    action_kind_for,
    alert_id_for,
    make_action,
    severity_for,
)

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

BEHAVIOUR_METRICS: tuple[str, ...] = tuple(_native.BEHAVIOUR_METRICS)
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
    """A signature validated and compiled once, at apply time.

    Matching is native (``streams/native/src/signatures/``): ``native`` holds the compiled
    template ids, prompt regexes (Rust ``regex`` syntax: no look-around or back-references,
    linear time), infrastructure values, IP networks and behaviour thresholds.
    """

    __slots__ = ("behaviour", "native", "record", "unsupported", "valid_from", "valid_until")

    def __init__(self, sig: Signature) -> None:
        self.record = sig
        self.valid_from = -math.inf if sig.valid_from is None else sig.valid_from
        self.valid_until = math.inf if sig.valid_until is None else sig.valid_until
        if self.valid_until <= self.valid_from:
            raise SignatureError(
                f"signature {sig.signature_id}: valid_until is not after valid_from"
            )
        infra = sig.infrastructure
        try:
            networks = [ipaddress.ip_network(p, strict=False) for p in infra.get("ip_prefix", ())]
        except ValueError as exc:
            raise SignatureError(f"signature {sig.signature_id}: {exc}") from exc
        values = [
            (field, [v for v in infra[kind] if isinstance(v, str)])
            for kind, field in INFRASTRUCTURE_FIELDS.items()
            if infra.get(kind)
        ]
        self.unsupported = tuple(
            sorted(k for k in infra if k not in INFRASTRUCTURE_FIELDS and k != "ip_prefix")
        )
        self.behaviour = tuple(
            behaviour_rule(sig.signature_id, key, bound)
            for key, bound in sorted(sig.behaviour.items())
        )
        try:
            self.native = _native.SignatureMatcher(
                sig.signature_id,
                float(sig.confidence),
                self.valid_from,
                self.valid_until,
                list(sig.template_hashes),
                list(sig.prompt_patterns),
                [(str(n.network_address), n.prefixlen) for n in networks],
                values,
                list(self.behaviour),
            )
        except ValueError as exc:
            raise SignatureError(f"signature {sig.signature_id}: {exc}") from exc


class SignatureBook:
    """The set of live signatures; ``apply`` adds, replaces or (tombstone) removes one.

    ``native`` is the compiled book every account stage of the process matches events
    against (``streams._native.SignatureBook``).
    """

    def __init__(self, config: DetectorConfig) -> None:
        self.config = config
        self.active: dict[str, CompiledSignature] = {}
        self.native = _native.SignatureBook()

    def apply(self, sig: Signature) -> tuple[str, ...]:
        """Hot swap; returns indicator kinds it cannot match on events.

        Raises ``SignatureError`` (keeping the previous version) on an invalid signature.
        """
        if sig.deleted:
            self.active.pop(sig.signature_id, None)
            self.native.remove(sig.signature_id)
            return ()
        compiled = CompiledSignature(sig)
        self.active[sig.signature_id] = compiled
        self.native.put(compiled.native)
        return compiled.unsupported

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
