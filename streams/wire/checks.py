"""Checks of decoded JSON: size, nesting, schema errors as reason codes, timestamps."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

import orjson
from fastjsonschema import JsonSchemaValueException

from streams.errors import CodecError
from streams.records import (
    RawValue,
)
from streams.timeparse import parse_timestamp

_JSON_TYPE_NAMES: Final = {
    dict: "object",
    list: "array",
    str: "string",
    bool: "boolean",
    int: "integer",
    float: "number",
    type(None): "null",
}


def optional_timestamp(obj: dict[str, Any], field: str) -> float | None:
    text = obj.get(field)
    return None if text is None else wire_timestamp(field, text)


def load_object(raw: RawValue, max_record_bytes: int | None) -> dict[str, Any]:
    if max_record_bytes is not None and len(raw) > max_record_bytes:
        raise CodecError(
            "oversized_record", f"record is {len(raw)} bytes; limit is {max_record_bytes}"
        )
    try:
        obj = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        # Tell encoding problems apart from syntax problems: the fix differs.
        try:
            bytes(raw).decode("utf-8")
        except UnicodeDecodeError as utf8_exc:
            raise CodecError(
                "invalid_utf8", f"byte {utf8_exc.start} is not valid UTF-8: {utf8_exc.reason}"
            ) from None
        raise CodecError("malformed_json", str(exc)) from None
    if type(obj) is not dict:
        raise CodecError(
            "not_an_object", f"top-level JSON value is {_json_type(obj)}, expected object"
        )
    return obj


def load_valid(
    raw: RawValue, validate: Callable[[Any], Any], max_record_bytes: int | None
) -> dict[str, Any]:
    obj = load_object(raw, max_record_bytes)
    try:
        validate(obj)
    except JsonSchemaValueException as exc:
        raise schema_error(exc) from None
    return obj


def wire_timestamp(field: str, text: str) -> float:
    try:
        return parse_timestamp(text)
    except ValueError as exc:
        raise CodecError("bad_timestamp", f"field {field!r}: {exc}") from None


def schema_error(exc: JsonSchemaValueException) -> CodecError:
    """Turn the first schema violation into a reason code and a detail naming the field."""
    path = exc.name.removeprefix("data").removeprefix(".")
    rule = exc.rule
    definition = exc.rule_definition
    value = exc.value
    if rule == "required":
        missing = next(key for key in definition if key not in value)
        return CodecError("missing_field", f"missing required field {_join(path, missing)!r}")
    subject = f"field {path!r}" if path else "record"
    if rule == "type":
        expected = " or ".join(definition) if isinstance(definition, list) else definition
        return CodecError("wrong_type", f"{subject} must be {expected}, got {_json_type(value)}")
    if rule == "format" and definition == "date-time":
        return CodecError(
            "bad_timestamp", f"{subject}: {_preview(value)} is not an RFC 3339 date-time"
        )
    if rule == "const" and path == "schema":
        return CodecError(
            "invalid_value",
            f"unsupported schema {_preview(value)}; this decoder reads {definition!r}",
        )
    requirement = exc.message.removeprefix(exc.name).strip()
    return CodecError("invalid_value", f"{subject} {requirement}, got {_preview(value)}")


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _json_type(value: object) -> str:
    return _JSON_TYPE_NAMES.get(type(value), type(value).__name__)


def _preview(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 80 else f"{text[:77]}..."


def describe_fault(exc: Exception) -> str:
    return f"decoder fault {type(exc).__name__}: {exc}"
