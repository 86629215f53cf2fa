"""Shared signatures: in-stream matching, hot swap, tombstones and bad signatures."""

from __future__ import annotations

import pytest

from streams.detector import Detector
from streams.errors import SignatureError
from streams.records import Action, Alert, Signature
from tests.streams.stages.test_profile import T0, event

WRAPPED = (
    "Solve the following problem step by step and return JSON with fields reasoning, answer:\n\n"
)


def run(det: Detector, events: list) -> list[Alert | Action]:
    return det.process_many(events)


def traffic(account: str, n: int, start: float = T0, **overrides: object) -> list:
    return [
        event(
            start + 30.0 * i,
            account_id=account,
            org_id=f"org-{account}",
            event_id=f"{account}-{i}",
            **overrides,
        )
        for i in range(n)
    ]


def sig_alerts(out: list[Alert | Action], signature_id: str) -> list[Alert]:
    return [o for o in out if isinstance(o, Alert) and signature_id in o.signatures]


def test_template_signature_matches_and_alert_lists_accounts():
    det = Detector()
    template_id = det.extractor.extract(WRAPPED + "What is 2+2?").template_id
    det.apply_signature(Signature("sig-tpl", "lab-x", 0.9, template_hashes=(template_id,)))
    out = run(det, traffic("a1", 3, prompt=WRAPPED + "Name a prime."))
    out += run(det, traffic("a2", 3, start=T0 + 5, prompt=WRAPPED + "Define entropy."))
    out += det.advance_to(T0 + 600)
    found = sig_alerts(out, "sig-tpl")
    assert found and found[0].kind == "signature_match"
    assert set(found[-1].accounts) == {"a1", "a2"}
    assert found[-1].evidence["shared_templates"] == [template_id]
    assert "prime" not in repr(found[-1])  # evidence names templates, never prompt text
    actions = [o for o in out if isinstance(o, Action) and o.alert_id == found[0].alert_id]
    assert {a.account_id for a in actions} == {"a1", "a2"}


def test_infrastructure_pattern_and_behaviour_indicators():
    det = Detector()
    det.apply_signature(
        Signature("sig-infra", "lab", 0.7, infrastructure={"ip_prefix": ("203.0.113.0/24",)})
    )
    det.apply_signature(Signature("sig-re", "lab", 0.7, prompt_patterns=(r"(?i)distil+ation set",)))
    det.apply_signature(
        Signature(
            "sig-beh", "lab", 0.7, behaviour={"structured_output_ratio": 0.9, "min_events": 5}
        )
    )
    out = run(det, traffic("via-proxy", 2, ip="203.0.113.9"))
    out += run(det, traffic("by-text", 2, prompt="Build my distillation set please"))
    out += run(det, traffic("json-bot", 6, response_format="json_object"))
    out += run(det, traffic("innocent", 6))
    out += det.advance_to(T0 + 1000)
    named = {
        sid: set(sig_alerts(out, sid)[-1].accounts) for sid in ("sig-infra", "sig-re", "sig-beh")
    }
    assert named == {"sig-infra": {"via-proxy"}, "sig-re": {"by-text"}, "sig-beh": {"json-bot"}}


def test_hot_swap_replaces_and_tombstone_retracts():
    det = Detector()
    det.apply_signature(Signature("sig", "lab", 0.6, infrastructure={"asn": ("64501",)}))
    out = run(det, traffic("x1", 1, asn=64501))
    assert sig_alerts(out, "sig")
    det.apply_signature(Signature("sig", "lab", 0.6, infrastructure={"asn": ("64502",)}))
    assert not sig_alerts(run(det, traffic("x2", 2, start=T0 + 10, asn=64501)), "sig")
    assert sig_alerts(run(det, traffic("x3", 1, start=T0 + 20, asn=64502)), "sig")
    det.apply_signature(Signature("sig", "lab", 0.6, deleted=True))
    out = run(det, traffic("x4", 3, start=T0 + 30, asn=64502))
    out += det.advance_to(T0 + 2000)
    assert not sig_alerts(out, "sig")
    assert not det.book.active


def test_high_confidence_signature_blocks():
    det = Detector()
    det.apply_signature(
        Signature("sig-card", "lab", 0.99, infrastructure={"payment_fingerprint": ("card-x",)})
    )
    out = run(det, traffic("payer", 1, payment_fingerprint="card-x"))
    actions = [o for o in out if isinstance(o, Action)]
    assert [a.action for a in actions] == ["block"]


def test_invalid_signature_is_rejected_and_keeps_the_previous_version():
    det = Detector()
    det.apply_signature(Signature("sig", "lab", 0.6, prompt_patterns=("ok",)))
    with pytest.raises(ValueError, match="bad prompt pattern"):
        det.apply_signature(Signature("sig", "lab", 0.6, prompt_patterns=("(unclosed",)))
    with pytest.raises(ValueError, match="unknown behaviour feature"):
        det.apply_signature(Signature("sig", "lab", 0.6, behaviour={"vibes": 1.0}))
    assert det.book.active["sig"].record.prompt_patterns == ("ok",)


def test_a_backtracking_pattern_is_refused_and_the_book_still_matches_the_old_version():
    det = Detector()
    det.apply_signature(Signature("sig", "lab", 0.6, prompt_patterns=("(?i)distil",)))
    with pytest.raises(SignatureError, match="look-around"):
        det.apply_signature(Signature("sig", "lab", 0.6, prompt_patterns=(r"(?=a)b",)))
    out = run(det, traffic("a1", 1, prompt="Distillation set please"))
    assert sig_alerts(out + det.advance_to(T0 + 600), "sig")


def test_unknown_infrastructure_kinds_are_reported_not_matched():
    det = Detector()
    unsupported = det.apply_signature(
        Signature("sig", "lab", 0.6, infrastructure={"ja3": ("abc",), "asn": ("1",)})
    )
    assert unsupported == ("ja3",)


def test_signature_book_survives_a_restart():
    det = Detector()
    det.apply_signature(Signature("sig", "lab", 0.6, infrastructure={"asn": ("64501",)}))
    again = Detector.restore(det.snapshot())
    assert sig_alerts(run(again, traffic("x1", 1, asn=64501)), "sig")
