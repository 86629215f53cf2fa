"""Detection-quality scoring on hand-built alert sets with known answers."""

from __future__ import annotations

import math

import pytest

from streams.errors import CodecError
from streams.records import Alert
from streams.simulation import simulate
from streams.simulation.evaluation import alerts_from_jsonl, evaluate, nearest_rank
from streams.timeparse import format_timestamp, parse_timestamp
from streams.wire.codecs import encode

START = parse_timestamp("2025-03-04T12:00:00Z")
X_START = START + 1800
Y_START = START + 3600


def _entry(label: str, population: str, campaign: str | None = None) -> dict[str, object]:
    return {"label": label, "population": population, "campaign": campaign, "tactic": "t"}


LABELS = {
    "scenario": "hand",
    "seed": 0,
    "start": format_timestamp(START),
    "hours": 2.0,
    "accounts": {
        "x1": _entry("attack", "wrapper_farm", "X"),
        "x2": _entry("attack", "wrapper_farm", "X"),
        "x3": _entry("attack", "wrapper_farm", "X"),
        "y1": _entry("attack", "harvest_farm", "Y"),
        "b1": _entry("benign", "ordinary_user"),
        "b2": _entry("benign", "ordinary_user"),
        "b3": _entry("benign", "chat_backend"),
        "b4": _entry("benign", "ordinary_user"),
        "h1": _entry("hard_negative", "eval_harness"),
        "h2": _entry("hard_negative", "nat_company"),
    },
    "campaigns": {
        "X": {"start": format_timestamp(X_START), "tactics": ["a"], "accounts": 3},
        "Y": {"start": format_timestamp(Y_START), "tactics": ["b"], "accounts": 1},
    },
}


def _alert(
    alert_id: str, ts: float, *accounts: str, kind: str = "coordinated_cluster", revision: int = 1
) -> Alert:
    return Alert(
        alert_id=alert_id,
        revision=revision,
        ts=ts,
        kind=kind,
        severity="high",
        score=0.9,
        accounts=tuple(accounts),
        cluster_id=None,
        evidence={},
    )


def test_metrics_on_a_hand_built_alert_set() -> None:
    alerts = [
        _alert("c1", X_START + 300, "x1", "b1"),
        _alert("c1", X_START + 120, "x2", revision=2),
        _alert("t1", X_START + 900, "h1", "x1", kind="template_campaign"),
    ]
    result = evaluate(alerts, LABELS)
    # flagged: x1, x2 (attack), b1 (benign), h1 (hard negative)
    assert result["counts"] == {
        "tp": 2,
        "fp": 2,
        "fn": 2,
        "tn": 4,
        "accounts_by_label": {"attack": 4, "benign": 4, "hard_negative": 2},
        "flagged_by_label": {"attack": 2, "benign": 1, "hard_negative": 1},
        "unknown_accounts_flagged": 0,
    }
    assert result["precision"] == 0.5
    assert result["recall"] == 0.5
    assert result["f1"] == 0.5
    assert result["benign_fpr"] == 0.25
    assert result["hard_negative_fpr"] == 0.5
    assert result["campaign_recall"] == {"X": pytest.approx(2 / 3), "Y": 0.0}
    assert result["campaigns"]["X"]["ttd_s"] == pytest.approx(120.0)
    assert result["campaigns"]["Y"]["ttd_s"] is None
    # nearest rank over [120, inf]: half the campaigns were caught by 120 s, 90 % never
    assert result["median_ttd_s"] == pytest.approx(120.0)
    assert result["p90_ttd_s"] is None
    assert result["false_positives_by_population"] == {"eval_harness": 1, "ordinary_user": 1}
    assert result["populations"]["ordinary_user"] == {"accounts": 3, "flagged": 1}
    assert result["alerts"] == {
        "records": 3,
        "distinct": 2,
        "by_kind": {"coordinated_cluster": 1, "template_campaign": 1},
        "records_per_finding": {"mean": 1.5, "max": 2},
        "largest_findings": [{"alert_id": "c1", "records": 2}, {"alert_id": "t1", "records": 1}],
    }
    # the earliest alert naming X's accounts is c1 revision 2 (event time X_START + 120)
    assert result["campaigns"]["X"]["first_alert"] == format_timestamp(X_START + 120)
    assert result["campaigns"]["Y"]["first_alert"] is None
    assert result["fpr_by_population"] == {
        "chat_backend": 0.0,
        "eval_harness": 1.0,
        "nat_company": 0.0,
        "ordinary_user": pytest.approx(1 / 3),
    }
    assert result["targets"]["f1"] == {"value": 0.5, "min": 0.97, "met": False}
    assert result["targets"]["p90_ttd_s"]["met"] is False  # Y never detected
    assert result["targets"]["records_per_finding_max"] == {"value": 2, "max": 40.0, "met": True}


def test_perfect_detection() -> None:
    alerts = [_alert("a", X_START + 10, "x1", "x2", "x3"), _alert("b", Y_START + 40, "y1")]
    result = evaluate(alerts, LABELS)
    assert (result["precision"], result["recall"], result["f1"]) == (1.0, 1.0, 1.0)
    assert (result["benign_fpr"], result["hard_negative_fpr"]) == (0.0, 0.0)
    assert result["campaign_recall"] == {"X": 1.0, "Y": 1.0}
    assert result["median_ttd_s"] == pytest.approx(10.0)
    assert result["p90_ttd_s"] == pytest.approx(40.0)
    assert all(row["met"] for row in result["targets"].values())


def test_no_alerts_scores_zero_without_dividing_by_zero() -> None:
    result = evaluate([], LABELS)
    assert (result["precision"], result["recall"], result["f1"]) == (0.0, 0.0, 0.0)
    assert result["counts"]["tn"] == 6
    assert result["median_ttd_s"] is None and result["p90_ttd_s"] is None
    assert result["alerts"] == {
        "records": 0,
        "distinct": 0,
        "by_kind": {},
        "records_per_finding": {"mean": 0.0, "max": 0},
        "largest_findings": [],
    }
    assert result["targets"]["min_campaign_recall"]["met"] is False


def test_alert_before_campaign_start_counts_as_immediate_and_unknown_accounts_are_reported() -> (
    None
):
    result = evaluate([_alert("early", X_START - 50, "x1", "ghost")], LABELS)
    assert result["campaigns"]["X"]["ttd_s"] == 0.0
    assert result["counts"]["unknown_accounts_flagged"] == 1
    assert result["counts"]["fp"] == 0


def test_nearest_rank() -> None:
    assert nearest_rank([5.0, 1.0, 3.0], 0.5) == 3.0
    assert nearest_rank([5.0, 1.0, 3.0], 0.9) == 5.0
    assert nearest_rank([4.0, 2.0], 0.5) == 2.0
    assert nearest_rank([1.0, math.inf], 0.9) == math.inf
    assert nearest_rank([], 0.5) == math.inf


def test_alerts_from_jsonl_round_trips_and_names_the_bad_line() -> None:
    alerts = [_alert("a", X_START, "x1"), _alert("b", Y_START, "y1", kind="account_extraction")]
    lines = [encode(a) + b"\n" for a in alerts]
    assert alerts_from_jsonl([lines[0], b"\n", lines[1]]) == alerts
    with pytest.raises(CodecError, match="line 2"):
        alerts_from_jsonl([lines[0], b'{"schema": "alert.v1"}\n'])


def test_scoring_a_simulation_flagging_exactly_its_attackers() -> None:
    sim = simulate("small", seed=4)
    attackers = [a for a, e in sim.labels["accounts"].items() if e["label"] == "attack"]
    last = max(e.ts for e in sim.events)
    result = evaluate([_alert("all", last, *attackers)], sim.labels)
    assert (result["precision"], result["recall"]) == (1.0, 1.0)
    assert result["counts"]["fp"] == 0
    assert set(result["campaign_recall"]) == set(sim.labels["campaigns"])
