"""Wire codecs: round trips, determinism, dead-letter reasons, and hostile input."""

from __future__ import annotations

import base64
import dataclasses
from typing import Any

import numpy as np
import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from streams._native import MAX_EXTRA_DEPTH

from streams.config import DEFAULT_MAX_PROMPT_BYTES
from streams.errors import CodecError
from streams.records import (
    Action,
    Alert,
    DeadLetter,
    PromptFingerprint,
    RequestEvent,
    Signature,
)
from streams.wire.codecs import (
    decode_action,
    decode_alert,
    decode_dead_letter,
    decode_request,
    decode_requests,
    decode_signature,
    encode,
)
from streams.wire.to_wire import REQUEST_FIELDS

REASONS = {
    "malformed_json",
    "invalid_utf8",
    "not_an_object",
    "missing_field",
    "wrong_type",
    "invalid_value",
    "bad_timestamp",
    "oversized_prompt",
    "oversized_record",
}

HOSTILE = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def wire_event(**changes: Any) -> dict[str, Any]:
    """A valid request event as a gateway would publish it (no ``schema`` field)."""
    event = {
        "event_id": "evt-0001",
        "ts": "2025-03-01T12:00:00.250Z",
        "account_id": "acct-17",
        "org_id": "org-3",
        "api_key_id": "key-9",
        "ip": "203.0.113.9",
        "asn": 64512,
        "country": "US",
        "user_agent": "python-httpx/0.27.0",
        "model": "frontier-large",
        "endpoint": "/v1/chat/completions",
        "prompt": "Solve step by step and answer in JSON: what is 17 * 23?",
        "system_prompt": "You are a careful assistant.",
        "prompt_tokens": 21,
        "completion_tokens": 180,
        "response_format": "json_object",
        "temperature": 0.7,
        "n": 1,
        "stream": False,
        "status": 200,
        "latency_ms": 812.5,
    }
    event.update(changes)
    return event


def raw_event(**changes: Any) -> bytes:
    return orjson.dumps(wire_event(**changes))


def private_wire_event() -> dict[str, Any]:
    event = wire_event(prompt_fingerprint={"template_id": "tpl-5", "minhash": [3, 2**64 - 1, 0]})
    del event["prompt"], event["system_prompt"]
    return event


def dead(result: RequestEvent | Signature | DeadLetter) -> DeadLetter:
    assert isinstance(result, DeadLetter), result
    return result


# ----------------------------------------------------------------------------- records

# Microsecond instants: the wire keeps microseconds, so these survive a round trip exactly.
instants = st.integers(0, 4_102_444_799_999_999).map(lambda micros: micros / 1e6)
ids = st.text(st.characters(codec="utf-8"), min_size=1, max_size=20)
texts = st.text(st.characters(codec="utf-8"), max_size=200)
unit = st.floats(0, 1)
json_scalars = st.none() | st.booleans() | st.integers(-(2**63), 2**64 - 1) | texts
json_scalars |= st.floats(allow_nan=False, allow_infinity=False)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(texts, inner, max_size=4),
    max_leaves=12,
)
extra_fields = st.dictionaries(
    texts.filter(lambda key: key not in REQUEST_FIELDS), json_values, max_size=3
)


@st.composite
def request_events(draw: st.DrawFn) -> RequestEvent:
    private = draw(st.booleans())
    return RequestEvent(
        event_id=draw(ids),
        ts=draw(instants),
        account_id=draw(ids),
        org_id=draw(ids),
        api_key_id=draw(ids),
        ip=draw(st.ip_addresses().map(str)),
        asn=draw(st.integers(0, 2**32 - 1)),
        country=draw(st.from_regex(r"[A-Z]{2}", fullmatch=True)),
        user_agent=draw(texts),
        model=draw(ids),
        endpoint=draw(ids),
        prompt=None if private else draw(texts),
        system_prompt=None if private else draw(st.none() | texts),
        prompt_tokens=draw(st.integers(0, 2**31 - 1)),
        completion_tokens=draw(st.integers(0, 2**31 - 1)),
        response_format=draw(st.sampled_from(["text", "json_object", "json_schema"])),
        temperature=draw(st.floats(0, 2)),
        n=draw(st.integers(1, 128)),
        stream=draw(st.booleans()),
        status=draw(st.integers(100, 599)),
        latency_ms=draw(st.floats(0, 86_400_000)),
        account_created_at=draw(st.none() | instants),
        payment_fingerprint=draw(st.none() | ids),
        prompt_fingerprint=(
            PromptFingerprint(
                template_id=draw(ids),
                minhash=tuple(draw(st.lists(st.integers(0, 2**64 - 1), min_size=1, max_size=8))),
            )
            if private
            else None
        ),
        extra=draw(extra_fields),
    )


alerts = st.builds(
    Alert,
    alert_id=ids,
    revision=st.integers(1, 10**6),
    ts=instants,
    kind=st.sampled_from(
        ["coordinated_cluster", "template_campaign", "account_extraction", "signature_match"]
    ),
    severity=st.sampled_from(["low", "medium", "high", "critical"]),
    score=unit,
    accounts=st.lists(ids, min_size=1, max_size=5).map(tuple),
    cluster_id=st.none() | ids,
    evidence=st.fixed_dictionaries(
        {},
        optional={
            "features": st.lists(
                st.fixed_dictionaries(
                    {
                        "name": ids,
                        "value": st.floats(allow_nan=False, allow_infinity=False),
                        "baseline": st.none() | st.floats(0, 1),
                    }
                ),
                max_size=3,
            ),
            "shared_templates": st.lists(ids, max_size=3),
            "similar_pairs": st.lists(
                st.fixed_dictionaries({"a": ids, "b": ids, "similarity": unit}), max_size=3
            ),
            "infrastructure": st.dictionaries(ids, st.lists(ids, max_size=2), max_size=2),
            "time_span": st.fixed_dictionaries({"first": instants, "last": instants}),
            "note": json_values,
        },
    ),
    signatures=st.lists(ids, max_size=3).map(tuple),
)
actions = st.builds(
    Action,
    action_id=ids,
    ts=instants,
    account_id=ids,
    action=st.sampled_from(["watch", "throttle", "degrade", "block"]),
    reason=ids,
    expires_at=instants,
    alert_id=st.none() | ids,
)
indicator_kinds = st.from_regex(r"[a-z][a-z0-9_]{0,15}", fullmatch=True)
signatures = st.builds(
    Signature,
    signature_id=ids,
    source=ids,
    confidence=unit,
    template_hashes=st.lists(ids, max_size=3).map(tuple),
    prompt_patterns=st.lists(st.sampled_from([r"^Solve", r"\bJSON\b", r"(?i)step \d+"])).map(tuple),
    infrastructure=st.dictionaries(
        indicator_kinds, st.lists(ids, max_size=3).map(tuple), max_size=3
    ),
    behaviour=st.dictionaries(indicator_kinds, st.floats(-1e9, 1e9), max_size=3),
    description=texts,
    deleted=st.booleans(),
)
dead_letters = st.builds(
    DeadLetter,
    reason=st.sampled_from(sorted(REASONS)),
    detail=texts,
    original=st.binary(max_size=200),
    source_topic=st.none() | ids,
    source_partition=st.none() | st.integers(0, 1000),
    source_offset=st.none() | st.integers(0, 2**62),
    ts=st.none() | instants,
)


@settings(max_examples=100, deadline=None)
@given(request_events())
def test_request_event_round_trip(event: RequestEvent) -> None:
    assert decode_request(encode(event)) == event


@settings(max_examples=100, deadline=None)
@given(alerts)
def test_alert_round_trip(alert: Alert) -> None:
    assert decode_alert(encode(alert)) == alert


@settings(max_examples=100, deadline=None)
@given(actions)
def test_action_round_trip(action: Action) -> None:
    assert decode_action(encode(action)) == action


@settings(max_examples=100, deadline=None)
@given(signatures)
def test_signature_round_trip(signature: Signature) -> None:
    assert decode_signature(encode(signature)) == signature


@settings(max_examples=100, deadline=None)
@given(dead_letters)
def test_dead_letter_round_trip(dead_letter: DeadLetter) -> None:
    assert decode_dead_letter(encode(dead_letter)) == dead_letter


def test_privacy_mode_event_round_trips_without_prompt_text() -> None:
    event = decode_request(orjson.dumps(private_wire_event()))
    assert isinstance(event, RequestEvent)
    assert event.prompt is None and event.system_prompt is None
    assert event.prompt_fingerprint == PromptFingerprint("tpl-5", (3, 2**64 - 1, 0))
    wire = orjson.loads(encode(event))
    assert "prompt" not in wire and "system_prompt" not in wire
    assert decode_request(encode(event)) == event


# ----------------------------------------------------------------------------- determinism


@settings(max_examples=50, deadline=None)
@given(request_events())
def test_equal_records_encode_to_identical_bytes(event: RequestEvent) -> None:
    reordered_extra = dict(reversed(list(event.extra.items())))
    twin = dataclasses.replace(event, extra=reordered_extra)
    assert encode(twin) == encode(event)
    assert encode(decode_request(encode(event))) == encode(event)


def test_encoding_sorts_keys_at_every_level() -> None:
    alert = Alert(
        alert_id="a",
        revision=1,
        ts=1_740_830_400.0,
        kind="coordinated_cluster",
        severity="high",
        score=0.9,
        accounts=("x", "y"),
        cluster_id="c",
        evidence={"zeta": 1, "alpha": {"b": 2, "a": 1}},
    )
    text = encode(alert).decode()
    assert text.index('"accounts"') < text.index('"alert_id"') < text.index('"ts"')
    assert text.index('"alpha":{"a":1,"b":2}') < text.index('"zeta"')


def test_numpy_values_in_evidence_encode_like_python_values() -> None:
    def alert(evidence: dict[str, Any]) -> Alert:
        return Alert(
            "a", 1, 1_740_830_400.0, "account_extraction", "low", 0.5, ("x",), None, evidence
        )

    with_numpy = {"features": [{"name": "rate", "value": np.float64(0.25)}], "n": np.arange(3)}
    plain = {"features": [{"name": "rate", "value": 0.25}], "n": [0, 1, 2]}
    assert encode(alert(with_numpy)) == encode(alert(plain))


def test_bytearray_and_memoryview_input_decode_like_bytes() -> None:
    raw = raw_event()
    assert decode_request(bytearray(raw)) == decode_request(memoryview(raw)) == decode_request(raw)
    letter = dead(decode_request(memoryview(b"{")))
    assert type(letter.original) is bytes and letter.original == b"{"


def test_timestamps_are_utc_z_with_microseconds_and_offsets_are_normalised() -> None:
    event = decode_request(raw_event(ts="2025-03-01T17:30:00.123456789+05:30"))
    assert isinstance(event, RequestEvent)
    assert event.ts == 1_740_830_400.123456
    assert orjson.loads(encode(event))["ts"] == "2025-03-01T12:00:00.123456Z"


# ----------------------------------------------------------------------------- unknown fields


def test_unknown_fields_survive_a_round_trip() -> None:
    raw = raw_event(gateway_region="eu-west-1", trace={"span": [1, 2.5, None, "x"]})
    event = decode_request(raw)
    assert isinstance(event, RequestEvent)
    assert event.extra == {"gateway_region": "eu-west-1", "trace": {"span": [1, 2.5, None, "x"]}}
    wire = orjson.loads(encode(event))
    assert wire["gateway_region"] == "eu-west-1"
    assert wire["trace"] == {"span": [1, 2.5, None, "x"]}
    assert wire["schema"] == "request_event.v1"
    assert decode_request(encode(event)) == event


def test_schema_field_is_optional_on_request_events_and_not_kept_as_extra() -> None:
    with_schema = decode_request(raw_event(schema="request_event.v1"))
    without = decode_request(raw_event())
    assert isinstance(with_schema, RequestEvent)
    assert with_schema == without
    assert with_schema.extra == {}


def test_extra_field_nested_to_the_limit_is_kept_and_re_encodable() -> None:
    nested: Any = 0
    for _ in range(MAX_EXTRA_DEPTH):
        nested = [nested]
    event = decode_request(raw_event(deep=nested))
    assert isinstance(event, RequestEvent)
    assert decode_request(encode(event)) == event


# ----------------------------------------------------------------------------- dead letters


@pytest.mark.parametrize(
    ("raw", "reason", "detail"),
    [
        (b'{"event_id": ', "malformed_json", "unexpected end of data: line 1 column 14 (char 13)"),
        (b'{"ts": NaN}', "malformed_json", None),
        (b'{"latency_ms": Infinity}', "malformed_json", None),
        (b'{"n": 1e400}', "malformed_json", "number is infinity when parsed as double"),
        (b"[" * 2000 + b"]" * 2000, "malformed_json", "depth limit exceeded"),
        (
            b'{"prompt": "caf\xe9"}',
            "invalid_utf8",
            "byte 15 is not valid UTF-8: invalid continuation byte",
        ),
        (b'[{"event_id": "x"}]', "not_an_object", "top-level JSON value is array, expected object"),
        (b'"text"', "not_an_object", "top-level JSON value is string, expected object"),
        (b"null", "not_an_object", "top-level JSON value is null, expected object"),
    ],
)
def test_undecodable_bytes_are_dead_lettered(raw: bytes, reason: str, detail: str | None) -> None:
    letter = dead(decode_request(raw))
    assert letter.reason == reason
    if detail is not None:
        assert letter.detail.startswith(detail)
    assert letter.original == raw


@pytest.mark.parametrize(
    ("changes", "drop", "reason", "detail"),
    [
        ({}, "asn", "missing_field", "missing required field 'asn'"),
        ({}, "ts", "missing_field", "missing required field 'ts'"),
        (
            {},
            "prompt",
            "missing_field",
            "missing required field 'prompt' (or 'prompt_fingerprint')",
        ),
        ({"asn": "64512"}, None, "wrong_type", "field 'asn' must be integer, got string"),
        ({"n": 1.5}, None, "wrong_type", "field 'n' must be integer, got number"),
        ({"stream": 1}, None, "wrong_type", "field 'stream' must be boolean, got integer"),
        ({"prompt": None}, None, "wrong_type", "field 'prompt' must be string, got null"),
        (
            {"system_prompt": ["a"]},
            None,
            "wrong_type",
            "field 'system_prompt' must be string or null, got array",
        ),
        (
            {"response_format": "xml"},
            None,
            "invalid_value",
            "field 'response_format' must be one of ['text', 'json_object', 'json_schema'], "
            "got 'xml'",
        ),
        (
            {"temperature": 2.5},
            None,
            "invalid_value",
            "field 'temperature' must be smaller than or equal to 2, got 2.5",
        ),
        (
            {"status": 42},
            None,
            "invalid_value",
            "field 'status' must be bigger than or equal to 100, got 42",
        ),
        (
            {"country": "usa"},
            None,
            "invalid_value",
            "field 'country' must match pattern ^[A-Z]{2}$, got 'usa'",
        ),
        (
            {"schema": "request_event.v2"},
            None,
            "invalid_value",
            "unsupported schema 'request_event.v2'; this decoder reads 'request_event.v1'",
        ),
        (
            {"prompt_fingerprint": {"template_id": "t", "minhash": [1]}},
            None,
            "invalid_value",
            "'prompt' and 'prompt_fingerprint' are mutually exclusive",
        ),
        (
            {"ts": "2025-03-01T12:00:00"},
            None,
            "bad_timestamp",
            "field 'ts': '2025-03-01T12:00:00' is not an RFC 3339 date-time",
        ),
        (
            {"ts": "2025-02-30T12:00:00Z"},
            None,
            "bad_timestamp",
            "field 'ts': '2025-02-30T12:00:00Z' is not an RFC 3339 date-time",
        ),
        (
            {"ts": "1969-12-31T23:59:59Z"},
            None,
            "bad_timestamp",
            "field 'ts': '1969-12-31T23:59:59Z' is outside "
            "1970-01-01T00:00:00Z..2100-01-01T00:00:00Z",
        ),
        (
            {"account_created_at": "2025-03-01T12:00:60Z"},
            None,
            "bad_timestamp",
            "field 'account_created_at': '2025-03-01T12:00:60Z' is not a valid date and time: "
            "second must be in 0..59",
        ),
        ({"ts": 1_740_830_400}, None, "wrong_type", "field 'ts' must be string, got integer"),
    ],
)
def test_invalid_events_are_dead_lettered_with_reason_and_field(
    changes: dict[str, Any], drop: str | None, reason: str, detail: str
) -> None:
    event = wire_event(**changes)
    if drop is not None:
        del event[drop]
    raw = orjson.dumps(event)
    letter = dead(decode_request(raw))
    assert (letter.reason, letter.detail) == (reason, detail)
    assert letter.original == raw


def test_privacy_mode_rules_are_enforced() -> None:
    with_system_prompt = private_wire_event() | {"system_prompt": "secret"}
    letter = dead(decode_request(orjson.dumps(with_system_prompt)))
    assert letter.reason == "invalid_value"
    assert letter.detail == (
        "'system_prompt' must be absent or null when 'prompt_fingerprint' is present"
    )
    assert isinstance(
        decode_request(orjson.dumps(private_wire_event() | {"system_prompt": None})),
        RequestEvent,
    )
    broken = private_wire_event()
    del broken["prompt_fingerprint"]["minhash"]
    letter = dead(decode_request(orjson.dumps(broken)))
    assert (letter.reason, letter.detail) == (
        "missing_field",
        "missing required field 'prompt_fingerprint.minhash'",
    )
    negative = private_wire_event()
    negative["prompt_fingerprint"]["minhash"] = [1, -2]
    letter = dead(decode_request(orjson.dumps(negative)))
    assert (letter.reason, letter.detail) == (
        "invalid_value",
        "field 'prompt_fingerprint.minhash[1]' must be bigger than or equal to 0, got -2",
    )


def test_oversized_prompt_counts_utf8_bytes_against_the_given_limit() -> None:
    at_limit = decode_request(raw_event(prompt="a" * DEFAULT_MAX_PROMPT_BYTES))
    assert isinstance(at_limit, RequestEvent)
    # 30,000 characters but 60,000 bytes: the limit is in bytes.
    letter = dead(decode_request(raw_event(prompt="é" * 30_000), max_prompt_bytes=50_000))
    assert (letter.reason, letter.detail) == (
        "oversized_prompt",
        "field 'prompt' is 60000 bytes; limit is 50000",
    )
    letter = dead(decode_request(raw_event(system_prompt="x" * 101), max_prompt_bytes=100))
    assert letter.detail == "field 'system_prompt' is 101 bytes; limit is 100"


def test_oversized_record_is_refused_before_parsing() -> None:
    raw = raw_event(prompt="a" * 1000)
    letter = dead(decode_request(raw, max_record_bytes=500))
    assert (letter.reason, letter.detail) == (
        "oversized_record",
        f"record is {len(raw)} bytes; limit is 500",
    )


def test_too_deeply_nested_extra_field_is_refused() -> None:
    nested: Any = 0
    for _ in range(MAX_EXTRA_DEPTH + 1):
        nested = {"k": nested}
    letter = dead(decode_request(raw_event(deep=nested)))
    assert (letter.reason, letter.detail) == (
        "invalid_value",
        f"field 'deep' nests deeper than {MAX_EXTRA_DEPTH} levels",
    )


def test_dead_letter_carries_coordinates_and_broker_time() -> None:
    letter = dead(
        decode_request(b"{", topic="requests", partition=3, offset=77, timestamp=1_740_830_400.5)
    )
    assert (letter.source_topic, letter.source_partition, letter.source_offset) == (
        "requests",
        3,
        77,
    )
    assert letter.ts == 1_740_830_400.5
    # Brokers say -1 when they have no timestamp.
    assert dead(decode_request(b"{", timestamp=-1.0)).ts is None


def test_batch_decoding_keeps_order_and_coordinates() -> None:
    good = raw_event()
    results = decode_requests(
        [good, (b"{", "requests", 1, 10), (good, "requests", 1, 11, 1_740_830_400.0), b"[]"],
        max_prompt_bytes=1000,
    )
    assert isinstance(results[0], RequestEvent)
    assert results[0] == decode_request(good)
    first = dead(results[1])
    assert (first.reason, first.source_offset, first.ts) == ("malformed_json", 10, None)
    assert isinstance(results[2], RequestEvent)
    last = dead(results[3])
    assert (last.reason, last.source_topic) == ("not_an_object", None)
    assert dead(decode_requests([raw_event(prompt="x" * 11)], max_prompt_bytes=10)[0]).reason == (
        "oversized_prompt"
    )


# ----------------------------------------------------------------------------- other decoders


def test_signature_decoding_never_raises_and_names_the_problem() -> None:
    letter = dead(
        decode_signature(
            orjson.dumps(
                {
                    "signature_id": "s",
                    "source": "lab",
                    "confidence": 0.5,
                    "prompt_patterns": ["(unclosed"],
                }
            ),
            topic="signatures",
        )
    )
    assert letter.reason == "invalid_value"
    assert letter.detail.startswith("field 'prompt_patterns[0]' must be a valid regex")
    assert letter.source_topic == "signatures"
    assert dead(decode_signature(b"\x00\xff")).reason == "invalid_utf8"
    extra = orjson.dumps({"signature_id": "s", "source": "lab", "confidence": 0.5, "rule": 1})
    assert dead(decode_signature(extra)).reason == "invalid_value"


def test_signature_defaults_and_tombstone() -> None:
    tombstone = decode_signature(
        orjson.dumps({"signature_id": "s", "source": "lab", "confidence": 1, "deleted": True})
    )
    assert tombstone == Signature(signature_id="s", source="lab", confidence=1.0, deleted=True)
    assert isinstance(tombstone.confidence, float)


def test_alert_action_and_dead_letter_decoders_raise_codec_errors() -> None:
    with pytest.raises(CodecError) as info:
        decode_alert(b'{"schema": "alert.v1"}')
    assert (info.value.reason, info.value.detail) == (
        "missing_field",
        "missing required field 'alert_id'",
    )
    action = orjson.loads(
        encode(Action("act", 1_740_830_400.0, "acct", "throttle", "cluster", 1_740_834_000.0))
    )
    with pytest.raises(CodecError) as info:
        decode_action(orjson.dumps(action | {"action": "ban"}))
    assert info.value.reason == "invalid_value"
    with pytest.raises(CodecError) as info:
        decode_action(orjson.dumps(action | {"expires_at": "2025-03-01"}))
    assert info.value.reason == "bad_timestamp"
    letter = orjson.loads(encode(DeadLetter("malformed_json", "x", b"abc")))
    with pytest.raises(CodecError) as info:
        decode_dead_letter(orjson.dumps(letter | {"original_b64": "YWJ"}))
    assert info.value.reason == "invalid_value"
    assert info.value.detail.startswith("field 'original_b64' is not base64")


def test_dead_letter_wire_form_keeps_original_bytes_as_base64() -> None:
    original = b"\xff\x00not json"
    wire = orjson.loads(encode(DeadLetter("invalid_utf8", "byte 0", original, "t", 0, 5)))
    assert base64.b64decode(wire["original_b64"]) == original
    assert wire["schema"] == "dead_letter.v1"
    assert wire["ts"] is None


# ----------------------------------------------------------------------------- encode errors


def test_encode_refuses_records_the_wire_cannot_carry() -> None:
    event = decode_request(raw_event())
    assert isinstance(event, RequestEvent)
    with pytest.raises(ValueError, match="neither prompt nor fingerprint"):
        encode(dataclasses.replace(event, prompt=None))
    with pytest.raises(ValueError, match="must not carry prompt text"):
        encode(dataclasses.replace(event, prompt_fingerprint=PromptFingerprint("t", (1,))))
    with pytest.raises(ValueError, match=r"extra fields \['asn'\] shadow"):
        encode(dataclasses.replace(event, extra={"asn": 1}))
    with pytest.raises(ValueError, match="outside the accepted window"):
        encode(dataclasses.replace(event, ts=-5.0))
    with pytest.raises(TypeError, match="cannot encode dict"):
        encode({"a": 1})  # type: ignore[arg-type]


# ----------------------------------------------------------------------------- hostile input


def assert_decoded_or_dead_lettered(raw: bytes) -> None:
    result = decode_request(raw, topic="requests", partition=0, offset=1)
    if isinstance(result, RequestEvent):
        # Whatever is accepted must be a valid, re-encodable event.
        assert decode_request(encode(result)) == result
    else:
        assert isinstance(result, DeadLetter)
        assert result.original == raw
        assert result.reason in REASONS, result
        assert result.detail
        assert decode_dead_letter(encode(result)) == result


@HOSTILE
@given(st.binary(max_size=2000))
def test_arbitrary_bytes_never_raise(raw: bytes) -> None:
    assert_decoded_or_dead_lettered(raw)


@HOSTILE
@given(json_values | st.dictionaries(texts, json_values, max_size=8))
def test_arbitrary_json_never_raises(value: Any) -> None:
    assert_decoded_or_dead_lettered(orjson.dumps(value))


contract_fields = sorted(wire_event())
hostile_values = (
    json_values
    | st.builds(str.__mul__, st.sampled_from(["a", "é", "😀"]), st.integers(16_000, 300_000))
    | st.sampled_from(["", "2025-03-01", "9999-12-31T23:59:59Z", -1, 2**64 - 1, 1e308, -0.0])
)
# JSON text orjson would refuse to write: spliced into the encoded event.
PLACEHOLDER = "\u0000splice"
hostile_texts = st.sampled_from(
    [b"NaN", b"-Infinity", b"1e400", b"1" + b"0" * 30, b"-" + b"9" * 20, b'"\\ud800"']
) | st.integers(1, 1100).map(lambda depth: b"[" * depth + b"]" * depth)


@st.composite
def mutated_events(draw: st.DrawFn) -> bytes:
    event = wire_event()
    for _ in range(draw(st.integers(1, 3))):
        mutation = draw(st.sampled_from(["drop", "retype", "add"]))
        if mutation == "drop" and event:
            del event[draw(st.sampled_from(sorted(event)))]
        elif mutation == "retype":
            event[draw(st.sampled_from(contract_fields))] = draw(hostile_values)
        elif mutation == "add":
            event[draw(texts)] = draw(hostile_values)
    if draw(st.booleans()):
        event[draw(st.sampled_from([*contract_fields, "extra_field"]))] = PLACEHOLDER
    raw = orjson.dumps(event).replace(orjson.dumps(PLACEHOLDER), draw(hostile_texts), 1)
    corruption = draw(st.sampled_from(["none", "non_utf8", "truncate"]))
    if corruption == "non_utf8":
        cut = draw(st.integers(0, len(raw)))
        raw = raw[:cut] + draw(st.sampled_from([b"\xff", b"\xc3", b"\xed\xa0\x80"])) + raw[cut:]
    elif corruption == "truncate":
        raw = raw[: draw(st.integers(0, len(raw)))]
    return raw


@HOSTILE
@given(mutated_events())
def test_mutated_events_never_raise(raw: bytes) -> None:
    assert_decoded_or_dead_lettered(raw)


@HOSTILE
@given(st.lists(st.binary(max_size=300) | mutated_events(), max_size=5))
def test_batches_of_hostile_input_never_raise(raws: list[bytes]) -> None:
    results = decode_requests([(raw, "requests", 0, offset) for offset, raw in enumerate(raws)])
    assert len(results) == len(raws)
    for offset, (raw, result) in enumerate(zip(raws, results, strict=True)):
        if isinstance(result, DeadLetter):
            assert (result.original, result.source_offset) == (raw, offset)
