"""Request-event decoding: golden outcomes, the JSON Schema, hostile bytes.

Decoding runs natively (``streams._native.decode_requests``).  The golden file
``data/request_outcomes.jsonl.gz`` holds, for the edge cases below (one of each way a record
can be refused, and their neighbours that are accepted), under default and under tight limits,
the outcome the reference Python decoder gave before the native one replaced it (the two agreed
on ~618k records: the simulator's seeds 1 and 2, the service fuzz corpus, hypothesis-drawn
records): the event as encoded, or the dead letter's reason, detail and coordinates.  The fuzz
corpus itself is checked against the JSON Schema below: hypothesis draws it deterministically
per machine but not across machines, so it cannot have a golden file.
Where the reference named one of several offending keys in hash order (unknown fingerprint
keys, the first too-deep extra field), only the reason and the shape of the detail are pinned.
A deliberate change of decoding regenerates the file with
``DISTILLWATCH_REGENERATE_GOLDEN=1 pytest tests/streams/wire/test_request_decoding.py``.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import re
from pathlib import Path
from typing import Any

import fastjsonschema
import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from streams.config import DEFAULT_MAX_RECORD_BYTES
from streams.records import DeadLetter, RequestEvent
from streams.wire.codecs import decode_requests, encode
from streams.wire.schemas import load_schema
from tests.service.hostile import hostile_corpus, json_values
from tests.streams.wire.test_codecs import REASONS, private_wire_event, raw_event
from tests.support.core_traffic import generate

GOLDEN = Path(__file__).parent / "data" / "request_outcomes.jsonl.gz"
_HASH_ORDERED = (
    (re.compile(r"must not contain \{[^}]*\} properties"), "must not contain {...} properties"),
    (re.compile(r"^field '[^']*' nests deeper"), "field ... nests deeper"),
)


@pytest.fixture(scope="module")
def fuzz_corpus() -> list[bytes]:
    """The hostile records the service fuzz test sends (tests/service/test_fuzz.py)."""
    traffic = generate(seed=11, duration=2700.0, benign=150, campaign_size=25)
    return [value for _key, value, _ms in hostile_corpus(traffic.events[:1000], 10_000).records]


def outcomes(name: str, corpus: list[bytes], **limits: int) -> list[dict[str, Any]]:
    """Each record's outcome as the golden file states it, under coordinates of its own."""
    items = [
        (raw, "requests", 3, i, 1_700_000_000.0 + i if i % 3 else -1.0)
        for i, raw in enumerate(corpus)
    ]
    rows = []
    for (raw, *_), out in zip(items, decode_requests(items, **limits), strict=True):
        row: dict[str, Any] = {"set": name, "sha256": hashlib.sha256(raw).hexdigest()}
        if isinstance(out, DeadLetter):
            assert out.original == raw
            row |= {"reason": out.reason, "detail": out.detail, "ts": out.ts}
            row["offset"] = out.source_offset
        else:
            row["event"] = encode(out).decode()
        rows.append(row)
    return rows


def _pinned(row: dict[str, Any]) -> dict[str, Any]:
    detail = row.get("detail")
    if detail is not None:
        for pattern, shape in _HASH_ORDERED:
            detail = pattern.sub(shape, detail)
        row = {**row, "detail": detail}
    return row


def test_decoding_reproduces_the_reference_outcomes() -> None:
    rows = [
        *outcomes("edge", EDGE_CASES),
        *outcomes("edge_tight", EDGE_CASES, max_prompt_bytes=200, max_record_bytes=2000),
    ]
    if os.environ.get("DISTILLWATCH_REGENERATE_GOLDEN"):
        with open(GOLDEN, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as out:
            out.writelines(orjson.dumps(r, option=orjson.OPT_SORT_KEYS) + b"\n" for r in rows)
    with gzip.open(GOLDEN) as golden:
        expected = [orjson.loads(line) for line in golden]
    assert len(rows) == len(expected) == 2 * len(EDGE_CASES)
    differ = [(g, r) for g, r in zip(expected, rows, strict=True) if _pinned(g) != _pinned(r)]
    assert not differ, f"{len(differ)} outcomes differ, first: {differ[:2]}"
    reasons = {r.get("reason", "event") for r in rows}
    assert reasons >= {"event", *REASONS}, reasons


@settings(max_examples=1000, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.binary(max_size=64) | json_values.map(orjson.dumps))
def test_any_bytes_become_an_event_or_a_dead_letter_that_keeps_them(raw: bytes) -> None:
    (out,) = decode_requests([raw])
    assert isinstance(out, RequestEvent) or (isinstance(out, DeadLetter) and out.original == raw)


def test_encoded_events_decode_to_events_that_encode_to_the_same_bytes() -> None:
    raws = [encode(e) for e in generate(seed=3, duration=900.0, benign=40, campaign_size=8).events]
    assert [encode(e) for e in decode_requests(raws)] == raws


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
    results = decode_requests(corpus)
    compared = disagree = 0
    for raw, result in zip(corpus, results, strict=True):
        if len(raw) > DEFAULT_MAX_RECORD_BYTES:
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
