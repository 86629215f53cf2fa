"""The native request decoder (``streams.native_codecs``) against the Python one, record for record.

Every record gets the same result from both paths: the same ``RequestEvent``, or a
``DeadLetter`` with the same reason, detail and coordinates.  The corpora: every event the
simulator makes for seeds 1 and 2, the core test traffic, the hostile records of the service
fuzz test, a few thousand more drawn in-process from the same strategies, and hand-made edge
cases of each reason.  A last test holds the native decoder to the JSON Schema itself.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import fastjsonschema
import orjson
import pytest
from core_traffic import generate
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from service.hostile import Corpus, hostile_corpus, json_values
from test_codecs import private_wire_event, raw_event, request_events, wire_event

from streams import codecs, native_codecs
from streams.codecs import encode
from streams.records import DeadLetter
from streams.simulation import simulate
from streams.wire_schemas import load_schema

TOPIC = "requests"


def with_coordinates(raws: list[bytes], partition: int = 3) -> list[tuple[Any, ...]]:
    return [
        (raw, TOPIC, partition, offset, 1_700_000_000.0 + offset if offset % 3 else -1.0)
        for offset, raw in enumerate(raws)
    ]


def mismatches(raws: list[bytes], **limits: int) -> list[tuple[bytes, Any, Any]]:
    """Records the two decoders disagree on (both decode the same coordinates)."""
    items = with_coordinates(raws)
    python = codecs.decode_requests(items, **limits)
    native = native_codecs.decode_requests(items, **limits)
    assert len(python) == len(native) == len(raws)
    return [(raw, p, n) for raw, p, n in zip(raws, python, native, strict=True) if p != n]


def assert_same(raws: list[bytes], **limits: int) -> Counter:
    """Both decoders agree on every record; the counts of their results by fate."""
    bad = mismatches(raws, **limits)
    assert not bad, f"{len(bad)} of {len(raws)} records differ, first: {bad[:3]}"
    fates = codecs.decode_requests(raws, **limits)
    return Counter(r.reason if isinstance(r, DeadLetter) else "event" for r in fates)


@pytest.fixture(scope="module")
def core_traffic():
    return generate(seed=11, duration=2700.0, benign=150, campaign_size=25)


@pytest.fixture(scope="module")
def fuzz_corpus(core_traffic) -> list[bytes]:
    """The hostile records the service fuzz test sends (tests/service/test_fuzz.py)."""
    return [
        value for _key, value, _ms in hostile_corpus(core_traffic.events[:1000], 10_000).records
    ]


@pytest.mark.parametrize("seed", [1, 2])
def test_every_simulated_event_decodes_the_same(seed: int) -> None:
    raws = [encode(event) for event in simulate("default", seed).events]
    fates = assert_same(raws)
    assert fates["event"] == len(raws)


def test_core_traffic_decodes_the_same(core_traffic) -> None:
    raws = [encode(event) for event in core_traffic.events]
    assert assert_same(raws)["event"] == len(raws)


def test_fuzz_corpus_decodes_the_same(fuzz_corpus) -> None:
    fates = assert_same(fuzz_corpus)
    assert fates["event"] and len(fates) >= 6, fates


def test_fuzz_corpus_decodes_the_same_under_tight_limits(fuzz_corpus) -> None:
    assert_same(fuzz_corpus, max_prompt_bytes=200, max_record_bytes=2000)


@settings(max_examples=1500, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.data())
def test_hostile_mutations_decode_the_same(data: st.DataObject) -> None:
    corpus = HOSTILE_BASES
    corpus.records.clear()
    for _ in range(4):
        corpus.add(data)
    assert_same([value for _key, value, _ms in corpus.records], max_record_bytes=1 << 20)


HOSTILE_BASES = Corpus(generate(seed=5, duration=600.0, benign=20, campaign_size=5).events[:200])


@settings(max_examples=1500, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    st.dictionaries(
        st.sampled_from([*sorted(codecs._REQUEST_FIELDS), "x", "nested"]), json_values, max_size=6
    ),
    st.booleans(),
)
def test_fields_of_any_value_decode_the_same(changes: dict[str, Any], private: bool) -> None:
    base = private_wire_event() if private else wire_event()
    assert_same([orjson.dumps({**base, **changes})])


@settings(max_examples=1000, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.binary(max_size=64) | json_values.map(orjson.dumps))
def test_arbitrary_bytes_decode_the_same(raw: bytes) -> None:
    assert_same([raw])


@settings(max_examples=500, deadline=None, suppress_health_check=list(HealthCheck))
@given(request_events())
def test_encoded_events_decode_the_same(event) -> None:
    assert_same([encode(event)])


EDGE_CASES: list[bytes] = [
    b"",
    b" ",
    b"{",
    b"{}x",
    b"\xef\xbb\xbf{}",
    b"NaN",
    b"[1,]",
    b'"\\ud800"',
    b'"\\udc00"',
    b'{"a": 1e400}',
    b"[]",
    b"3",
    b"-0",
    b"1.5",
    b"null",
    b"true",
    b'"text"',
    b"\xff",
    b"\xc3\x28",
    b"\xed\xa0\x80",
    b"\xe0\x80",
    b"\xf0\x90",
    b'{"a": "\xf4\x90\x80\x80"}',
    b"[" * 1024 + b"]" * 1024,
    b"[" * 1025 + b"]" * 1025,
    raw_event(),
    raw_event(schema="request_event.v1"),
    raw_event(schema="request_event.v2"),
    raw_event(schema=None),
    raw_event(event_id=""),
    raw_event(event_id="x" * 257),
    raw_event(asn=-1),
    raw_event(asn=2**32),
    raw_event(asn=5.0),
    raw_event(asn=5.5),
    raw_event(asn=True),
    raw_event(asn="1"),
    raw_event(n=-0.0),
    raw_event(n=0),
    raw_event(n=129),
    raw_event(status=99.5),
    raw_event(status=599.0000001),
    raw_event(temperature=2.0000001),
    raw_event(temperature=-0.0),
    raw_event(temperature=1),
    raw_event(latency_ms=86_400_001),
    raw_event(country="us"),
    raw_event(country="USA"),
    raw_event(country="US\n"),
    raw_event(response_format="yaml"),
    raw_event(response_format=["text"]),
    raw_event(stream=0),
    raw_event(prompt=None),
    raw_event(prompt=7),
    raw_event(system_prompt=7),
    raw_event(prompt="é" * 40_000),
    raw_event(system_prompt="x" * 70_000),
    raw_event(ts="2025-03-01T12:00:00Z", account_created_at=None),
    raw_event(ts="2025-03-01T12:00:00"),
    raw_event(ts="2025-03-01t12:00:00Z"),
    raw_event(ts="2025-03-01T12:00:00+0100"),
    raw_event(ts="2025-03-01T12:00:60Z"),
    raw_event(ts="0000-03-01T12:00:00Z"),
    raw_event(ts="2023-02-29T12:00:00Z"),
    raw_event(ts="2024-02-29T12:00:00.1234567891Z"),
    raw_event(ts="2024-02-29T12:00:00.123456789Z"),
    raw_event(ts="٢٠٢٤-02-29T12:00:00Z"),
    raw_event(ts="1969-12-31T23:59:59.999999Z"),
    raw_event(ts="2099-12-31T23:59:59.9999999Z"),
    raw_event(ts="2100-01-01T00:00:00+00:01"),
    raw_event(ts=1_700_000_000),
    raw_event(account_created_at="2025-01-01"),
    raw_event(account_created_at="2025-01-01T00:00:00Z"),
    raw_event(payment_fingerprint=""),
    raw_event(payment_fingerprint="p" * 257),
    raw_event(extra={"a": [[[[]]]]}, **{"é": "x"}),
    raw_event(nested=[[]] * 3, deep=[[[[[[]]]]]]),
    orjson.dumps(private_wire_event()),
    orjson.dumps({**private_wire_event(), "prompt": "x"}),
    orjson.dumps({**private_wire_event(), "system_prompt": "x"}),
    orjson.dumps({**private_wire_event(), "system_prompt": None}),
    orjson.dumps({**private_wire_event(), "prompt_fingerprint": []}),
    orjson.dumps({**private_wire_event(), "prompt_fingerprint": {"minhash": [1]}}),
    orjson.dumps({**private_wire_event(), "prompt_fingerprint": {"template_id": "t"}}),
    orjson.dumps(
        {**private_wire_event(), "prompt_fingerprint": {"template_id": "", "minhash": [1]}}
    ),
    orjson.dumps(
        {**private_wire_event(), "prompt_fingerprint": {"template_id": "t", "minhash": []}}
    ),
    orjson.dumps(
        {**private_wire_event(), "prompt_fingerprint": {"template_id": "t", "minhash": 1}}
    ),
    orjson.dumps(
        {**private_wire_event(), "prompt_fingerprint": {"template_id": "t", "minhash": [1] * 1025}}
    ),
    orjson.dumps(
        {**private_wire_event(), "prompt_fingerprint": {"template_id": "t", "minhash": [-1]}}
    ),
    orjson.dumps(
        {**private_wire_event(), "prompt_fingerprint": {"template_id": "t", "minhash": [1.5]}}
    ),
    orjson.dumps(
        {**private_wire_event(), "prompt_fingerprint": {"template_id": "t", "minhash": [1e19]}}
    ),
    orjson.dumps(
        {**private_wire_event(), "prompt_fingerprint": {"template_id": "t", "minhash": [2e19]}}
    ),
    orjson.dumps(
        {
            **private_wire_event(),
            "prompt_fingerprint": {"template_id": "t", "minhash": [1], "x": 1, "y": 2, "z": 3},
        }
    ),
    b'{"prompt_fingerprint": {}}',
    b'{"prompt": "x"}',
    b"{}",
    b'{"a":1,"a":2}',
    raw_event()[:-1] + b',"minhash": 18446744073709551616}',
    raw_event()[:-1] + b',"n": 1, "n": 2}',
    raw_event()[:-1] + b',"x": -0, "y": 1E2, "z": 123456789012345678901234567890}',
    raw_event()[:-1] + b',"nested":' + b"[" * 64 + b"]" * 64 + b"}",
    raw_event()[:-1] + b',"nested":' + b"[" * 65 + b"]" * 65 + b"}",
    raw_event()[:-1]
    + b',"a":'
    + b"[" * 65
    + b"]" * 65
    + b',"b":'
    + b"{}"
    + b',"c":'
    + b"[" * 70
    + b"]" * 70
    + b"}",
    raw_event()[:-1] + b',"response_format":' + b"[" * 1000 + b"]" * 1000 + b"}",
    raw_event()[:-1] + b',"nested":' + b"[" * 2000 + b"]" * 2000 + b"}",
]


def test_edge_cases_decode_the_same() -> None:
    fates = assert_same(EDGE_CASES)
    assert set(fates) >= codecs_reasons(), fates


def test_size_limits_decode_the_same() -> None:
    assert_same(
        [raw_event(prompt="é" * 100), b"x" * 300], max_prompt_bytes=150, max_record_bytes=299
    )


def codecs_reasons() -> set[str]:
    return {
        "event",
        "malformed_json",
        "invalid_utf8",
        "not_an_object",
        "missing_field",
        "wrong_type",
        "invalid_value",
        "bad_timestamp",
        "oversized_prompt",
    }


def test_batch_coordinates_and_plain_values() -> None:
    raws = [raw_event(), b"{", raw_event(n=0)]
    assert native_codecs.decode_requests(raws) == codecs.decode_requests(raws)
    mixed = [(b"{", "a", 0, 1), (b"{", "b", 1, 2, 5.0), b"{", bytearray(raw_event())]
    assert native_codecs.decode_requests(mixed) == codecs.decode_requests(mixed)


# Refusals the schema does not state: sizes, the timestamp window and nesting of extras.
_POST_SCHEMA = ("oversized_prompt",)


def refused_by_schema_stage(result: Any) -> bool:
    if not isinstance(result, DeadLetter):
        return False
    if result.reason in _POST_SCHEMA or "nests deeper than" in result.detail:
        return False
    return not (
        result.reason == "bad_timestamp" and "is not an RFC 3339 date-time" not in result.detail
    )


def test_native_accepts_what_the_json_schema_accepts(fuzz_corpus) -> None:
    validate = fastjsonschema.compile(load_schema("request_event.v1"), use_default=False)
    corpus = [*fuzz_corpus, *EDGE_CASES]
    results = native_codecs.decode_requests(corpus)
    compared = disagree = 0
    for raw, result in zip(corpus, results, strict=True):
        if len(raw) > codecs.DEFAULT_MAX_RECORD_BYTES:
            continue
        try:
            obj = orjson.loads(raw)
        except orjson.JSONDecodeError:
            continue
        try:
            validate(obj)
            schema_ok = True
        except fastjsonschema.JsonSchemaValueException:
            schema_ok = False
        compared += 1
        disagree += schema_ok == refused_by_schema_stage(result)
        assert schema_ok != refused_by_schema_stage(result), (raw[:300], result)
    assert compared > 5000 and disagree == 0
