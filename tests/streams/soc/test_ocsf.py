"""Alerts mapped to OCSF Detection Findings satisfy the real class definition.

The class is resolved from the vendored upstream files (schemas/vendor/ocsf) the way the
OCSF schema compiler does it: the ``extends`` chain (detection_finding -> finding ->
base_event), each level's ``$include`` files, profile attributes that only count when the
event applies the profile, ``"profile": null`` overrides, attribute types from the
dictionary and, for object-typed attributes, the object's own chain and constraints.
Nothing below lists the required attributes by hand.
"""

from __future__ import annotations

import copy
import json
from functools import cache
from pathlib import Path
from typing import Any

import orjson
import pytest

from streams.detector import Detector
from streams.records import Alert
from streams.soc.ocsf import CLASS_UID, OCSF_VERSION, detection_finding
from streams.timeparse import format_timestamp
from tests.support.core_traffic import generate

OCSF = Path(__file__).resolve().parents[3] / "schemas" / "vendor" / "ocsf"
SCALARS = {
    "integer_t": int,
    "long_t": int,
    "timestamp_t": int,
    "string_t": str,
    "float_t": (int, float),
    "boolean_t": bool,
}


@cache
def _load(relative: str) -> dict[str, Any]:
    return json.loads((OCSF / relative).read_text())


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _own_attributes(definition: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """A definition's attributes with its ``$include`` files merged under its own entries."""
    attributes = dict(definition.get("attributes", {}))
    merged: dict[str, dict[str, Any]] = {}
    for include in attributes.pop("$include", []):
        included = _load(include)
        profile = included["name"] if included.get("meta") == "profile" else None
        for name, attribute in included["attributes"].items():
            attribute = dict(attribute)
            if profile is not None:
                attribute.setdefault("profile", profile)
            merged[name] = _merge(merged.get(name, {}), attribute)
    for name, attribute in attributes.items():
        merged[name] = _merge(merged.get(name, {}), attribute)
    return merged


@cache
def resolve(kind: str, name: str) -> dict[str, Any]:
    """A class (kind 'events') or object (kind 'objects') with its whole extends chain."""
    path = next(
        p.relative_to(OCSF).as_posix()
        for p in sorted((OCSF / kind).rglob(f"{name}.json"))
        if _load(p.relative_to(OCSF).as_posix())["name"] == name
    )
    definition = _load(path)
    parent = resolve(kind, definition["extends"]) if "extends" in definition else {}
    attributes = copy.deepcopy(parent.get("attributes", {}))
    for attr, spec in _own_attributes(definition).items():
        attributes[attr] = _merge(attributes.get(attr, {}), spec)
    return {
        "name": name,
        "uid": definition.get("uid"),
        "category": definition.get("category", parent.get("category")),
        "attributes": attributes,
        "constraints": definition.get("constraints", parent.get("constraints", {})),
        "profiles": sorted({*parent.get("profiles", ()), *definition.get("profiles", ())}),
    }


def required(definition: dict[str, Any], applied_profiles: set[str]) -> set[str]:
    return {
        name
        for name, spec in definition["attributes"].items()
        if spec.get("requirement") == "required"
        and (spec.get("profile") is None or spec["profile"] in applied_profiles)
    }


def dictionary_type(attribute: str) -> tuple[str, bool]:
    entry = _load("dictionary.json")["attributes"][attribute]
    return entry["type"], entry.get("is_array", False)


def check_object(definition: dict[str, Any], value: dict[str, Any], where: str) -> None:
    """Every required attribute present with its dictionary type, recursively; constraints hold."""
    applied = set(value.get("metadata", {}).get("profiles", ()))
    unknown = set(value) - set(definition["attributes"])
    assert not unknown, f"{where}: attributes not in OCSF {definition['name']}: {unknown}"
    for attribute in sorted(required(definition, applied)):
        assert attribute in value, f"{where}.{attribute} is required by {definition['name']}"
        kind, is_array = dictionary_type(attribute)
        items = value[attribute] if is_array else [value[attribute]]
        for item in items:
            if kind in SCALARS:
                assert isinstance(item, SCALARS[kind]) and not (
                    kind != "boolean_t" and isinstance(item, bool)
                ), f"{where}.{attribute} must be {kind}, got {item!r}"
            elif kind == "object":
                assert isinstance(item, dict)
            else:
                check_object(resolve("objects", kind), item, f"{where}.{attribute}")
    at_least_one = definition["constraints"].get("at_least_one")
    if at_least_one:
        assert any(k in value for k in at_least_one), f"{where}: needs one of {at_least_one}"


def _alerts() -> list[Alert]:
    traffic = generate(seed=5, duration=1800.0, benign=40, campaign_size=12)
    detector = Detector()
    out = detector.process_many(traffic.events)
    out += detector.advance_to(traffic.events[-1].ts + 3600)
    return [o for o in out if isinstance(o, Alert)]


@pytest.fixture(scope="module")
def alerts() -> list[Alert]:
    found = _alerts()
    assert "coordinated_cluster" in {a.kind for a in found}
    span = {"first": 1.7e9, "last": 1.7e9 + 60}
    return [
        *found,
        Alert(
            "tem-1",
            3,
            1.7e9 + 60,
            "template_campaign",
            "medium",
            0.6,
            ("a", "b"),
            None,
            {"shared_templates": [{"template_id": "w-1", "accounts": 2}], "time_span": span},
        ),
        Alert(
            "sig-1",
            1,
            1.7e9 + 60,
            "signature_match",
            "critical",
            0.95,
            ("a",),
            None,
            {"infrastructure": {"matched_indicators": ["asn:7001"]}, "time_span": span},
            ("learned-x",),
        ),
    ]


def test_the_class_chain_resolves_from_the_vendored_definitions():
    finding = resolve("events", "detection_finding")
    categories = _load("categories.json")["attributes"]
    assert categories[finding["category"]]["uid"] * 1000 + finding["uid"] == CLASS_UID
    # Required attributes come from every level: base_event (metadata, time, ...) and
    # finding (finding_info); profile attributes count only when the profile is applied.
    plain = required(finding, set())
    assert {"metadata", "time", "class_uid", "finding_info"} <= plain
    assert "cloud" not in plain and "osint" not in plain
    assert required(finding, {"cloud"}) == plain | {"cloud"}
    # "profile": null in the class takes an attribute out of its profile.
    assert finding["attributes"]["confidence_id"].get("profile") is None
    assert finding["attributes"]["confidence_id"]["requirement"] == "recommended"


def test_every_alert_revision_is_a_valid_detection_finding(alerts):
    definition = resolve("events", "detection_finding")
    enums = definition["attributes"]
    dictionary = _load("dictionary.json")["attributes"]
    for alert in alerts:
        finding = orjson.loads(orjson.dumps(detection_finding(alert, "0.1.0")))
        check_object(definition, finding, alert.alert_id)
        assert set(finding["metadata"]["profiles"]) <= set(definition["profiles"])
        for nested, object_name in (
            ("metadata", "metadata"),
            ("finding_info", "finding_info"),
        ):
            check_object(resolve("objects", object_name), finding[nested], nested)
        check_object(resolve("objects", "product"), finding["metadata"]["product"], "product")
        assert finding["class_uid"] == CLASS_UID
        assert str(finding["activity_id"]) in enums["activity_id"]["enum"]
        assert finding["type_uid"] == finding["class_uid"] * 100 + finding["activity_id"]
        assert str(finding["severity_id"]) in dictionary["severity_id"]["enum"]
        assert (
            dictionary["severity_id"]["enum"][str(finding["severity_id"])]["caption"]
            == finding["severity"]
        )
        assert str(finding["confidence_id"]) in dictionary["confidence_id"]["enum"]
        assert str(finding["status_id"]) in enums["status_id"]["enum"]
        assert finding["metadata"]["version"] == OCSF_VERSION


def test_identity_times_members_and_evidence_are_kept(alerts):
    alert = max(alerts, key=lambda a: (a.kind == "coordinated_cluster", a.revision))
    finding = detection_finding(alert)
    assert finding["finding_info"]["uid"] == alert.alert_id
    assert finding["metadata"]["uid"] == f"{alert.alert_id}:{alert.revision}"
    assert finding["activity_id"] == (1 if alert.revision == 1 else 2)
    assert finding["time"] == round(alert.ts * 1000)
    span = alert.evidence["time_span"]
    assert (finding["start_time"], finding["end_time"]) == (
        round(span["first"] * 1000),
        round(span["last"] * 1000),
    )
    assert [r["uid"] for r in finding["resources"]] == list(alert.accounts)
    kept = finding["unmapped"]["distillwatch"]["evidence"]
    assert kept["time_span"]["first"] == format_timestamp(span["first"])
    assert {k: v for k, v in kept.items() if k != "time_span"} == {
        k: v for k, v in alert.evidence.items() if k != "time_span"
    }
    first = next(a for a in alerts if a.revision == 1)
    assert detection_finding(first)["activity_name"] == "Create"


@pytest.mark.parametrize(
    ("severity", "severity_id"), [("low", 2), ("medium", 3), ("high", 4), ("critical", 5)]
)
def test_severity_mapping(severity, severity_id):
    alert = Alert("a-1", 1, 1.7e9, "account_extraction", severity, 0.5, ("x",), None, {})
    assert detection_finding(alert)["severity_id"] == severity_id


def test_the_check_fails_when_any_required_attribute_is_missing(alerts):
    """The checker itself is strict: dropping any required attribute, at any depth, fails it."""
    definition = resolve("events", "detection_finding")
    finding = detection_finding(alerts[0])
    for attribute in sorted(required(definition, set())):
        broken = copy.deepcopy(finding)
        del broken[attribute]
        with pytest.raises(AssertionError, match=attribute):
            check_object(definition, broken, "finding")
    broken = copy.deepcopy(finding)
    del broken["metadata"]["product"]["name"], broken["metadata"]["product"]["uid"]
    with pytest.raises(AssertionError, match="needs one of"):
        check_object(definition, broken, "finding")
    broken = copy.deepcopy(finding)
    broken["verdict_of_the_day"] = "x"
    with pytest.raises(AssertionError, match="not in OCSF"):
        check_object(definition, broken, "finding")
