"""Signatures as STIX 2.1 bundles: valid STIX out, a stable round trip, strict refusals."""

from __future__ import annotations

import copy
import dataclasses

import orjson
import pytest
import stix2
from stix2patterns.validator import run_validator

from streams.errors import StixError
from streams.records import Signature
from streams.soc.stix import (
    ImportLimits,
    bundle_bytes,
    bundle_to_signatures,
    signature_pattern,
    signatures_to_bundle,
)

T0 = 1_767_225_600.0

SIGNATURES = [
    Signature(
        "learned-coo-1",
        "lab-a",
        0.84,
        template_hashes=("w-04bd4b190143acf9",),
        infrastructure={"user_agent": ("python-httpx/0.27.0 harvest/1.3",)},
        behaviour={"min_structured_share": 0.5, "max_account_age_days": 60.0},
        description="Learned from confirmed coordinated_cluster coo-1.",
        valid_from=T0,
        valid_until=T0 + 90 * 86400,
    ),
    Signature(
        "sig-infra",
        "partner's lab",
        0.873,
        infrastructure={
            "asn": ("7001", "64500"),
            "ip_prefix": ("203.0.113.0/24", "2001:db8::/32"),
            "ip": ("198.51.100.7",),
            "payment_fingerprint": ("card'1\\x",),
            "model": ("gpt-4o",),
        },
    ),
    Signature("sig-behaviour", "lab-a", 0.6, behaviour={"structured_output_ratio": 0.9}),
    Signature("sig-re", "lab-a", 0.7, prompt_patterns=(r"(?i)distil+ation set \d+",)),
    Signature("sig-gone", "lab-a", 0.7, template_hashes=("t",), deleted=True),
]
ALLOW = ImportLimits(allow_regex=True)


def export(signatures=SIGNATURES) -> bytes:
    return bundle_bytes(signatures_to_bundle(signatures))


def test_export_is_valid_stix_2_1():
    bundle = orjson.loads(export())
    parsed = stix2.parse(bundle, allow_custom=False, version="2.1")
    kinds = sorted(o.type for o in parsed.objects)
    assert kinds.count("indicator") == 4  # the tombstone is not exported
    assert "extension-definition" in kinds
    for indicator in (o for o in bundle["objects"] if o["type"] == "indicator"):
        assert run_validator(indicator["pattern"], stix_version="2.1") == []
        creator = next(o for o in bundle["objects"] if o["id"] == indicator["created_by_ref"])
        assert creator["type"] == "identity"
        assert 0 <= indicator["confidence"] <= 100


def test_patterns_use_standard_observables_where_they_exist():
    pattern = signature_pattern(SIGNATURES[1])
    assert "[autonomous-system:number IN (7001, 64500)]" in pattern
    assert "[ipv4-addr:value ISSUBSET '203.0.113.0/24']" in pattern
    assert "[ipv6-addr:value ISSUBSET '2001:db8::/32']" in pattern
    assert "[x-distillwatch-api-request:payment_fingerprint = 'card\\'1\\\\x']" in pattern
    learned = signature_pattern(SIGNATURES[0])
    assert learned.startswith("([x-distillwatch-prompt-template:template_id = 'w-04bd")
    assert "'User-Agent' = 'python-httpx/0.27.0 harvest/1.3'" in learned
    assert learned.endswith(
        "AND [x-distillwatch-account:account_age_days <= 60.0 AND "
        "x-distillwatch-account:structured_share >= 0.5]"
    )


def test_round_trip_export_import_export_is_stable():
    first = export()
    imported = bundle_to_signatures(first, ALLOW)
    assert export(imported) == first
    by_id = {s.signature_id: s for s in imported}
    learned = by_id["learned-coo-1"]
    assert (learned.valid_from, learned.valid_until) == (T0, T0 + 90 * 86400)
    assert learned.source == "lab-a" and learned.confidence == 0.84
    assert learned.behaviour == {"max_account_age_days": 60.0, "min_structured_share": 0.5}
    assert by_id["sig-infra"].infrastructure["payment_fingerprint"] == ("card'1\\x",)
    assert by_id["sig-infra"].source == "partner's lab"
    assert by_id["sig-behaviour"].behaviour == {"min_structured_share": 0.9}
    assert by_id["sig-re"].prompt_patterns == SIGNATURES[3].prompt_patterns


def test_revoked_indicators_become_tombstones():
    bundle = orjson.loads(export(SIGNATURES[:1]))
    for obj in bundle["objects"]:
        if obj["type"] == "indicator":
            obj["revoked"] = True
    (sig,) = bundle_to_signatures(orjson.dumps(bundle))
    assert sig.deleted and sig.signature_id == "learned-coo-1"


def test_a_foreign_indicator_keeps_its_stix_id_as_signature_id():
    bundle = orjson.loads(export(SIGNATURES[1:2]))
    indicator = next(o for o in bundle["objects"] if o["type"] == "indicator")
    del indicator["external_references"]
    (sig,) = bundle_to_signatures(orjson.dumps(bundle))
    assert sig.signature_id == indicator["id"]
    assert orjson.loads(export([sig]))["objects"][-1]["id"] == indicator["id"]


def _mutated(change) -> bytes:
    bundle = orjson.loads(export(SIGNATURES[:2]))
    indicator = next(o for o in bundle["objects"] if o["type"] == "indicator")
    change(bundle, indicator)
    return orjson.dumps(bundle)


def _pattern(text):
    def change(_bundle, indicator):
        indicator["pattern"] = text

    return change


BAD = {
    "not json": (lambda: b"{nope", "not JSON"),
    "not a bundle": (lambda: b'{"type": "indicator"}', "not a STIX bundle"),
    "unknown type": (
        lambda: _mutated(
            lambda b, _i: b["objects"].append(
                {"type": "malware", "spec_version": "2.1", "id": "malware--1"}
            )
        ),
        "type 'malware' is not accepted",
    ),
    "custom property": (
        lambda: _mutated(lambda _b, i: i.update(x_run_this="rm -rf /")),
        "Unexpected properties",
    ),
    "bad pattern syntax": (
        lambda: _mutated(_pattern("[autonomous-system:number = ")),
        "pattern",
    ),
    "followedby": (
        lambda: _mutated(
            _pattern("[autonomous-system:number = 1] FOLLOWEDBY [autonomous-system:number = 2]")
        ),
        "FollowedByObservationExpression is not supported",
    ),
    "qualifier": (
        lambda: _mutated(_pattern("[autonomous-system:number = 1] REPEATS 5 TIMES")),
        "not supported",
    ),
    "negation": (
        lambda: _mutated(_pattern("[autonomous-system:number NOT = 1]")),
        "negated",
    ),
    "unsupported object": (
        lambda: _mutated(_pattern("[file:name = 'evil.exe']")),
        "unsupported comparison file:name",
    ),
    "unknown metric": (
        lambda: _mutated(_pattern("[x-distillwatch-account:vibes >= 1.0]")),
        "unknown account metric 'vibes'",
    ),
    "regex not allowed": (
        lambda: _mutated(_pattern("[x-distillwatch-prompt:text MATCHES 'a+']")),
        "regular expressions are refused",
    ),
    "bad network": (
        lambda: _mutated(_pattern("[ipv4-addr:value ISSUBSET '300.0.0.0/8']")),
        "300.0.0.0/8",
    ),
    "no provenance": (
        lambda: _mutated(lambda _b, i: i.pop("created_by_ref")),
        "created_by_ref",
    ),
    "no confidence": (lambda: _mutated(lambda _b, i: i.pop("confidence")), "confidence"),
    "other pattern language": (
        lambda: _mutated(lambda _b, i: i.update(pattern_type="sigma")),
        "pattern_type 'sigma'",
    ),
    "window backwards": (
        lambda: _mutated(lambda _b, i: i.update(valid_until="2025-01-01T00:00:00Z")),
        "valid_until",
    ),
    "duplicate id": (
        lambda: _mutated(
            lambda b, i: b["objects"].append({**copy.deepcopy(i), "id": i["id"][:-4] + "0000"})
        ),
        "is also used by",
    ),
    "too long a value": (
        lambda: _mutated(_pattern(f"[x-distillwatch-api-request:model = '{'m' * 5000}']")),
        "invalid_value",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_bundles_are_refused_with_the_object_and_problem_named(case):
    make, message = BAD[case]
    with pytest.raises(StixError, match=message) as error:
        bundle_to_signatures(make())
    if case not in ("not json", "not a bundle"):
        assert "--" in str(error.value)  # names the STIX object


def test_size_and_count_bounds_come_first():
    data = export()
    with pytest.raises(StixError, match="bytes; the limit is 100"):
        bundle_to_signatures(data, ImportLimits(max_bytes=100))
    with pytest.raises(StixError, match="objects; the limit is 2"):
        bundle_to_signatures(data, ImportLimits(max_objects=2))


def test_an_import_cannot_replace_or_retract_another_sources_signature():
    from agents.cli.signatures import conflicts

    ours = Signature("learned-coo-1", "lab-b", 0.8, template_hashes=("t",))
    theirs = bundle_to_signatures(export(SIGNATURES[:1]))  # same id, source lab-a
    assert conflicts([ours], theirs) == [
        "'learned-coo-1' from 'lab-a' would replace the one published by 'lab-b'"
    ]
    revoked = [dataclasses.replace(theirs[0], deleted=True)]
    assert "would retract" in conflicts([ours], revoked)[0]
    assert conflicts([dataclasses.replace(ours, source="lab-a")], theirs) == []
