"""The service under faults: killed workers, a broker that goes away, late events.

Every run ends with the same alerts as a forensic replay of the same requests topic: the
uninterrupted reference (``service.harness.reference``).  Kill points are drawn from a seed
printed by the test (``DISTILLWATCH_FAULT_SEED`` replays one).
"""

from __future__ import annotations

import os
import random
import signal
import time
from dataclasses import replace

import pytest

from agents.kafka.clients import make_admin
from agents.settings import KafkaSecurity, ServiceSettings
from streams.config import DetectorConfig
from streams.wire.codecs import decode_alert, decode_dead_letter
from tests.service.harness import Deployment, reference, scrape, wait_applied_to_end
from tests.service.own_broker import own_broker
from tests.service.test_service import DEADLINE, alert_records, assert_same_as_replay

pytestmark = [pytest.mark.service, pytest.mark.faults]

KILLS = 3


def distinct(records) -> int:
    """Distinct (alert id, revision) pairs among alert records: a restart may repeat some."""
    return len({(a.alert_id, a.revision) for a in (decode_alert(r[3]) for r in records)})


def test_workers_killed_at_random_points_end_with_the_uninterrupted_alerts(deployment, traffic):
    """The whole stream is on the topic first: a partition that caught up stays caught up
    (records arriving later with older event times are the documented limit of equivalence).
    """
    seed = int(os.environ.get("DISTILLWATCH_FAULT_SEED") or random.SystemRandom().randrange(2**32))
    print(f"\nDISTILLWATCH_FAULT_SEED={seed}")
    rng = random.Random(seed)
    events = traffic.events
    deployment.produce(events)
    expected = reference(deployment, len(events))
    points = sorted(rng.uniform(0.05, 0.9) for _ in range(KILLS))
    app_id = f"svc-{deployment.run}-kills"
    for n, share in enumerate(points):
        worker = deployment.start_worker(app_id, f"killed{n}")
        target = max(1, int(share * len(expected.alerts)))
        deployment.read("alerts", lambda r, target=target: distinct(r) >= target, DEADLINE)
        delay = rng.uniform(0.0, 0.5)
        time.sleep(delay)
        deployment.stop(worker, signal.SIGKILL)
        print(
            f"kill {n}: after {target} of {len(expected.alerts)} alert revisions (+{delay:.2f} s)"
        )
    last = deployment.start_worker(app_id, "last")
    records = alert_records(deployment, {(a.alert_id, a.revision) for a in expected.alerts})
    # the same alert ids, revisions and members as the uninterrupted run
    assert_same_as_replay(records, expected.alerts)
    # nothing skipped: every partition applied to its end, as the broker counts it
    applied, ends = wait_applied_to_end(deployment, last, 30)
    assert applied == ends, f"applied {applied} of {ends}\n{deployment.logs()}"
    assert "distillwatch_stalled_partitions 0.0" in scrape(last)


def test_a_worker_killed_after_committing_but_before_checkpointing_is_applied_on_restart(
    deployment, traffic
):
    """The exact step that once left partitions unapplied: the group's committed offsets
    reached every partition's end, the state checkpoints did not (the first worker never
    writes one).  Had the next worker resumed at the committed offset, no record would arrive
    and the input after the checkpoint would never be applied: it must resume at the
    checkpoint."""
    events = traffic.events
    deployment.produce(events)
    expected = reference(deployment, len(events))
    app_id = f"svc-{deployment.run}-gap"
    never = {"DISTILLWATCH_SERVICE__CHECKPOINT_INTERVAL_S": "86400"}
    first = deployment.start_worker(app_id, "uncheckpointed", never)
    ends = deployment.end_offsets("requests")
    deadline = time.monotonic() + DEADLINE
    while deployment.committed(ServiceSettings(app_id=app_id).requests_group, "requests") != ends:
        assert time.monotonic() < deadline, f"offsets not committed\n{deployment.logs()}"
        time.sleep(0.25)
    deployment.stop(first, signal.SIGKILL)
    state = deployment.read("account_state", lambda r: False, 2)
    assert state == [], "a checkpoint was written: the kill is not at the step under test"

    second = deployment.start_worker(app_id, "restarted")
    applied, ends = wait_applied_to_end(deployment, second, 60)
    assert applied == ends, f"applied {applied} of {ends}\n{deployment.logs()}"
    records = alert_records(deployment, {(a.alert_id, a.revision) for a in expected.alerts})
    assert_same_as_replay(records, expected.alerts)


def test_the_worker_resumes_by_itself_when_the_broker_comes_back(tmp_path, traffic):
    """The whole stream is on the topic before the worker starts (as for the kill test), and
    the broker goes away at the first alert, while most of the stream is still unread."""
    security = KafkaSecurity()  # the test's own broker listens in plaintext
    with own_broker(tmp_path) as broker:
        deployment = Deployment(
            broker.bootstrap, make_admin(broker.bootstrap, security), tmp_path, security=security
        )
        deployment.create()
        deployment.env["DISTILLWATCH_KAFKA__SECURITY_PROTOCOL"] = "PLAINTEXT"
        try:
            deployment.produce(traffic.events)
            expected = reference(deployment, len(traffic.events))
            worker = deployment.start_worker(f"svc-{deployment.run}-outage", "outage")
            before = deployment.read("alerts", lambda r: len(r) >= 1, DEADLINE)
            started = time.monotonic()
            broker.stop()
            time.sleep(2.0)  # the worker's session and fetches fail meanwhile
            broker.start()
            print(f"\nbroker away for {time.monotonic() - started:.1f} s")
            assert distinct(before) < len(expected.alerts), "the stream ended before the outage"
            records = alert_records(deployment, {(a.alert_id, a.revision) for a in expected.alerts})
            assert_same_as_replay(records, expected.alerts)
            assert worker.poll() is None, "the worker exited instead of waiting for the broker"
            assert len(deployment.workers) == 1  # resumed by itself: nobody restarted it
        finally:
            deployment.delete()


def test_late_events_are_processed_in_event_time_or_dead_lettered_with_a_count(deployment, traffic):
    events = traffic.events
    lateness = 120.0
    rng = random.Random(5)
    shuffled = []
    late_beyond = []
    for i, event in enumerate(events):
        if i % 97 == 0 and 500 < i < len(events) - 2000:  # held back in transit for minutes
            late_beyond.append(replace(event, event_id=f"{event.event_id}-late"))
        if i % 53 == 0:  # jittered within the lateness
            event = replace(event, ts=event.ts - rng.uniform(0.0, lateness / 2))
        shuffled.append(event)
    # the late copies arrive at the end, far behind the stream's event time
    stream = shuffled + late_beyond
    deployment.env["DISTILLWATCH_DETECTOR__MAX_LATENESS_S"] = str(lateness)
    config = DetectorConfig(max_lateness_s=lateness)
    deployment.produce(stream)
    expected = reference(deployment, len(stream), config)
    worker = deployment.start_worker(f"svc-{deployment.run}-late", "late")
    records = alert_records(deployment, {(a.alert_id, a.revision) for a in expected.alerts})
    assert_same_as_replay(records, expected.alerts)
    late = [d for d in expected.dead_letters if d.reason == "late_event"]
    assert len(late) == len(late_beyond)
    dead = deployment.read("dead_letters", lambda r: len(r) >= len(late), 60)
    letters = [decode_dead_letter(r[3]) for r in dead]
    assert sorted((d.source_partition, d.source_offset) for d in letters) == sorted(
        (d.source_partition, d.source_offset) for d in late
    )
    assert all(d.reason == "late_event" and "behind" in d.detail for d in letters)
    metrics = scrape(worker)
    assert f'distillwatch_dead_letters_total{{reason="late_event"}} {float(len(late))}' in metrics
    assert f"distillwatch_events_total {float(expected.events)}" in metrics
