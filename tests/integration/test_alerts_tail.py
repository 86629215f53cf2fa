"""``distillwatch alerts tail`` on the real broker: read back, filters, formats, follow."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import time
from pathlib import Path

import orjson
import pytest

from agents.cli import alerts as alerts_cli
from agents.cli import build_parser
from agents.kafka.clients import make_producer
from streams.records import Alert
from streams.wire.codecs import encode

pytestmark = pytest.mark.kafka

REPO = Path(__file__).resolve().parents[2]
T0 = 1_767_225_600.0
SPAN = {"first": T0, "last": T0 + 600}


def alert(alert_id: str, revision: int, kind: str, severity: str, score: float) -> Alert:
    return Alert(
        alert_id,
        revision,
        T0 + 60 * revision,
        kind,
        severity,
        score,
        ("acct-1", "acct-2"),
        "cl-1" if kind == "coordinated_cluster" else None,
        {"time_span": SPAN, "shared_templates": [{"template_id": "w-1", "pairs": 1}]},
        ("learned-x",) if kind == "signature_match" else (),
    )


ALERTS = [
    alert("coo-a", 1, "coordinated_cluster", "medium", 0.6),
    alert("coo-a", 2, "coordinated_cluster", "high", 0.82),
    alert("sig-b", 1, "signature_match", "critical", 0.95),
    alert("tem-c", 1, "template_campaign", "low", 0.3),
]


def publish(bootstrap: str, topic: str, alerts: list[Alert], garbage: bool = False) -> None:
    producer = make_producer(bootstrap)
    for a in alerts:
        producer.produce(topic, key=a.alert_id.encode(), value=encode(a))
    if garbage:
        producer.produce(topic, key=b"junk", value=b"{not an alert")
    assert producer.flush(30) == 0


def tail(*argv: str) -> list[bytes]:
    args = build_parser().parse_args(["alerts", "tail", "--no-follow", *argv])
    out = io.BytesIO()
    assert alerts_cli.run(args, out) == 0
    return out.getvalue().splitlines()


def test_read_back_in_every_format_with_filters(kafka_bootstrap, make_topic, capsys):
    topic = make_topic(partitions=2)
    publish(kafka_bootstrap, topic, ALERTS, garbage=True)

    lines = tail("--topic", topic, "--format", "json")
    assert sorted(orjson.loads(x)["alert_id"] for x in lines) == [
        "coo-a",
        "coo-a",
        "sig-b",
        "tem-c",
    ]
    assert "is not an alert: malformed_json" in capsys.readouterr().err

    findings = [orjson.loads(x) for x in tail("--topic", topic, "--format", "ocsf")]
    assert {f["class_uid"] for f in findings} == {2004}
    by_uid = {(f["finding_info"]["uid"], f["activity_id"]) for f in findings}
    assert by_uid == {("coo-a", 1), ("coo-a", 2), ("sig-b", 1), ("tem-c", 1)}

    high = [orjson.loads(x) for x in tail("--topic", topic, "--min-severity", "high")]
    assert sorted((a["alert_id"], a["revision"]) for a in high) == [("coo-a", 2), ("sig-b", 1)]
    only = tail("--topic", topic, "--kind", "signature_match", "--format", "table")
    assert only[0].startswith(b"event time") and len(only) == 2 and b"sig-b" in only[1]


def test_since_reads_back_from_broker_time(kafka_bootstrap, make_topic):
    topic = make_topic()
    producer = make_producer(kafka_bootstrap)
    now_ms = int(time.time() * 1000)
    producer.produce(topic, key=b"old", value=encode(ALERTS[0]), timestamp=now_ms - 3_600_000)
    producer.produce(topic, key=b"new", value=encode(ALERTS[2]), timestamp=now_ms)
    assert producer.flush(30) == 0
    since = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now_ms / 1000 - 600))
    lines = tail("--topic", topic, "--since", since)
    assert [orjson.loads(x)["alert_id"] for x in lines] == ["sig-b"]


def test_follow_prints_alerts_published_after_it_started(kafka_bootstrap, make_topic):
    topic = make_topic()
    env = {**os.environ, "DISTILLWATCH_BOOTSTRAP_SERVERS": kafka_bootstrap}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "agents.cli",
            "alerts",
            "tail",
            "--topic",
            topic,
            "--format",
            "ocsf",
            "--max",
            "2",
        ],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        time.sleep(3)  # let it reach the end of the (empty) topic and wait
        assert process.poll() is None, process.stderr.read()
        publish(kafka_bootstrap, topic, ALERTS[2:])
        out, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, err
    uids = [orjson.loads(x)["finding_info"]["uid"] for x in out.splitlines()]
    assert uids == ["sig-b", "tem-c"]
