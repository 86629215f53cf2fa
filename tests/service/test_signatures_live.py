"""Shared signatures reach a running worker through the compacted topic, without a restart."""

from __future__ import annotations

import time

import pytest

from agents.kafka.clients import make_producer
from streams.records import Signature
from streams.wire.codecs import decode_alert, encode

pytestmark = pytest.mark.service


def _wait_for_log(worker, text: str, deadline_s: float) -> None:
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        if text in worker.log_path.read_text(errors="replace"):
            return
        assert worker.poll() is None, worker.log_path.read_text(errors="replace")[-3000:]
        time.sleep(0.2)
    raise AssertionError(f"{text!r} not in {worker.log_path}")


def test_a_signature_published_while_running_is_hot_loaded_and_matched(deployment, traffic):
    worker = deployment.start_worker(f"svc-{deployment.run}-sig", "sig")
    _wait_for_log(worker, "signatures loaded", 60)

    attackers = {a for a, label in traffic.labels.items() if label == "attack"}
    target = min(
        e.payment_fingerprint
        for e in traffic.events
        if e.account_id in attackers and e.payment_fingerprint
    )
    carriers = {e.account_id for e in traffic.events if e.payment_fingerprint == target}
    signature = Signature(
        signature_id="sig-live-card",
        source="partner-lab",
        confidence=0.9,
        infrastructure={"payment_fingerprint": (target,)},
        description="card seen funding a distillation fleet",
    )
    producer = make_producer(deployment.bootstrap)
    producer.produce(deployment.topics["signatures"], encode(signature), b"sig-live-card")
    assert producer.flush(30) == 0
    _wait_for_log(worker, "signature sig-live-card applied", 30)

    deployment.produce(traffic.events)

    def matched(records) -> bool:
        named = {
            account
            for alert in map(decode_alert, (r[3] for r in records))
            if alert.kind == "signature_match" and "sig-live-card" in alert.signatures
            for account in alert.accounts
        }
        return carriers <= named

    records = deployment.read("alerts", matched, 150)
    assert matched(records)
    signature_alerts = [
        a for a in map(decode_alert, (r[3] for r in records)) if a.kind == "signature_match"
    ]
    assert {acc for a in signature_alerts for acc in a.accounts} <= carriers
