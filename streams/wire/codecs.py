"""Wire codecs: DistillWatch records to and from JSON bytes (orjson), validated by ``schemas/``.

Versioning.  Every record DistillWatch writes carries ``"schema": "<type>.v<N>"``
(e.g. ``"alert.v1"``) instead of relying on the topic name, because records
outlive their topic: they are replayed into other topics, archived to files for
forensics, copied into dead letters and exchanged between labs (signatures),
and a rolling upgrade may put two versions on one topic.  Twenty bytes per
record buy a self-describing record.  The field is required on the record types
DistillWatch produces (alert, action, dead letter) and optional on the ones
written by others (request events from gateways, signatures from other labs);
when present it must name the version this decoder reads.

Encoding writes sorted keys with ``orjson.OPT_SORT_KEYS`` so equal records give
byte-identical output, which keeps replayed alerts identical to live ones.
Timestamps are epoch seconds in memory and RFC 3339 UTC text on the wire
(``streams.timeparse``), including ``evidence["time_span"]`` of alerts.

Decoding validates with validators compiled once at import from ``schemas/``.
Request events and signatures arrive from outside, so their decoders never
raise: bad input becomes a ``DeadLetter`` holding the original bytes, a reason
code and a detail naming the field.  Reason codes: ``malformed_json``,
``invalid_utf8``, ``not_an_object``, ``missing_field``, ``wrong_type``,
``invalid_value``, ``bad_timestamp``, ``oversized_prompt``,
``oversized_record``, and ``internal_error`` for a fault of the decoder itself,
which would otherwise stop a consumer group at the same offset forever.  (Events
that decode but are refused by ``streams.stages.admission`` get ``late_event``,
``future_event`` or ``duplicate_event``.)
Decoders of records DistillWatch itself produced raise ``CodecError`` carrying
the same codes.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Iterable
from dataclasses import replace
from typing import Any, Final, TypeVar

import orjson

from streams import _native
from streams.config import DEFAULT_MAX_PROMPT_BYTES, DEFAULT_MAX_RECORD_BYTES
from streams.errors import CodecError
from streams.records import (
    Action,
    Alert,
    DeadLetter,
    Decision,
    RawRecord,
    RawValue,
    RequestEvent,
    Signature,
    Suppression,
)
from streams.timeparse import MAX_EPOCH, MIN_EPOCH
from streams.wire.checks import (
    describe_fault,
    load_valid,
    optional_timestamp,
    wire_timestamp,
)
from streams.wire.schemas import (
    ACTION_SCHEMA,
    ALERT_SCHEMA,
    DEAD_LETTER_SCHEMA,
    DECISION_SCHEMA,
    SIGNATURE_SCHEMA,
    SUPPRESSION_SCHEMA,
    compile_validator,
)
from streams.wire.to_wire import TO_WIRE

T = TypeVar("T")

# Defaults of the size limits; the detector's configuration passes its own values.
MAX_DEAD_LETTER_ORIGINAL_BYTES: Final = 512 * 1024
"""Most original bytes a dead letter sent to Kafka keeps (``fit_dead_letter``)."""


_validate_alert = compile_validator(ALERT_SCHEMA)
_validate_action = compile_validator(ACTION_SCHEMA)
_validate_signature = compile_validator(SIGNATURE_SCHEMA)
_validate_dead_letter = compile_validator(DEAD_LETTER_SCHEMA)
_validate_decision = compile_validator(DECISION_SCHEMA)
_validate_suppression = compile_validator(SUPPRESSION_SCHEMA)

_DUMP_OPTIONS: Final = orjson.OPT_SORT_KEYS | orjson.OPT_SERIALIZE_NUMPY


# ----------------------------------------------------------------------------- encoding


def encode(
    record: RequestEvent | Alert | Action | Signature | DeadLetter | Suppression | Decision,
) -> bytes:
    """Wire bytes of any DistillWatch record; equal records give identical bytes.

    Raises ``EncodeError`` for a record that cannot be represented on the wire
    (timestamp out of range, request event with both or neither of prompt and
    fingerprint, extra field shadowing a contract field) and ``TypeError`` for
    values JSON cannot carry.
    """
    try:
        to_wire = TO_WIRE[type(record)]
    except KeyError:
        raise TypeError(f"cannot encode {type(record).__name__}") from None
    return orjson.dumps(to_wire(record), option=_DUMP_OPTIONS)


# ----------------------------------------------------------------------------- decoding


def decode_request(
    raw: RawValue,
    *,
    topic: str | None = None,
    partition: int | None = None,
    offset: int | None = None,
    timestamp: float | None = None,
    max_prompt_bytes: int = DEFAULT_MAX_PROMPT_BYTES,
    max_record_bytes: int = DEFAULT_MAX_RECORD_BYTES,
) -> RequestEvent | DeadLetter:
    """A request event, or a dead letter keeping ``raw`` and the reason; never raises.

    ``topic``/``partition``/``offset`` and the broker ``timestamp`` (epoch
    seconds) only label the dead letter so the record can be found and replayed.
    """
    (decoded,) = decode_requests(
        [(raw, topic, partition, offset, timestamp)],
        max_prompt_bytes=max_prompt_bytes,
        max_record_bytes=max_record_bytes,
    )
    return decoded


def decode_requests(
    raws: Iterable[RawValue | RawRecord | tuple],
    *,
    max_prompt_bytes: int = DEFAULT_MAX_PROMPT_BYTES,
    max_record_bytes: int = DEFAULT_MAX_RECORD_BYTES,
) -> list[RequestEvent | DeadLetter]:
    """Request events of a batch, in input order; never raises for a bad record.

    Items are raw values or ``RawRecord``s (or plain ``(value, topic, partition, offset[,
    timestamp])`` tuples), so a consumer can hand over a polled batch as it stands.  Decoding
    and validation run natively (``streams._native.decode_requests``: the constraints of
    ``schemas/request_event.v1.json``, the size limits and the reasons above), one call per
    run of items with the same topic and partition, with the GIL released while it parses.
    """
    decoded: list[RequestEvent | DeadLetter] = []
    values: list[bytes] = []
    offsets: list[int | None] = []
    timestamps: list[float | None] = []
    run: tuple[str | None, int | None] | None = None

    def flush() -> None:
        if values:
            topic, partition = run or (None, None)
            decoded.extend(
                _native.decode_requests(
                    values,
                    topic,
                    partition,
                    offsets,
                    timestamps,
                    max_prompt_bytes,
                    max_record_bytes,
                )
            )
            values.clear()
            offsets.clear()
            timestamps.clear()

    for item in raws:
        if isinstance(item, tuple):
            raw, topic, partition, offset, *rest = item
            timestamp = rest[0] if rest else None
        else:
            raw, topic, partition, offset, timestamp = item, None, None, None, None
        if (topic, partition) != run:
            flush()
            run = (topic, partition)
        values.append(raw if type(raw) is bytes else bytes(raw))
        offsets.append(offset)
        timestamps.append(timestamp)
    flush()
    return decoded


def decode_signature(
    raw: RawValue,
    *,
    topic: str | None = None,
    partition: int | None = None,
    offset: int | None = None,
    timestamp: float | None = None,
    max_record_bytes: int = DEFAULT_MAX_RECORD_BYTES,
) -> Signature | DeadLetter:
    """A signature, or a dead letter keeping ``raw`` and the reason; never raises.

    Signatures come from other organisations' tools, so a bad one must not stop
    the detector from loading the good ones.
    """
    return _or_dead_letter(
        lambda: _signature_from_wire(load_valid(raw, _validate_signature, max_record_bytes)),
        raw,
        (topic, partition, offset, timestamp),
    )


def _or_dead_letter(
    decode: Callable[[], T],
    raw: RawValue,
    where: tuple[str | None, int | None, int | None, float | None],
) -> T | DeadLetter:
    """``decode()``, or a dead letter keeping ``raw`` and the reason of its failure, with the
    source coordinates ``where`` (topic, partition, offset, timestamp); never raises."""
    try:
        return decode()
    except CodecError as exc:
        return _dead_letter(raw, exc.reason, exc.detail, *where)
    except Exception as exc:
        return _dead_letter(raw, "internal_error", describe_fault(exc), *where)


def decode_alert(raw: RawValue, *, max_record_bytes: int = DEFAULT_MAX_RECORD_BYTES) -> Alert:
    """An alert; raises ``CodecError`` for bytes that are not a valid alert v1."""
    obj = load_valid(raw, _validate_alert, max_record_bytes)
    evidence = obj["evidence"]
    time_span = evidence.get("time_span")
    if time_span is not None:
        evidence["time_span"] = {
            **time_span,
            "first": wire_timestamp("evidence.time_span.first", time_span["first"]),
            "last": wire_timestamp("evidence.time_span.last", time_span["last"]),
        }
    return Alert(
        alert_id=obj["alert_id"],
        revision=int(obj["revision"]),
        ts=wire_timestamp("ts", obj["ts"]),
        kind=obj["kind"],
        severity=obj["severity"],
        score=float(obj["score"]),
        accounts=tuple(obj["accounts"]),
        cluster_id=obj["cluster_id"],
        evidence=evidence,
        signatures=tuple(obj["signatures"]),
    )


def decode_action(raw: RawValue, *, max_record_bytes: int = DEFAULT_MAX_RECORD_BYTES) -> Action:
    """An action; raises ``CodecError`` for bytes that are not a valid action v1."""
    obj = load_valid(raw, _validate_action, max_record_bytes)
    return Action(
        action_id=obj["action_id"],
        ts=wire_timestamp("ts", obj["ts"]),
        account_id=obj["account_id"],
        action=obj["action"],
        reason=obj["reason"],
        expires_at=wire_timestamp("expires_at", obj["expires_at"]),
        alert_id=obj.get("alert_id"),
    )


def decode_suppression(
    raw: RawValue,
    *,
    topic: str | None = None,
    partition: int | None = None,
    offset: int | None = None,
    timestamp: float | None = None,
    max_record_bytes: int = DEFAULT_MAX_RECORD_BYTES,
) -> Suppression | DeadLetter:
    """A suppression, or a dead letter keeping ``raw`` and the reason; never raises.

    Anyone with access to the suppressions topic can write to it, so a bad record must not
    stop a worker from applying the good ones.
    """
    return _or_dead_letter(
        lambda: _suppression_from_wire(load_valid(raw, _validate_suppression, max_record_bytes)),
        raw,
        (topic, partition, offset, timestamp),
    )


def _suppression_from_wire(obj: dict[str, Any]) -> Suppression:
    suppression = Suppression(
        suppression_id=obj["suppression_id"],
        ts=wire_timestamp("ts", obj["ts"]),
        expires_at=wire_timestamp("expires_at", obj["expires_at"]),
        accounts=tuple(obj["accounts"]),
        alert_id=obj.get("alert_id"),
        analyst=obj.get("analyst", ""),
        reason=obj.get("reason", ""),
        decision_id=obj.get("decision_id"),
        deleted=obj.get("deleted", False),
    )
    if suppression.expires_at <= suppression.ts:
        raise CodecError("invalid_value", "field 'expires_at' must be after 'ts'")
    return suppression


def decode_decision(raw: RawValue, *, max_record_bytes: int = DEFAULT_MAX_RECORD_BYTES) -> Decision:
    """A decision; raises ``CodecError`` for bytes that are not a valid decision v1."""
    obj = load_valid(raw, _validate_decision, max_record_bytes)
    return Decision(
        decision_id=obj["decision_id"],
        ts=wire_timestamp("ts", obj["ts"]),
        analyst=obj["analyst"],
        decision=obj["decision"],
        reason=obj["reason"],
        alert_id=obj["alert_id"],
        revision=int(obj["revision"]),
        accounts=tuple(obj["accounts"]),
        result_topic=obj["result_topic"],
        result_id=obj["result_id"],
    )


def fit_dead_letter(
    dead: DeadLetter, max_original_bytes: int = MAX_DEAD_LETTER_ORIGINAL_BYTES
) -> DeadLetter:
    """``dead`` with its original cut to ``max_original_bytes``; the detail says so.

    Base64 grows the original by a third, and a dead letter must still fit Kafka's 1 MiB
    record default: the broker would refuse a bigger one and the refused record would be
    lost after all.  The cut keeps the head of the record, where its fields begin.
    """
    size = len(dead.original)
    if size <= max_original_bytes:
        return dead
    return replace(
        dead,
        detail=f"{dead.detail} (original cut to its first {max_original_bytes} of {size} bytes)",
        original=dead.original[:max_original_bytes],
    )


def decode_dead_letter(raw: RawValue, *, max_record_bytes: int | None = None) -> DeadLetter:
    """A dead letter; raises ``CodecError`` for bytes that are not a valid dead letter v1.

    There is no size limit by default: a dead letter is larger than the record
    it keeps, and refusing it would lose that record a second time.
    """
    obj = load_valid(raw, _validate_dead_letter, max_record_bytes)
    try:
        original = base64.b64decode(obj["original_b64"], validate=True)
    except binascii.Error as exc:
        raise CodecError("invalid_value", f"field 'original_b64' is not base64: {exc}") from None
    ts = obj["ts"]
    return DeadLetter(
        reason=obj["reason"],
        detail=obj["detail"],
        original=original,
        source_topic=obj["source_topic"],
        source_partition=obj["source_partition"],
        source_offset=obj["source_offset"],
        ts=None if ts is None else wire_timestamp("ts", ts),
    )


# ----------------------------------------------------------------------------- internals


def _signature_from_wire(obj: dict[str, Any]) -> Signature:
    return Signature(
        signature_id=obj["signature_id"],
        source=obj["source"],
        confidence=float(obj["confidence"]),
        template_hashes=tuple(obj.get("template_hashes", ())),
        prompt_patterns=tuple(obj.get("prompt_patterns", ())),
        infrastructure={
            kind: tuple(values) for kind, values in obj.get("infrastructure", {}).items()
        },
        behaviour={name: float(value) for name, value in obj.get("behaviour", {}).items()},
        description=obj.get("description", ""),
        deleted=obj.get("deleted", False),
        valid_from=optional_timestamp(obj, "valid_from"),
        valid_until=optional_timestamp(obj, "valid_until"),
    )


def _dead_letter(
    raw: RawValue,
    reason: str,
    detail: str,
    topic: str | None,
    partition: int | None,
    offset: int | None,
    timestamp: float | None,
) -> DeadLetter:
    # Brokers report a missing timestamp as -1; such a value is unknown, not an instant.
    if timestamp is not None and not MIN_EPOCH <= timestamp < MAX_EPOCH:
        timestamp = None
    return DeadLetter(
        reason=reason,
        detail=detail,
        original=bytes(raw),
        source_topic=topic,
        source_partition=partition,
        source_offset=offset,
        ts=timestamp,
    )
