"""The composed detector: determinism, restart from a snapshot, stable ids, bounded state."""

from __future__ import annotations

import dataclasses

import pytest

from streams.config import DetectorConfig
from streams.detector import Detector
from streams.records import Action, Alert
from streams.wire.codecs import decode_alert, encode
from tests.support.core_traffic import generate


@pytest.fixture(scope="module")
def traffic():
    return generate(seed=5, duration=1800.0, benign=120, campaign_size=10)


def run(events, config: DetectorConfig | None = None) -> list[Alert | Action]:
    det = Detector(config)
    out = det.process_many(events)
    return out + det.advance_to(events[-1].ts + 3600.0)


def test_same_events_give_byte_identical_alerts(traffic):
    first = run(traffic.events)
    second = run(traffic.events)
    assert any(isinstance(o, Alert) for o in first)
    assert [encode(o) for o in first] == [encode(o) for o in second]


def test_alerts_are_valid_wire_records_without_prompt_text(traffic):
    alerts = [o for o in run(traffic.events) if isinstance(o, Alert)]
    prompts = {e.prompt for e in traffic.events[:200]}
    for alert in alerts:
        wire = encode(alert)
        assert decode_alert(wire).alert_id == alert.alert_id
        text = wire.decode()
        assert not any(p and p in text for p in prompts)


def test_restore_mid_stream_continues_with_the_same_alerts(traffic):
    events = traffic.events
    cut = len(events) // 2
    whole = Detector()
    head = whole.process_many(events[:cut])
    tail = whole.process_many(events[cut:]) + whole.advance_to(events[-1].ts + 3600.0)

    first = Detector()
    head_again = first.process_many(events[:cut])
    restored = Detector.restore(first.snapshot())
    tail_again = restored.process_many(events[cut:]) + restored.advance_to(events[-1].ts + 3600.0)
    assert [encode(o) for o in head_again] == [encode(o) for o in head]
    assert [encode(o) for o in tail_again] == [encode(o) for o in tail]
    # every stage of the core ends in the same state (template sketches are checked by
    # their own tests: a t-digest may re-serialise its merge buffer differently)
    for name in ("profiler", "frequency", "similarity", "clusters", "signatures"):
        stage_a, stage_b = getattr(restored, name), getattr(whole, name)
        if name == "profiler":
            assert {k: s.to_bytes() for k, s in stage_a.states.items()} == {
                k: s.to_bytes() for k, s in stage_b.states.items()
            }
        else:
            assert stage_a.to_bytes() == stage_b.to_bytes()


def test_alert_ids_name_findings_and_revisions_grow(traffic):
    alerts = [o for o in run(traffic.events) if isinstance(o, Alert)]
    by_id: dict[str, list[Alert]] = {}
    for alert in alerts:
        by_id.setdefault(alert.alert_id, []).append(alert)
    for revisions in by_id.values():
        assert [a.revision for a in revisions] == list(range(1, len(revisions) + 1))
        assert len({(a.kind, a.cluster_id) for a in revisions}) == 1
    clusters = [a for a in alerts if a.kind == "coordinated_cluster"]
    assert clusters and all(a.cluster_id for a in clusters)


def test_idle_state_is_evicted_on_the_watermark(traffic):
    config = dataclasses.replace(
        DetectorConfig(), account_ttl_s=600.0, bucket_ttl_s=600.0, edge_ttl_s=600.0
    )
    det = Detector(config)
    det.process_many(traffic.events)
    assert det.profiler.states
    det.advance_to(traffic.events[-1].ts + 10_000.0)
    assert not det.profiler.states
    assert not det.similarity.buckets
    assert not det.clusters.edges


def test_fingerprint_from_a_gateway_on_other_settings_is_counted_not_dropped(traffic):
    from streams.records import PromptFingerprint

    event = dataclasses.replace(
        traffic.events[0],
        prompt=None,
        prompt_fingerprint=PromptFingerprint("w-deadbeef", (1, 2, 3)),
    )
    det = Detector()
    det.process(event)
    assert det.counters["fingerprint_mismatch"] == 1
    assert det.profiler.states[event.account_id].n == 1


def assert_revisions_count_up(out: list[Alert | Action]) -> set[str]:
    by_id: dict[str, list[int]] = {}
    for alert in out:
        if isinstance(alert, Alert):
            by_id.setdefault(alert.alert_id, []).append(alert.revision)
    for alert_id, revisions in by_id.items():
        assert revisions == list(range(1, len(revisions) + 1)), alert_id
    return {alert_id[:3] for alert_id in by_id}


def test_every_alert_counts_its_revisions_up_across_splits_merges_and_restarts():
    # this traffic splits a cluster so that the part keeping its founders is the smaller one
    events = generate(seed=3, duration=2700.0, benign=150, campaign_size=25).events
    whole = run(events)
    assert {"coo", "tem", "acc"} <= assert_revisions_count_up(whole)
    for cut in (len(events) // 3, 2 * len(events) // 3):
        first = Detector()
        head = first.process_many(events[:cut])
        restored = Detector.restore(first.snapshot())
        tail = restored.process_many(events[cut:]) + restored.advance_to(events[-1].ts + 3600.0)
        assert [encode(o) for o in head + tail] == [encode(o) for o in whole]
