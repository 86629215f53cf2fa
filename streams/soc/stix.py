"""Detection signatures as STIX 2.1 bundles, for exchange with partner labs.

One signature is one ``indicator`` whose STIX pattern says what it matches, so any STIX
tool can read it, with its provenance (``created_by_ref`` to an ``identity`` named after the
signature's source), confidence (0-100), validity window (``valid_from``/``valid_until``)
and its DistillWatch id as an external reference.  Indicators on standard observables use
the standard cyber-observable objects: ``autonomous-system:number``, ``ipv4-addr:value``
(``ISSUBSET`` for a network), the HTTP request extension's ``User-Agent`` header.  What no
standard object describes is expressed on four custom observable types, declared in the
bundle by one ``extension-definition`` of type ``new-sco`` (the STIX 2.1 mechanism for new
observable types; a property extension would have to hang a prompt template or an account's
request rate off an unrelated standard object):

* ``x-distillwatch-prompt-template:template_id`` -- the prompt-structure fingerprint
  (``streams.wire.fingerprint``), the same id in every lab on default template settings;
* ``x-distillwatch-prompt:text MATCHES`` -- a prompt regular expression;
* ``x-distillwatch-api-request:<kind>`` -- any other request indicator
  (payment fingerprint, API key, model, country, ...);
* ``x-distillwatch-account:<metric>`` ``>=``/``<=`` -- behaviour thresholds.

A signature matches when any indicator matches and every threshold holds; the pattern says
exactly that: ``([indicator] OR [indicator] ...) AND [account thresholds]``.

Import treats the file as untrusted: a size and object-count bound first, then ``orjson``
(no evaluation), then the ``stix2`` library's strict validation of every object (unknown
properties refused, pattern syntax checked by ``stix2-patterns``), then a whitelist walk of
each pattern's syntax tree.  Anything outside the subset above is refused with the object
and the problem named; nothing is executed.  Regular expressions are refused unless the
caller allows them, because a partner's regex runs against every prompt.

Export is deterministic (ids are UUIDv5 of the signature id, timestamps come from the
signature), so export -> import -> export gives the same bytes.
"""

from __future__ import annotations

import ipaddress
import math
import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import orjson

from streams.errors import StixError
from streams.records import Signature
from streams.stages.signatures import BEHAVIOUR_METRICS, CompiledSignature, behaviour_rule
from streams.timeparse import format_timestamp, parse_timestamp

NAMESPACE = uuid.UUID("6b0c7f5e-2f0a-5d7e-9a57-5c1f0d15e7a1")
"""UUIDv5 namespace of every STIX id DistillWatch derives."""

PRODUCER_NAME = "DistillWatch"
EXTENSION_VERSION = "1.0.0"
EXTENSION_DATE = "2026-01-01T00:00:00.000000Z"
"""Creation time of the extension definition's version 1.0.0 (a constant, not the export time)."""

TEMPLATE_SCO = "x-distillwatch-prompt-template"
PROMPT_SCO = "x-distillwatch-prompt"
REQUEST_SCO = "x-distillwatch-api-request"
ACCOUNT_SCO = "x-distillwatch-account"
ACCEPTED_TYPES = ("identity", "indicator", "extension-definition", "marking-definition")
REFERENCE_SOURCE = "distillwatch"

_EPOCH = 0.0
_KIND = re.compile(r"[a-z][a-z0-9_]{0,63}")
_UA_PATH = ("extensions", "http-request-ext", "request_header", "User-Agent")


def _stix_id(kind: str, *parts: str) -> str:
    return f"{kind}--{uuid.uuid5(NAMESPACE, chr(31).join((kind, *parts)))}"


PRODUCER_IDENTITY = _stix_id("identity", "producer", PRODUCER_NAME)
EXTENSION_ID = _stix_id("extension-definition", "observables", EXTENSION_VERSION)


@dataclass(frozen=True, slots=True)
class ImportLimits:
    """Bounds on an untrusted bundle (from ``Settings.soc``)."""

    max_bytes: int = 4 * 1024 * 1024
    max_objects: int = 10_000
    allow_regex: bool = False


# ----------------------------------------------------------------------------- export


def signatures_to_bundle(signatures: Iterable[Signature]) -> dict[str, Any]:
    """The STIX 2.1 bundle (JSON-ready) of the live signatures; tombstones are left out.

    Raises StixError for a signature that cannot be expressed (e.g. a non-numeric ASN).
    """
    live = sorted((s for s in signatures if not s.deleted), key=lambda s: s.signature_id)
    identities: dict[str, dict[str, Any]] = {}
    indicators = []
    for sig in live:
        identity = _identity(sig.source, sig.valid_from)
        known = identities.get(identity["id"])
        if known is None or identity["created"] < known["created"]:
            identities[identity["id"]] = identity
        indicators.append(_indicator(sig, identity["id"]))
    producer = {
        "type": "identity",
        "spec_version": "2.1",
        "id": PRODUCER_IDENTITY,
        "created": EXTENSION_DATE,
        "modified": EXTENSION_DATE,
        "name": PRODUCER_NAME,
        "identity_class": "system",
    }
    identities.setdefault(PRODUCER_IDENTITY, producer)
    objects = [
        *(identities[k] for k in sorted(identities)),
        _extension_definition(),
        *sorted(indicators, key=lambda o: o["id"]),
    ]
    digest = orjson.dumps([(o["id"], o["modified"]) for o in objects]).decode()
    return {"type": "bundle", "id": _stix_id("bundle", digest), "objects": objects}


def bundle_bytes(bundle: dict[str, Any]) -> bytes:
    """Canonical bytes of a bundle: equal bundles give identical files."""
    return orjson.dumps(bundle, option=orjson.OPT_SORT_KEYS | orjson.OPT_INDENT_2) + b"\n"


def _identity(source: str, valid_from: float | None) -> dict[str, Any]:
    when = format_timestamp(valid_from if valid_from is not None else _EPOCH)
    return {
        "type": "identity",
        "spec_version": "2.1",
        "id": _stix_id("identity", "source", source),
        "created": when,
        "modified": when,
        "name": source,
        "identity_class": "organization",
    }


def _extension_definition() -> dict[str, Any]:
    return {
        "type": "extension-definition",
        "spec_version": "2.1",
        "id": EXTENSION_ID,
        "created_by_ref": PRODUCER_IDENTITY,
        "created": EXTENSION_DATE,
        "modified": EXTENSION_DATE,
        "name": "DistillWatch observables",
        "description": (
            "Observable types DistillWatch signatures use in indicator patterns for LLM API "
            "traffic."
        ),
        "schema": (
            f"{TEMPLATE_SCO}: template_id (string), the prompt-structure fingerprint of a "
            f"request. {PROMPT_SCO}: text (string), the prompt of a request. {REQUEST_SCO}: "
            "one string property per request indicator kind (payment_fingerprint, api_key_id, "
            f"model, country, ...). {ACCOUNT_SCO}: one number property per account metric "
            f"({', '.join(BEHAVIOUR_METRICS)}), compared with >= and <=."
        ),
        "version": EXTENSION_VERSION,
        "extension_types": ["new-sco"],
    }


def _indicator(sig: Signature, identity_id: str) -> dict[str, Any]:
    created = format_timestamp(sig.valid_from if sig.valid_from is not None else _EPOCH)
    indicator: dict[str, Any] = {
        "type": "indicator",
        "spec_version": "2.1",
        "id": sig.signature_id
        if _is_indicator_id(sig.signature_id)
        else _stix_id("indicator", sig.signature_id),
        "created_by_ref": identity_id,
        "created": created,
        "modified": created,
        "name": sig.signature_id,
        "indicator_types": ["malicious-activity"],
        "pattern": signature_pattern(sig),
        "pattern_type": "stix",
        "pattern_version": "2.1",
        "valid_from": created,
        "confidence": round(sig.confidence * 100),
        "external_references": [{"source_name": REFERENCE_SOURCE, "external_id": sig.signature_id}],
    }
    if sig.description:
        indicator["description"] = sig.description
    if sig.valid_until is not None:
        indicator["valid_until"] = format_timestamp(sig.valid_until)
    return indicator


def _is_indicator_id(value: str) -> bool:
    if not value.startswith("indicator--"):
        return False
    try:
        uuid.UUID(value.removeprefix("indicator--"))
    except ValueError:
        return False
    return True


def signature_pattern(sig: Signature) -> str:
    """The STIX pattern of a signature: ``(indicators OR ...) AND [thresholds]``."""
    observations = []
    if sig.template_hashes:
        observations.append(_observation(TEMPLATE_SCO, ("template_id",), sig.template_hashes))
    observations.extend(
        f"[{PROMPT_SCO}:text MATCHES {_quote(p)}]" for p in sorted(sig.prompt_patterns)
    )
    for kind, values in sorted(sig.infrastructure.items()):
        if not values:
            continue
        observations.extend(_infrastructure_observations(sig.signature_id, kind, values))
    thresholds = [
        f"{ACCOUNT_SCO}:{metric} {'>=' if op == 'min' else '<='} {_number(bound)}"
        for op, metric, bound in _behaviour_rules(sig.signature_id, sig.behaviour)
    ]
    if not observations and not thresholds:
        raise StixError(f"signature {sig.signature_id}: no indicator and no behaviour threshold")
    if not thresholds:
        return " OR ".join(observations)
    behaviour = f"[{' AND '.join(thresholds)}]"
    if not observations:
        return behaviour
    return f"({' OR '.join(observations)}) AND {behaviour}"


def _infrastructure_observations(
    signature_id: str, kind: str, values: tuple[str, ...]
) -> list[str]:
    ordered = sorted(set(values))
    if kind == "asn":
        if not all(v.isdigit() for v in ordered):
            raise StixError(f"signature {signature_id}: asn values must be decimal numbers")
        numbers = sorted(int(v) for v in ordered)
        if len(numbers) == 1:
            return [f"[autonomous-system:number = {numbers[0]}]"]
        return [f"[autonomous-system:number IN ({', '.join(map(str, numbers))})]"]
    if kind in ("ip", "ip_prefix"):
        out = []
        for value in ordered:
            try:
                network = ipaddress.ip_network(value, strict=False)
            except ValueError as exc:
                raise StixError(f"signature {signature_id}: {kind} {value!r}: {exc}") from None
            sco = "ipv4-addr" if network.version == 4 else "ipv6-addr"
            op = "ISSUBSET" if kind == "ip_prefix" else "="
            out.append(f"[{sco}:value {op} {_quote(value)}]")
        return out
    if kind == "user_agent":
        path = "network-traffic:" + ".".join(
            p if re.fullmatch(r"[a-z_][a-z0-9_]*", p) else _quote(p) for p in _UA_PATH
        )
        return [_comparison_observation(path, ordered)]
    if not _KIND.fullmatch(kind):
        raise StixError(f"signature {signature_id}: indicator kind {kind!r} is not a name")
    return [_observation(REQUEST_SCO, (kind,), ordered)]


def _observation(sco: str, path: tuple[str, ...], values: Iterable[str]) -> str:
    return _comparison_observation(f"{sco}:{'.'.join(path)}", sorted(set(values)))


def _comparison_observation(path: str, values: list[str]) -> str:
    if len(values) == 1:
        return f"[{path} = {_quote(values[0])}]"
    return f"[{path} IN ({', '.join(map(_quote, values))})]"


def _quote(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _number(value: float) -> str:
    if not math.isfinite(value):
        raise StixError(f"threshold {value!r} is not a finite number")
    text = f"{value:.10f}".rstrip("0")
    return text + "0" if text.endswith(".") else text


def _behaviour_rules(
    signature_id: str, behaviour: dict[str, float]
) -> list[tuple[str, str, float]]:
    rules = {}
    for key, bound in behaviour.items():
        try:
            op, metric, value = behaviour_rule(signature_id, key, bound)
        except ValueError as error:
            raise StixError(str(error)) from error
        rules[(metric, op)] = value
    return [(op, metric, bound) for (metric, op), bound in sorted(rules.items())]


# ----------------------------------------------------------------------------- import


def bundle_to_signatures(data: bytes, limits: ImportLimits | None = None) -> list[Signature]:
    """The signatures of an untrusted STIX 2.1 bundle; revoked indicators become tombstones.

    Raises StixError naming the object and the problem for anything it refuses; a bundle is
    taken whole or not at all.
    """
    limits = limits or ImportLimits()
    if len(data) > limits.max_bytes:
        raise StixError(f"bundle is {len(data)} bytes; the limit is {limits.max_bytes}")
    try:
        bundle = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise StixError(f"bundle is not JSON: {exc}") from None
    if not isinstance(bundle, dict) or bundle.get("type") != "bundle":
        raise StixError("top-level value is not a STIX bundle (an object with type 'bundle')")
    unknown = sorted(set(bundle) - {"type", "id", "objects", "spec_version"})
    if unknown:
        raise StixError(f"bundle: unexpected properties {unknown}")
    objects = bundle.get("objects")
    if not isinstance(objects, list) or not objects:
        raise StixError("bundle: 'objects' must be a non-empty list")
    if len(objects) > limits.max_objects:
        raise StixError(f"bundle holds {len(objects)} objects; the limit is {limits.max_objects}")
    for index, obj in enumerate(objects):
        _validate_object(index, obj)
    identities = {o["id"]: o for o in objects if o["type"] == "identity"}
    signatures: list[Signature] = []
    seen: dict[str, str] = {}
    for obj in objects:
        if obj["type"] != "indicator":
            continue
        sig = _indicator_signature(obj, identities, limits)
        if sig.signature_id in seen:
            raise StixError(
                f"indicator {obj['id']}: signature id {sig.signature_id!r} is also used by "
                f"{seen[sig.signature_id]}"
            )
        seen[sig.signature_id] = obj["id"]
        signatures.append(sig)
    if not signatures:
        raise StixError("bundle holds no indicator")
    return signatures


def _validate_object(index: int, obj: Any) -> None:
    import stix2
    from stix2.exceptions import STIXError

    if not isinstance(obj, dict):
        raise StixError(f"objects[{index}] is not a JSON object")
    name = obj.get("id") if isinstance(obj.get("id"), str) else f"objects[{index}]"
    kind = obj.get("type")
    if kind not in ACCEPTED_TYPES:
        raise StixError(
            f"{name}: type {kind!r} is not accepted; a signature bundle holds "
            f"{', '.join(ACCEPTED_TYPES)} objects"
        )
    if obj.get("spec_version") != "2.1":
        raise StixError(f"{name}: spec_version must be '2.1'")
    try:
        stix2.parse(obj, allow_custom=False, version="2.1")
    except (STIXError, ValueError, TypeError, KeyError) as exc:
        raise StixError(f"{name}: {exc}") from None


def _indicator_signature(
    obj: dict[str, Any], identities: dict[str, dict[str, Any]], limits: ImportLimits
) -> Signature:
    from streams.wire.codecs import decode_signature, encode

    name = obj["id"]
    if obj.get("pattern_type") != "stix":
        raise StixError(f"{name}: pattern_type {obj.get('pattern_type')!r} is not 'stix'")
    creator = obj.get("created_by_ref")
    if creator not in identities:
        raise StixError(f"{name}: created_by_ref must name an identity in the bundle (provenance)")
    if "confidence" not in obj:
        raise StixError(f"{name}: confidence is required")
    references = [
        r.get("external_id")
        for r in obj.get("external_references", ())
        if r.get("source_name") == REFERENCE_SOURCE
    ]
    signature_id = references[0] if references and references[0] else name
    fields = _pattern_fields(name, obj["pattern"], limits)
    valid_from = parse_timestamp(obj["valid_from"])
    valid_until = obj.get("valid_until")
    sig = Signature(
        signature_id=signature_id,
        source=identities[creator]["name"],
        confidence=obj["confidence"] / 100,
        description=obj.get("description", ""),
        deleted=bool(obj.get("revoked", False)),
        valid_from=None if valid_from == _EPOCH else valid_from,
        valid_until=None if valid_until is None else parse_timestamp(valid_until),
        **fields,
    )
    # The signature record's own contract (lengths, names, ...) and the detector's checks
    # (regexes, networks, metrics), so nothing reaches the topic that a worker would refuse.
    try:
        decoded = decode_signature(encode(sig))
    except (ValueError, TypeError) as exc:
        raise StixError(f"{name}: {exc}") from None
    if not isinstance(decoded, Signature):
        raise StixError(f"{name}: {decoded.reason}: {decoded.detail}")
    try:
        CompiledSignature(decoded)
    except ValueError as exc:
        raise StixError(f"{name}: {exc}") from None
    return decoded


def _pattern_fields(name: str, pattern: str, limits: ImportLimits) -> dict[str, Any]:
    from stix2 import patterns as P
    from stix2.pattern_visitor import create_pattern_object

    try:
        tree = create_pattern_object(pattern, version="2.1")
    except Exception as exc:
        raise StixError(f"{name}: pattern does not parse: {exc}") from None
    walker = _PatternWalker(name, limits)
    if isinstance(tree, P.AndObservationExpression):
        parts = list(tree.operands)
        behaviour = [p for p in parts if walker.is_behaviour(p)]
        if len(parts) != 2 or len(behaviour) != 1:
            raise StixError(
                f"{name}: an AND of observations must be (indicators) AND [{ACCOUNT_SCO} "
                "thresholds]"
            )
        walker.behaviour(behaviour[0])
        walker.indicators(next(p for p in parts if p is not behaviour[0]))
    elif walker.is_behaviour(tree):
        walker.behaviour(tree)
    else:
        walker.indicators(tree)
    return walker.fields()


class _PatternWalker:
    """Collects signature fields from a whitelisted subset of the STIX pattern grammar."""

    def __init__(self, name: str, limits: ImportLimits) -> None:
        self.name = name
        self.limits = limits
        self.templates: set[str] = set()
        self.patterns: set[str] = set()
        self.infrastructure: dict[str, set[str]] = {}
        self.thresholds: dict[str, float] = {}

    def fail(self, problem: str) -> StixError:
        return StixError(f"{self.name}: {problem}")

    def fields(self) -> dict[str, Any]:
        return {
            "template_hashes": tuple(sorted(self.templates)),
            "prompt_patterns": tuple(sorted(self.patterns)),
            "infrastructure": {k: tuple(sorted(v)) for k, v in sorted(self.infrastructure.items())},
            "behaviour": dict(sorted(self.thresholds.items())),
        }

    def is_behaviour(self, node: Any) -> bool:
        from stix2 import patterns as P

        return isinstance(node, P.ObservationExpression) and getattr(
            node.operand, "root_types", set()
        ) == {ACCOUNT_SCO}

    def behaviour(self, node: Any) -> None:
        from stix2 import patterns as P

        expr = node.operand
        comparisons = expr.operands if isinstance(expr, P.AndBooleanExpression) else [expr]
        for comparison in comparisons:
            if comparison.negated or comparison.operator not in (">=", "<="):
                raise self.fail(f"{ACCOUNT_SCO} thresholds use >= or <= (got {comparison})")
            path = _path(comparison.lhs)
            if len(path) != 2 or path[1] not in BEHAVIOUR_METRICS:
                raise self.fail(f"unknown account metric {'.'.join(path[1:])!r}")
            value = comparison.rhs.value
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise self.fail(f"threshold of {path[1]} is not a number")
            key = f"{'min' if comparison.operator == '>=' else 'max'}_{path[1]}"
            self.thresholds[key] = float(value)

    def indicators(self, node: Any) -> None:
        from stix2 import patterns as P

        if isinstance(node, P.ParentheticalExpression):
            self.indicators(node.expression)
        elif isinstance(node, P.OrObservationExpression):
            for operand in node.operands:
                self.indicators(operand)
        elif isinstance(node, P.ObservationExpression):
            self.observation(node.operand)
        else:
            raise self.fail(
                f"{type(node).__name__} is not supported; indicators are observations joined "
                "by OR (no FOLLOWEDBY, qualifiers or AND of indicators)"
            )

    def observation(self, expr: Any) -> None:
        from stix2 import patterns as P

        if isinstance(expr, P.OrBooleanExpression):
            for operand in expr.operands:
                self.observation(operand)
            return
        if isinstance(expr, P.ParentheticalExpression):
            self.observation(expr.expression)
            return
        if not isinstance(
            expr,
            P.EqualityComparisonExpression
            | P.InComparisonExpression
            | P.IsSubsetComparisonExpression
            | P.MatchesComparisonExpression,
        ):
            raise self.fail(
                f"comparison {type(expr).__name__} is not supported inside an indicator "
                "observation (use =, IN, ISSUBSET or MATCHES joined by OR)"
            )
        if expr.negated:
            raise self.fail("negated comparisons are not supported")
        self.comparison(_path(expr.lhs), expr.operator, _values(expr.rhs, self.fail))

    def comparison(self, path: tuple[str, ...], op: str, values: list[Any]) -> None:
        sco = path[0]
        if sco == TEMPLATE_SCO and path[1:] == ("template_id",) and op in ("=", "IN"):
            self.templates.update(_strings(values, self.fail))
        elif sco == PROMPT_SCO and path[1:] == ("text",) and op == "MATCHES":
            if not self.limits.allow_regex:
                raise self.fail(
                    "prompt regular expressions are refused by default (they run on every "
                    "prompt); allow them explicitly to import this indicator"
                )
            self.patterns.update(_strings(values, self.fail))
        elif sco == "autonomous-system" and path[1:] == ("number",) and op in ("=", "IN"):
            if not all(isinstance(v, int) and not isinstance(v, bool) for v in values):
                raise self.fail("autonomous-system:number takes integers")
            self._infra("asn", [str(v) for v in values])
        elif sco in ("ipv4-addr", "ipv6-addr") and path[1:] == ("value",):
            if op in ("=", "IN"):
                self._infra("ip", _strings(values, self.fail))
            elif op == "ISSUBSET":
                self._infra("ip_prefix", _strings(values, self.fail))
            else:
                raise self.fail(f"{sco}:value takes =, IN or ISSUBSET, not {op}")
        elif sco == "network-traffic" and path[1:] == _UA_PATH and op in ("=", "IN"):
            self._infra("user_agent", _strings(values, self.fail))
        elif sco == REQUEST_SCO and len(path) == 2 and op in ("=", "IN"):
            if not _KIND.fullmatch(path[1]) or path[1] in ("asn", "ip", "ip_prefix", "user_agent"):
                raise self.fail(f"{REQUEST_SCO}:{path[1]} is not an indicator kind")
            self._infra(path[1], _strings(values, self.fail))
        else:
            raise self.fail(f"unsupported comparison {':'.join((sco, '.'.join(path[1:])))} {op}")

    def _infra(self, kind: str, values: list[str]) -> None:
        self.infrastructure.setdefault(kind, set()).update(values)


def _path(object_path: Any) -> tuple[str, ...]:
    return (
        object_path.object_type_name,
        *(_unescape(str(c.property_name)) for c in object_path.property_path),
    )


def _values(constant: Any, fail: Any) -> list[Any]:
    from stix2 import patterns as P

    items = constant.value if isinstance(constant, P.ListConstant) else [constant]
    out = []
    for item in items:
        if isinstance(item, P.StringConstant):
            out.append(_unescape(item.value))
        elif isinstance(item, P.IntegerConstant):
            out.append(int(item.value))
        else:
            raise fail(f"constant {type(item).__name__} is not supported")
    return out


def _strings(values: list[Any], fail: Any) -> list[str]:
    if not all(isinstance(v, str) for v in values):
        raise fail("expected string constants")
    return list(values)


def _unescape(text: str) -> str:
    """Undo STIX string-literal escaping (``\\'`` and ``\\\\``), which the parser keeps."""
    return re.sub(r"\\(['\\])", r"\1", text)
