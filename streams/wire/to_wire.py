"""Records to their JSON-ready wire objects, one function per record type."""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any, Final

from streams.errors import EncodeError
from streams.records import (
    Action,
    Alert,
    DeadLetter,
    Decision,
    RequestEvent,
    Signature,
    Suppression,
)
from streams.timeparse import format_timestamp
from streams.wire.schemas import (
    ACTION_SCHEMA,
    ALERT_SCHEMA,
    DEAD_LETTER_SCHEMA,
    DECISION_SCHEMA,
    REQUEST_EVENT_SCHEMA,
    SIGNATURE_SCHEMA,
    SUPPRESSION_SCHEMA,
)

# Wire fields of a request event; any other key is kept in RequestEvent.extra.
REQUEST_FIELDS: Final = frozenset(
    (
        "schema",
        "event_id",
        "ts",
        "account_id",
        "org_id",
        "api_key_id",
        "ip",
        "asn",
        "country",
        "user_agent",
        "model",
        "endpoint",
        "prompt",
        "system_prompt",
        "prompt_fingerprint",
        "prompt_tokens",
        "completion_tokens",
        "response_format",
        "temperature",
        "n",
        "stream",
        "status",
        "latency_ms",
        "account_created_at",
        "payment_fingerprint",
    )
)


def _request_to_wire(event: RequestEvent) -> dict[str, Any]:
    if event.extra and not event.extra.keys().isdisjoint(REQUEST_FIELDS):
        shadowed = sorted(event.extra.keys() & REQUEST_FIELDS)
        raise EncodeError(f"extra fields {shadowed} shadow request event fields")
    wire: dict[str, Any] = {
        **event.extra,
        "schema": REQUEST_EVENT_SCHEMA,
        "event_id": event.event_id,
        "ts": format_timestamp(event.ts),
        "account_id": event.account_id,
        "org_id": event.org_id,
        "api_key_id": event.api_key_id,
        "ip": event.ip,
        "asn": event.asn,
        "country": event.country,
        "user_agent": event.user_agent,
        "model": event.model,
        "endpoint": event.endpoint,
        "prompt_tokens": event.prompt_tokens,
        "completion_tokens": event.completion_tokens,
        "response_format": event.response_format,
        "temperature": event.temperature,
        "n": event.n,
        "stream": event.stream,
        "status": event.status,
        "latency_ms": event.latency_ms,
        "account_created_at": (
            None if event.account_created_at is None else format_timestamp(event.account_created_at)
        ),
        "payment_fingerprint": event.payment_fingerprint,
    }
    fingerprint = event.prompt_fingerprint
    if fingerprint is None:
        if event.prompt is None:
            raise EncodeError(
                f"request event {event.event_id!r} has neither prompt nor fingerprint"
            )
        wire["prompt"] = event.prompt
        wire["system_prompt"] = event.system_prompt
    else:
        if event.prompt is not None or event.system_prompt is not None:
            raise EncodeError(
                f"request event {event.event_id!r} in privacy mode must not carry prompt text"
            )
        wire["prompt_fingerprint"] = {
            "template_id": fingerprint.template_id,
            "minhash": fingerprint.minhash,
        }
    return wire


def _alert_to_wire(alert: Alert) -> dict[str, Any]:
    evidence = alert.evidence
    time_span = evidence.get("time_span")
    if time_span is not None:
        evidence = {
            **evidence,
            "time_span": {
                **time_span,
                "first": format_timestamp(time_span["first"]),
                "last": format_timestamp(time_span["last"]),
            },
        }
    return {
        "schema": ALERT_SCHEMA,
        "alert_id": alert.alert_id,
        "revision": alert.revision,
        "ts": format_timestamp(alert.ts),
        "kind": alert.kind,
        "severity": alert.severity,
        "score": alert.score,
        "accounts": alert.accounts,
        "cluster_id": alert.cluster_id,
        "evidence": evidence,
        "signatures": alert.signatures,
    }


def _action_to_wire(action: Action) -> dict[str, Any]:
    return {
        "schema": ACTION_SCHEMA,
        "action_id": action.action_id,
        "ts": format_timestamp(action.ts),
        "account_id": action.account_id,
        "action": action.action,
        "reason": action.reason,
        "expires_at": format_timestamp(action.expires_at),
        "alert_id": action.alert_id,
    }


def _signature_to_wire(signature: Signature) -> dict[str, Any]:
    wire: dict[str, Any] = {
        "schema": SIGNATURE_SCHEMA,
        "signature_id": signature.signature_id,
        "source": signature.source,
        "confidence": signature.confidence,
        "template_hashes": signature.template_hashes,
        "prompt_patterns": signature.prompt_patterns,
        "infrastructure": signature.infrastructure,
        "behaviour": signature.behaviour,
        "description": signature.description,
        "deleted": signature.deleted,
    }
    # Written only when set, so signatures without a window keep their v1 bytes.
    if signature.valid_from is not None:
        wire["valid_from"] = format_timestamp(signature.valid_from)
    if signature.valid_until is not None:
        wire["valid_until"] = format_timestamp(signature.valid_until)
    return wire


def _dead_letter_to_wire(dead_letter: DeadLetter) -> dict[str, Any]:
    return {
        "schema": DEAD_LETTER_SCHEMA,
        "reason": dead_letter.reason,
        "detail": dead_letter.detail,
        "original_b64": base64.b64encode(dead_letter.original).decode("ascii"),
        "source_topic": dead_letter.source_topic,
        "source_partition": dead_letter.source_partition,
        "source_offset": dead_letter.source_offset,
        "ts": None if dead_letter.ts is None else format_timestamp(dead_letter.ts),
    }


def _suppression_to_wire(suppression: Suppression) -> dict[str, Any]:
    return {
        "schema": SUPPRESSION_SCHEMA,
        "suppression_id": suppression.suppression_id,
        "ts": format_timestamp(suppression.ts),
        "expires_at": format_timestamp(suppression.expires_at),
        "accounts": suppression.accounts,
        "alert_id": suppression.alert_id,
        "analyst": suppression.analyst,
        "reason": suppression.reason,
        "decision_id": suppression.decision_id,
        "deleted": suppression.deleted,
    }


def _decision_to_wire(decision: Decision) -> dict[str, Any]:
    return {
        "schema": DECISION_SCHEMA,
        "decision_id": decision.decision_id,
        "ts": format_timestamp(decision.ts),
        "analyst": decision.analyst,
        "decision": decision.decision,
        "reason": decision.reason,
        "alert_id": decision.alert_id,
        "revision": decision.revision,
        "accounts": decision.accounts,
        "result_topic": decision.result_topic,
        "result_id": decision.result_id,
    }


TO_WIRE: Final[dict[type, Callable[[Any], dict[str, Any]]]] = {
    RequestEvent: _request_to_wire,
    Alert: _alert_to_wire,
    Action: _action_to_wire,
    Signature: _signature_to_wire,
    DeadLetter: _dead_letter_to_wire,
    Suppression: _suppression_to_wire,
    Decision: _decision_to_wire,
}
