"""A signature learned from a confirmed cluster in one lab catches the campaign in another.

Two independent stores of state: lab A's detector sees its own traffic and confirms clusters;
the learned signatures travel as a STIX bundle (bytes only); lab B's detector, which never saw
A's traffic, applies them and finds the same campaigns among different accounts, cards and
proxies a day later.  (tests/service/test_signature_sharing.py does the same across two real
deployments through the CLI.)
"""

from __future__ import annotations

import dataclasses

import pytest

from streams.detector import Detector
from streams.records import Alert
from streams.soc.learning import signature_from_cluster
from streams.soc.stix import bundle_bytes, bundle_to_signatures, signatures_to_bundle
from streams.wire.codecs import encode
from tests.support.core_traffic import DAY, Traffic, generate


def relabel(traffic: Traffic, prefix: str, shift: float) -> tuple[list, dict[str, str]]:
    """Another lab's view of a campaign: its own accounts, orgs, keys and cards, later."""

    def move(e):
        return dataclasses.replace(
            e,
            account_id=prefix + e.account_id,
            org_id=prefix + e.org_id,
            event_id=prefix + e.event_id,
            api_key_id=prefix + e.api_key_id,
            payment_fingerprint=prefix + (e.payment_fingerprint or ""),
            ts=e.ts + shift,
            account_created_at=e.account_created_at + shift,
        )

    return [move(e) for e in traffic.events], {prefix + k: v for k, v in traffic.labels.items()}


def final_alerts(detector: Detector, events: list) -> dict[str, Alert]:
    out = detector.process_many(events) + detector.advance_to(events[-1].ts + 3600)
    latest: dict[str, Alert] = {}
    for o in out:
        if isinstance(o, Alert):
            latest[o.alert_id] = o
    return latest


@pytest.fixture(scope="module")
def lab_a():
    traffic = generate(seed=11, duration=2000.0, benign=60, campaign_size=15)
    clusters = [
        a
        for a in final_alerts(Detector(), traffic.events).values()
        if a.kind == "coordinated_cluster"
    ]
    return clusters


def confirmed(clusters: list[Alert], campaign: str) -> Alert:
    """The analyst confirms the largest cluster made of this campaign's accounts."""
    return max(
        (c for c in clusters if all(a.startswith(campaign) for a in c.accounts)),
        key=lambda c: (len(c.accounts), c.alert_id),
    )


def test_lab_b_detects_the_campaign_lab_a_confirmed(lab_a):
    clusters = lab_a
    learned = [signature_from_cluster(confirmed(clusters, c), "lab-a") for c in ("wrap", "harv")]
    shared = bundle_bytes(signatures_to_bundle(learned))  # all that crosses between the labs

    events_b, labels_b = relabel(
        generate(seed=12, duration=2000.0, benign=60, campaign_size=15), "b-", DAY
    )
    lab_b = Detector()
    for signature in bundle_to_signatures(shared):
        lab_b.apply_signature(signature)
    matches = [a for a in final_alerts(lab_b, events_b).values() if a.kind == "signature_match"]

    for signature, campaign in zip(learned, ("wrap", "harv"), strict=True):
        named = {
            acc for a in matches if signature.signature_id in a.signatures for acc in a.accounts
        }
        campaign_b = {a for a in labels_b if a.startswith(f"b-{campaign}")}
        assert named <= campaign_b, f"{signature.signature_id} flagged {named - campaign_b}"
        assert len(named) >= 0.8 * len(campaign_b), (campaign, len(named), len(campaign_b))
    assert not {a for m in matches for a in m.accounts if labels_b[a] != "attack"}


def test_a_learned_signature_names_no_account_of_lab_a(lab_a):
    clusters = lab_a
    cluster = confirmed(clusters, "wrap")
    signature = signature_from_cluster(cluster, "lab-a")
    wire = encode(signature).decode()
    assert not any(account in wire for account in cluster.accounts)
    assert "pay-wrap" not in wire and "org-wrap" not in wire
    assert signature.template_hashes and signature.behaviour
    span = cluster.evidence["time_span"]
    assert signature.valid_from == span["first"] and signature.valid_until > span["last"]
    assert signature_from_cluster(cluster, "lab-a") == signature  # relearning is idempotent


def test_the_validity_window_bounds_event_time(lab_a):
    clusters = lab_a
    signature = signature_from_cluster(confirmed(clusters, "wrap"), "lab-a")
    early, _ = relabel(
        generate(seed=12, duration=2000.0, benign=60, campaign_size=15), "b-", -2 * DAY
    )
    detector = Detector()
    detector.apply_signature(signature)
    assert not [a for a in final_alerts(detector, early).values() if a.kind == "signature_match"]


def test_only_cluster_findings_teach_signatures():
    alert = Alert("acc-1", 1, 1.7e9, "account_extraction", "high", 0.9, ("a",), None, {})
    with pytest.raises(ValueError, match="learned from coordinated_cluster or template_campaign"):
        signature_from_cluster(alert, "lab-a")
    empty = Alert("coo-1", 1, 1.7e9, "coordinated_cluster", "high", 0.9, ("a", "b"), "c", {})
    with pytest.raises(ValueError, match="would match nothing"):
        signature_from_cluster(empty, "lab-a")


def test_the_window_survives_the_wire_and_a_checkpoint(lab_a):
    from streams.wire.codecs import decode_signature

    signature = signature_from_cluster(confirmed(lab_a, "wrap"), "lab-a")
    assert decode_signature(encode(signature)) == signature
    plain = dataclasses.replace(signature, valid_from=None, valid_until=None)
    assert b"valid_" not in encode(plain)  # signatures without a window keep their bytes
    detector = Detector()
    detector.apply_signature(signature)
    restored = Detector.restore(detector.snapshot())
    assert restored.book.active[signature.signature_id].record == signature
