"""The JSON Schemas in ``schemas/``: well-formed, documented, and matched by the codecs."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import fastjsonschema
import orjson
import pytest

from streams.records import (
    Action,
    Alert,
    DeadLetter,
    Decision,
    PromptFingerprint,
    RequestEvent,
    Signature,
    Suppression,
)
from streams.wire.codecs import encode
from streams.wire.schemas import SCHEMA_DIR, SCHEMA_NAMES, load_schema

DRAFT_2020_12 = "https://json-schema.org/draft/2020-12/schema"

# Keywords whose meaning is the same in draft-07 (what fastjsonschema implements)
# and draft 2020-12 (what the files declare); anything else could be ignored silently.
PORTABLE_KEYWORDS = {
    "$schema", "$id", "$ref", "$defs", "$comment", "title", "description", "default",
    "examples", "type", "enum", "const", "properties", "required", "additionalProperties",
    "propertyNames", "minProperties", "maxProperties", "items", "minItems", "maxItems",
    "uniqueItems", "minLength", "maxLength", "pattern", "format", "minimum", "maximum",
    "exclusiveMinimum", "exclusiveMaximum", "multipleOf", "if", "then", "else", "not",
    "anyOf", "allOf", "oneOf",
}  # fmt: skip
SCHEMA_VALUED = {"items", "additionalProperties", "propertyNames", "if", "then", "else", "not"}
SCHEMA_LISTS = {"anyOf", "allOf", "oneOf"}
SCHEMA_MAPS = {"properties", "$defs"}

RECORD_TYPES = {
    "request_event.v1": RequestEvent,
    "alert.v1": Alert,
    "action.v1": Action,
    "signature.v1": Signature,
    "dead_letter.v1": DeadLetter,
    "decision.v1": Decision,
    "suppression.v1": Suppression,
}


def subschemas(schema: Any, path: str = "#") -> Iterator[tuple[str, dict[str, Any]]]:
    """Every schema object in a document with its JSON-pointer-like path."""
    if not isinstance(schema, dict):
        return
    yield path, schema
    for key, value in schema.items():
        if key in SCHEMA_VALUED:
            yield from subschemas(value, f"{path}/{key}")
        elif key in SCHEMA_LISTS:
            for index, item in enumerate(value):
                yield from subschemas(item, f"{path}/{key}/{index}")
        elif key in SCHEMA_MAPS:
            for name, item in value.items():
                yield from subschemas(item, f"{path}/{key}/{name}")


def test_every_schema_file_is_named_and_listed() -> None:
    files = sorted(path.name.removesuffix(".json") for path in SCHEMA_DIR.glob("*.json"))
    assert files == sorted(SCHEMA_NAMES)


@pytest.mark.parametrize("name", SCHEMA_NAMES)
def test_schema_is_a_compilable_documented_draft_2020_12_document(name: str) -> None:
    schema = load_schema(name)
    assert schema["$schema"] == DRAFT_2020_12
    assert schema["$id"] == f"urn:distillwatch:schema:{name}"
    assert schema["title"] and schema["description"]
    fastjsonschema.compile(schema)
    for path, sub in subschemas(schema):
        unknown = set(sub) - PORTABLE_KEYWORDS
        assert not unknown, f"{name} {path}: keywords {unknown} are not portable"
        if "$ref" in sub:
            assert sub["$ref"].startswith("#/$defs/"), f"{name} {path}: only local refs"
        for field, definition in sub.get("properties", {}).items():
            assert definition.get("description"), f"{name} {path}/properties/{field}"


@pytest.mark.parametrize("name", SCHEMA_NAMES)
def test_schema_names_every_record_field(name: str) -> None:
    """The schema and the in-memory record must not drift apart."""
    properties = set(load_schema(name)["properties"])
    fields = {field.name for field in dataclasses.fields(RECORD_TYPES[name])}
    renamed = {"original": "original_b64", "extra": None}
    expected = {renamed.get(field, field) for field in fields} - {None}
    assert expected | {"schema"} == properties


EVENT = RequestEvent(
    event_id="evt-1",
    ts=1_740_830_400.25,
    account_id="acct-1",
    org_id="org-1",
    api_key_id="key-1",
    ip="2001:db8::7",
    asn=64512,
    country="DE",
    user_agent="curl/8.5.0",
    model="frontier-large",
    endpoint="/v1/chat/completions",
    prompt="Translate to French, answer as JSON.",
    system_prompt=None,
    prompt_tokens=9,
    completion_tokens=40,
    response_format="json_schema",
    temperature=1.0,
    n=4,
    stream=True,
    status=429,
    latency_ms=12.0,
    account_created_at=1_740_000_000.0,
    payment_fingerprint="pf-77",
    extra={"gateway_region": "eu-west-1"},
)
RECORDS = [
    EVENT,
    dataclasses.replace(
        EVENT,
        prompt=None,
        prompt_fingerprint=PromptFingerprint(template_id="tpl-5", minhash=(1, 2**63, 7)),
    ),
    Alert(
        alert_id="alert-9",
        revision=3,
        ts=1_740_830_400.0,
        kind="coordinated_cluster",
        severity="critical",
        score=0.97,
        accounts=("acct-1", "acct-2"),
        cluster_id="cluster-4",
        evidence={
            "features": [{"name": "structured_output_ratio", "value": 0.98, "baseline": 0.12}],
            "shared_templates": ["tpl-5", {"template_id": "tpl-6", "count": 412}],
            "similar_pairs": [{"a": "acct-1", "b": "acct-2", "similarity": 0.93}],
            "infrastructure": {"asn": ["64512"], "ip_prefix": ["203.0.113.0/24"]},
            "time_span": {"first": 1_740_800_000.0, "last": 1_740_830_400.0},
        },
        signatures=("sig-1",),
    ),
    Action(
        action_id="act-1",
        ts=1_740_830_400.0,
        account_id="acct-1",
        action="degrade",
        reason="member of coordinated cluster cluster-4",
        expires_at=1_740_916_800.0,
        alert_id="alert-9",
    ),
    Signature(
        signature_id="sig-1",
        source="partner-lab",
        confidence=0.8,
        template_hashes=("tpl-5",),
        prompt_patterns=(r"(?i)answer (only )?in json",),
        infrastructure={"asn": ("64512",), "user_agent": ("curl/8.5.0",)},
        behaviour={"structured_output_ratio": 0.9},
        description="JSON harvesting campaign",
    ),
    Signature(signature_id="sig-2", source="partner-lab", confidence=0.0, deleted=True),
    DeadLetter(
        reason="malformed_json",
        detail="unexpected end of data",
        original=b'{"event_id": \xff',
        source_topic="distillwatch.requests.v1",
        source_partition=2,
        source_offset=9001,
        ts=1_740_830_400.0,
    ),
    DeadLetter(reason="not_an_object", detail="top-level JSON value is array", original=b"[]"),
    Suppression(
        suppression_id="sup-alert-9",
        ts=1_740_830_400.0,
        expires_at=1_743_422_400.0,
        accounts=("acct-1", "acct-2"),
        alert_id="alert-9",
        analyst="dana",
        reason="load test of a partner's QA team",
        decision_id="dec-1",
    ),
    Decision(
        decision_id="dec-1",
        ts=1_740_830_460.5,
        analyst="dana",
        decision="dismiss",
        reason="load test of a partner's QA team",
        alert_id="alert-9",
        revision=3,
        accounts=("acct-1", "acct-2"),
        result_topic="distillwatch.suppressions.v1",
        result_id="sup-alert-9",
    ),
]
SCHEMA_OF = {record_type: name for name, record_type in RECORD_TYPES.items()}


@pytest.mark.parametrize("record", RECORDS, ids=lambda record: type(record).__name__)
def test_encoded_record_validates_against_its_schema_file(record: Any) -> None:
    name = SCHEMA_OF[type(record)]
    validate = fastjsonschema.compile(load_schema(name))
    wire = orjson.loads(encode(record))
    validate(wire)
    assert wire["schema"] == name


def test_schemas_reject_what_the_contract_forbids() -> None:
    validate_request = fastjsonschema.compile(load_schema("request_event.v1"))
    wire = orjson.loads(encode(EVENT))
    both = wire | {"prompt_fingerprint": {"template_id": "t", "minhash": [1]}}
    with pytest.raises(fastjsonschema.JsonSchemaValueException):
        validate_request(both)
    neither = {key: value for key, value in wire.items() if key != "prompt"}
    with pytest.raises(fastjsonschema.JsonSchemaValueException):
        validate_request(neither)
    validate_alert = fastjsonschema.compile(load_schema("alert.v1"))
    alert = orjson.loads(encode(RECORDS[2]))
    with pytest.raises(fastjsonschema.JsonSchemaValueException):
        validate_alert(alert | {"prompt": "raw text"})
