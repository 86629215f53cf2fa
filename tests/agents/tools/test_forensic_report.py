"""The forensic report of one alert, rebuilt from a replay of recorded requests (no broker)."""

from __future__ import annotations

import re
from types import SimpleNamespace

import pytest

from agents.tools.demo import _forensic_reports
from agents.tools.replay import replay_records
from agents.tools.report import alert_revisions, forensic_report, render_html
from streams.config import DetectorConfig
from streams.detector import Detector
from streams.wire.codecs import encode
from tests.support.core_traffic import generate


@pytest.fixture(scope="module")
def recorded():
    traffic = generate(seed=5, duration=1800.0, benign=40, campaign_size=12)
    records = [encode(e) for e in traffic.events]
    return traffic, records, replay_records(records, 4).alerts


def test_a_trimmed_replay_still_reproduces_the_finding(recorded):
    traffic, records, alerts = recorded
    cluster = max((a for a in alerts if a.kind == "coordinated_cluster"), key=lambda a: a.revision)
    html = forensic_report(
        cluster, records, 4, Detector(), 1800.0, alert_revisions(alerts, cluster.alert_id)
    )
    assert f"reproduced revisions 1..{cluster.revision}" in html
    assert "<svg" in html and all(a in html for a in cluster.accounts)
    assert "<script" not in html
    assert not any(e.prompt and e.prompt[:30] in html for e in traffic.events[:300])


def test_a_replay_that_misses_the_finding_says_so(recorded):
    _traffic, records, alerts = recorded
    cluster = next(a for a in alerts if a.kind == "coordinated_cluster")
    revisions = alert_revisions(alerts, cluster.alert_id)
    html = forensic_report(cluster, records[:10], 4, Detector(), 0.0, revisions)
    assert "did not reproduce this alert" in html and cluster.alert_id in html


def test_the_demo_report_links_the_forensic_report(recorded, tmp_path):
    traffic, _records, alerts = recorded
    report = tmp_path / "demo.html"
    settings = SimpleNamespace(detector=DetectorConfig())
    links = _forensic_reports(alerts, traffic.events, 4, settings, report)
    ((alert_id, name),) = links.items()
    assert alert_id in name
    assert (tmp_path / name).read_text().count("<svg") == 2
    assert f"href='{name}'" in render_html(alerts, None, "t", links)


PYTHON_REPRS = re.compile(r"\{'|\['|\bNone\b|\bTrue\b|\bFalse\b|\d\.\d{5,}|\binf\b|\bnan\b")


def _text(html: str) -> str:
    """What a reader sees: the document without tags and SVG coordinates."""
    return re.sub(r"<[^>]+>", " ", re.sub(r"<svg.*?</svg>", " ", html, flags=re.S))


def test_reports_show_no_python_reprs(recorded, tmp_path):
    traffic, _records, alerts = recorded
    scores = {
        "precision": 0.9403973509933775,
        "recall": 1.0,
        "f1": 0.969,
        "benign_fpr": 0.0,
        "hard_negative_fpr": 0.0012345678,
        "campaign_recall": {"A": 0.8888888889},
        "median_ttd_s": 150.25,
        "p90_ttd_s": None,
    }
    settings = SimpleNamespace(detector=DetectorConfig())
    links = _forensic_reports(alerts, traffic.events, 4, settings, tmp_path / "demo.html")
    forensic = (tmp_path / next(iter(links.values()))).read_text()
    pages = [render_html(alerts, scores, "t", links), forensic]
    for page in pages:
        shown = _text(page)
        assert not PYTHON_REPRS.findall(shown), PYTHON_REPRS.findall(shown)[:5]
        assert "—" in shown  # a missing baseline is a dash
    assert "94.0 %" in _text(pages[0]) and "2 min 30 s" in _text(pages[0])
