"""Forensic replay and evaluation over files: the same core path, deterministic, nothing lost."""

from __future__ import annotations

import argparse
import gzip
import json
import math
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path

import pytest

from agents.cli import evaluate as evaluate_cmd
from agents.kafka.topics import partition_for
from agents.tools.replay import read_jsonl, replay_records
from agents.tools.report import latest_revisions, render_html
from streams.detector import Detector
from streams.errors import CodecError
from streams.records import Alert, RequestEvent, Suppression
from streams.simulation import simulate
from streams.simulation.evaluation import HEADLINE_KEYS
from streams.wire.codecs import encode

PARTITIONS = 8


@pytest.fixture(scope="module")
def small() -> tuple[list, dict]:
    sim = simulate("small", 3)
    return sim.events, sim.labels


def canonical_order(events: Iterable[tuple[int, int, RequestEvent]]) -> list[RequestEvent]:
    """The service's processing order of events given as (partition, offset, event), modelled
    directly: ``(order_ts, account_id, offset)`` where ``order_ts`` is the running maximum of
    event time in the event's partition (``agents.stages.account``)."""
    keyed: list[tuple[float, str, int, RequestEvent]] = []
    watermark: dict[int, float] = {}
    for partition, offset, event in sorted(events, key=lambda r: (r[0], r[1])):
        wm = max(watermark.get(partition, -math.inf), event.ts)
        watermark[partition] = wm
        keyed.append((wm, event.account_id, offset, event))
    keyed.sort(key=lambda k: k[:3])
    return [k[3] for k in keyed]


def _write(path: Path, lines: list[bytes]) -> Path:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "wb") as out:
        out.write(b"\n".join(lines) + b"\n")
    return path


def test_file_replay_feeds_the_detector_in_the_services_order(small, tmp_path):
    events, _ = small
    path = _write(tmp_path / "events.jsonl.gz", [encode(e) for e in events])
    result = replay_records(read_jsonl(path), PARTITIONS)
    placed = [(partition_for(e.account_id, PARTITIONS), i, e) for i, e in enumerate(events)]
    direct = Detector().process_many(canonical_order(placed))
    assert result.events == len(events)
    assert [encode(a) for a in result.alerts] == [encode(o) for o in direct if isinstance(o, Alert)]
    assert [encode(a) for a in result.actions] == [
        encode(o) for o in direct if not isinstance(o, Alert)
    ]
    assert result.alerts, "the small scenario holds campaigns; replay must find some"


def test_the_service_order_keeps_each_partitions_order_and_merges_by_its_progress(small):
    def event(account: str, ts: float) -> RequestEvent:
        return replace(small[0][0], account_id=account, ts=ts)

    late_in_p0 = event("a", 5.0)
    placed = [
        (0, 0, event("a", 10.0)),
        (0, 1, late_in_p0),  # late record: it keeps its place after the ts=10 record of p0
        (1, 0, event("b", 7.0)),
        (1, 1, event("c", 12.0)),
    ]
    order = canonical_order(reversed(placed))
    assert [(e.account_id, e.ts) for e in order] == [
        ("b", 7.0),
        ("a", 10.0),
        ("a", 5.0),
        ("c", 12.0),
    ]


def test_bad_lines_become_dead_letters_with_their_line_number(small, tmp_path):
    events, _ = small
    lines = [encode(e) for e in events[:50]]
    lines.insert(10, b"{not json")
    wrong = json.loads(lines[0])
    wrong["event_id"] = 3
    lines.insert(20, json.dumps(wrong).encode())
    result = replay_records(read_jsonl(_write(tmp_path / "bad.jsonl", lines)), PARTITIONS)
    assert result.events == 50
    assert [(d.reason, d.source_offset) for d in result.dead_letters] == [
        ("malformed_json", 11),
        ("wrong_type", 21),
    ]
    assert result.dead_letters[0].original == b"{not json"


def test_evaluate_command_prints_scores_and_replay_counts(small, tmp_path, capsys):
    events, labels = small
    events_path = _write(tmp_path / "events.jsonl", [encode(e) for e in events])
    labels_path = tmp_path / "labels.json"
    labels_path.write_text(json.dumps(labels))
    alerts_path = tmp_path / "alerts.jsonl"
    args = argparse.Namespace(
        events=events_path, labels=labels_path, alerts=alerts_path, suppressions=None
    )
    assert evaluate_cmd.run(args) == 0
    report = json.loads(capsys.readouterr().out)
    assert set(HEADLINE_KEYS) <= set(report)
    assert report["replay"]["events"] == len(events)
    assert report["replay"]["alert_records"] == len(alerts_path.read_bytes().splitlines())
    assert report["suppressed"]["accounts"] == 0


def test_evaluate_honours_suppressions_and_counts_them_apart(small, tmp_path, capsys):
    events, labels = small
    events_path = _write(tmp_path / "events.jsonl", [encode(e) for e in events])
    labels_path = tmp_path / "labels.json"
    labels_path.write_text(json.dumps(labels))
    plain = [o for o in Detector().process_many(events) if isinstance(o, Alert)]
    cluster = next(a for a in plain if a.kind == "coordinated_cluster")
    dismissed = Suppression("sup-1", cluster.ts - 3600.0, cluster.ts + 86400.0, cluster.accounts)
    suppressions = _write(tmp_path / "suppressions.jsonl", [encode(dismissed)])
    args = argparse.Namespace(
        events=events_path, labels=labels_path, alerts=None, suppressions=suppressions
    )
    assert evaluate_cmd.run(args) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["suppressed"]["accounts"] == len(cluster.accounts)
    assert sum(report["suppressed"]["by_label"].values()) == len(cluster.accounts)
    bad = _write(tmp_path / "bad.jsonl", [b'{"schema": "suppression.v1"}'])
    with pytest.raises(CodecError, match="line 1"):
        evaluate_cmd.run(argparse.Namespace(**{**vars(args), "suppressions": bad}))


def test_report_shows_each_finding_once_at_its_latest_revision(small):
    events, _ = small
    alerts = [o for o in Detector().process_many(events) if isinstance(o, Alert)]
    latest, history = latest_revisions(alerts)
    assert len(latest) == len({a.alert_id for a in alerts})
    assert all(a.revision == history[a.alert_id][-1].revision for a in latest)
    page = render_html(alerts, {"precision": 1.0, "campaign_recall": {"A": 1.0}}, "<t>")
    assert page.count("<h2 id=") == len(latest)
    assert "&lt;t&gt;" in page and "<t>" not in page
