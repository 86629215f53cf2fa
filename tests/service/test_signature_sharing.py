"""Two labs, two deployments: a cluster confirmed in lab A is caught by lab B's running worker.

Lab A (its own topics) holds the alerts of its own traffic; an analyst runs
``signatures learn`` on two confirmed clusters and ``signatures export --format stix``.
Lab B (other topics, other state, a worker already running) runs ``signatures import`` on the
file; the worker applies the signatures without a restart and raises ``signature_match``
alerts on B's own traffic: the same campaigns, different accounts, cards and proxies, a day
later.  Exporting from B gives back A's bundle byte for byte.
"""

from __future__ import annotations

import os
import subprocess
import sys

import orjson
import pytest

from agents.kafka.clients import make_producer
from streams.detector import Detector
from streams.wire.codecs import decode_alert, encode
from tests.service.harness import REPO, Deployment
from tests.service.test_signatures_live import _wait_for_log
from tests.streams.soc.test_learning import confirmed, final_alerts, relabel
from tests.support.core_traffic import DAY, generate

pytestmark = pytest.mark.service


def cli(deployment: Deployment, *argv: str, lab: str) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        **deployment.env,
        "DISTILLWATCH_BOOTSTRAP_SERVERS": deployment.bootstrap,
        "DISTILLWATCH_SOC__LAB_NAME": lab,
    }
    return subprocess.run(
        [sys.executable, "-m", "agents.cli", *argv],
        cwd=REPO,
        env=env,
        capture_output=True,
        timeout=120,
        check=False,
    )


def test_a_signature_learned_in_lab_a_detects_the_campaign_in_lab_b(
    kafka_bootstrap, kafka_admin, tmp_path
):
    lab_a = Deployment(kafka_bootstrap, kafka_admin, tmp_path / "a")
    lab_b = Deployment(kafka_bootstrap, kafka_admin, tmp_path / "b")
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    try:
        lab_a.create()
        lab_b.create()
        # Lab A: its detector's findings on its own traffic, published like a worker does.
        traffic_a = generate(seed=11, duration=2000.0, benign=60, campaign_size=15)
        alerts_a = final_alerts(Detector(), traffic_a.events)
        producer = make_producer(kafka_bootstrap)
        for alert in alerts_a.values():
            producer.produce(
                lab_a.topics["alerts"], key=alert.alert_id.encode(), value=encode(alert)
            )
        assert producer.flush(30) == 0
        clusters = [a for a in alerts_a.values() if a.kind == "coordinated_cluster"]
        chosen = [confirmed(clusters, campaign) for campaign in ("wrap", "harv")]
        for cluster in chosen:
            learned = cli(lab_a, "signatures", "learn", "--alert", cluster.alert_id, lab="lab-a")
            assert learned.returncode == 0, learned.stderr.decode()
        bundle = tmp_path / "lab-a.stix.json"
        exported = cli(
            lab_a, "signatures", "export", "--format", "stix", "--output", str(bundle), lab="lab-a"
        )
        assert exported.returncode == 0, exported.stderr.decode()
        assert orjson.loads(exported.stderr.splitlines()[-1]) == {"exported": 2}

        # Lab B: a running worker, then the partner's file.
        worker = lab_b.start_worker(f"svc-{lab_b.run}-share", "share")
        _wait_for_log(worker, "signatures loaded", 90)
        imported = cli(lab_b, "signatures", "import", str(bundle), lab="lab-b")
        assert imported.returncode == 0, imported.stderr.decode()
        ids = orjson.loads(imported.stdout)["signatures"]
        assert sorted(ids) == sorted(f"learned-{c.alert_id}" for c in chosen)
        for signature_id in ids:
            _wait_for_log(worker, f"signature {signature_id} applied", 60)

        events_b, labels_b = relabel(
            generate(seed=12, duration=2000.0, benign=60, campaign_size=15), "b-", DAY
        )
        lab_b.produce(events_b)
        campaigns = {
            f"learned-{c.alert_id}": {a for a in labels_b if a.startswith(f"b-{name}")}
            for c, name in zip(chosen, ("wrap", "harv"), strict=True)
        }

        def named(records) -> dict[str, set[str]]:
            out: dict[str, set[str]] = {k: set() for k in campaigns}
            for alert in map(decode_alert, (r[3] for r in records)):
                if alert.kind == "signature_match":
                    for signature_id in alert.signatures:
                        out.setdefault(signature_id, set()).update(alert.accounts)
            return out

        def done(records) -> bool:
            found = named(records)
            return all(len(found[k]) >= 0.8 * len(v) for k, v in campaigns.items())

        records = lab_b.read("alerts", done, 180)
        found = named(records)
        for signature_id, accounts in campaigns.items():
            assert found[signature_id] <= accounts, found[signature_id] - accounts
            assert len(found[signature_id]) >= 0.8 * len(accounts), (signature_id, found)

        # Export -> import -> export is stable across the two labs' topics.
        again = tmp_path / "lab-b.stix.json"
        reexported = cli(lab_b, "signatures", "export", "--output", str(again), lab="lab-b")
        assert reexported.returncode == 0, reexported.stderr.decode()
        assert again.read_bytes() == bundle.read_bytes()
    finally:
        lab_b.delete()
        lab_a.delete()


def test_a_refused_file_exits_2_and_publishes_nothing(deployment, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_bytes(b'{"type": "bundle", "id": "bundle--1", "objects": [{"type": "malware"}]}')
    result = cli(deployment, "signatures", "import", str(bad), lab="lab-b")
    assert result.returncode == 2
    assert b"type 'malware' is not accepted" in result.stderr
    assert deployment.read("signatures", lambda r: False, 3) == []
