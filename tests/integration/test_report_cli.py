"""``distillwatch report --alert``: a forensic report rebuilt from a replay of the topic."""

from __future__ import annotations

import pytest

from agents.cli import build_parser
from agents.cli import report as report_cli
from agents.kafka.clients import make_producer
from agents.kafka.reader import read_records
from agents.tools.replay import replay_records
from streams.wire.codecs import encode
from tests.support.core_traffic import generate

pytestmark = pytest.mark.kafka


def test_report_of_a_cluster_from_a_replay_of_its_range(kafka_bootstrap, make_topic, tmp_path):
    requests, alerts = make_topic(partitions=4), make_topic(partitions=2)
    traffic = generate(seed=5, duration=1800.0, benign=40, campaign_size=12)
    producer = make_producer(kafka_bootstrap)
    for event in traffic.events:
        producer.produce(requests, key=event.account_id.encode(), value=encode(event))
        producer.poll(0)
    assert producer.flush(30) == 0
    # What the service published for this topic: the replay of it in canonical order.
    raws = [
        (r.value, requests, r.partition, r.offset) for r in read_records(kafka_bootstrap, requests)
    ]
    published = replay_records(raws, partitions=4).alerts
    for alert in published:
        producer.produce(alerts, key=alert.alert_id.encode(), value=encode(alert))
    assert producer.flush(30) == 0
    cluster = max(
        (a for a in published if a.kind == "coordinated_cluster"),
        key=lambda a: (a.revision, a.alert_id),
    )

    output = tmp_path / "report.html"
    args = build_parser().parse_args(
        [
            "report",
            "--alert",
            cluster.alert_id,
            "--requests-topic",
            requests,
            "--alerts-topic",
            alerts,
            "--output",
            str(output),
        ]
    )
    assert report_cli.run(args) == 0
    html = output.read_text()
    assert f"reproduced revisions 1..{cluster.revision}" in html
    assert html.count("<svg") == 2  # timeline plot and similarity graph
    assert all(account in html for account in cluster.accounts)
    for section in (
        "Timeline",
        "Members",
        "Shared templates",
        "Infrastructure overlap",
        "Similarity graph",
    ):
        assert f"<h2>{section}" in html
    assert "<script" not in html and "http://" not in html.replace("http://www.w3.org", "")
    assert not any(e.prompt and e.prompt[:40] in html for e in traffic.events[:200])

    missing = build_parser().parse_args(
        ["report", "--alert", "coo-nope", "--alerts-topic", alerts, "--output", str(output)]
    )
    assert report_cli.run(missing) == 2
