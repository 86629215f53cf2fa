"""Typed records that travel on DistillWatch topics.

Every record is a frozen, slotted dataclass so the detection core can pass
them around cheaply and can never mutate an input by accident.  The JSON
Schemas in ``schemas/`` are the wire contract; these classes are the in-memory
form that ``streams.wire.codecs`` produces after validation.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple

ResponseFormat = Literal["text", "json_object", "json_schema"]
AlertKind = Literal[
    "coordinated_cluster", "template_campaign", "account_extraction", "signature_match"
]
Severity = Literal["low", "medium", "high", "critical"]
ActionKind = Literal["watch", "throttle", "degrade", "block"]
DecisionKind = Literal["confirm", "dismiss", "escalate"]

REQUEST_EVENT_VERSION = 1
ALERT_VERSION = 1
ACTION_VERSION = 1
SIGNATURE_VERSION = 1
DEAD_LETTER_VERSION = 1
DECISION_VERSION = 1
SUPPRESSION_VERSION = 1


@dataclass(frozen=True, slots=True)
class PromptFingerprint:
    """Stands in for prompt text when a gateway runs in privacy mode.

    The gateway computes it with ``streams.wire.fingerprint`` so raw prompts never
    leave its boundary while the detector still sees templates and shingles.
    """

    template_id: str
    minhash: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class RequestEvent:
    """One API call as published by the gateway (request event v1).

    ``ts`` and ``account_created_at`` are epoch seconds (UTC) after decoding:
    the core only ever does arithmetic on event time.
    """

    event_id: str
    ts: float
    account_id: str
    org_id: str
    api_key_id: str
    ip: str
    asn: int
    country: str
    user_agent: str
    model: str
    endpoint: str
    prompt: str | None
    system_prompt: str | None
    prompt_tokens: int
    completion_tokens: int
    response_format: ResponseFormat
    temperature: float
    n: int
    stream: bool
    status: int
    latency_ms: float
    account_created_at: float | None = None
    payment_fingerprint: str | None = None
    prompt_fingerprint: PromptFingerprint | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Alert:
    """A finding for SOC tooling (alert v1).

    ``alert_id`` is derived from the finding, never from wall clock or
    process identity, so live, replay and a restarted worker agree on it;
    ``revision`` grows as the finding is updated (e.g. a cluster gains members).
    ``evidence`` holds JSON-ready values (numpy numbers and arrays are written
    as JSON numbers and lists; documented keys in schemas/alert.v1.json); its
    ``time_span`` ``first``/``last`` are epoch seconds like every in-memory
    timestamp, and the codec writes them as RFC 3339 text.
    """

    alert_id: str
    revision: int
    ts: float
    kind: AlertKind
    severity: Severity
    score: float
    accounts: tuple[str, ...]
    cluster_id: str | None
    evidence: dict[str, Any]
    signatures: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Action:
    """Adaptive response recommended to the gateway (action v1)."""

    action_id: str
    ts: float
    account_id: str
    action: ActionKind
    reason: str
    expires_at: float
    alert_id: str | None = None


@dataclass(frozen=True, slots=True)
class Signature:
    """A shared detection signature (signature v1), hot-swappable in-stream.

    ``deleted`` marks a tombstone so a compacted topic can retract a signature.
    ``valid_from``/``valid_until`` (epoch seconds, either may be None for unbounded)
    bound the event time of the requests it matches, so a signature shared by
    another lab carries the validity window the lab gave it.
    """

    signature_id: str
    source: str
    confidence: float
    template_hashes: tuple[str, ...] = ()
    prompt_patterns: tuple[str, ...] = ()
    infrastructure: dict[str, tuple[str, ...]] = field(default_factory=dict)
    behaviour: dict[str, float] = field(default_factory=dict)
    description: str = ""
    deleted: bool = False
    valid_from: float | None = None
    valid_until: float | None = None


@dataclass(frozen=True, slots=True)
class Suppression:
    """An analyst's "benign" verdict on a finding (suppression v1): the detector's
    cross-account stage names none of ``accounts`` in an alert or action with event time in
    ``[ts, expires_at)``.

    It carries event time, not wall-clock time, so a replay given the same suppressions
    produces the same output.  ``deleted`` marks a tombstone that lifts it.
    """

    suppression_id: str
    ts: float
    expires_at: float
    accounts: tuple[str, ...]
    alert_id: str | None = None
    analyst: str = ""
    reason: str = ""
    decision_id: str | None = None
    deleted: bool = False


@dataclass(frozen=True, slots=True)
class Decision:
    """One analyst decision on a finding, as the audit log keeps it (decision v1).

    Who (``analyst``), when (``ts``, wall-clock time of the decision), what (``decision``
    on ``alert_id`` at ``revision``), why (``reason``), and the record it published:
    ``result_topic`` and ``result_id`` (a signature, suppression or action id).
    """

    decision_id: str
    ts: float
    analyst: str
    decision: DecisionKind
    reason: str
    alert_id: str
    revision: int
    accounts: tuple[str, ...]
    result_topic: str
    result_id: str


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """A record the detector refused, kept byte-for-byte with the reason (dead-letter v1).

    ``ts`` is the broker timestamp of the refused record when known: a record
    that failed to decode has no trustworthy event time.
    """

    reason: str
    detail: str
    original: bytes
    source_topic: str | None = None
    source_partition: int | None = None
    source_offset: int | None = None
    ts: float | None = None


RawValue = bytes | bytearray | memoryview
"""A record's value as read, before decoding."""


class RawRecord(NamedTuple):
    """A record as read, before decoding, with where it came from.

    ``topic`` names a topic or a file; lines of a file have no ``partition`` (replay places
    them where the requests topic would) and their line number as ``offset``.  ``timestamp``
    is the broker's timestamp in epoch seconds, None for files and records without one.
    """

    value: bytes
    topic: str | None = None
    partition: int | None = None
    offset: int | None = None
    timestamp: float | None = None


class PartitionRecord(NamedTuple):
    """One record of a requests partition as the account stage takes it, in offset order."""

    key: bytes | None
    value: bytes
    offset: int
    timestamp: float | None
