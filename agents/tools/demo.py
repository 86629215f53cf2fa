"""The whole product on the local broker, in one terminal (``distillwatch demo``).

Starts a worker, streams a seeded scenario (a coordinated campaign hidden in benign and
hard-negative traffic) to the requests topic at an accelerated pace, shows the alerts as the
worker publishes them, then scores them against the scenario's ground truth and writes an
HTML report that links the forensic report (``distillwatch report``) of the strongest cluster.
``make demo`` runs it against a fresh broker of its own, so earlier runs and other work on the
development broker never leak into what it shows.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

from agents.settings import REPO_ROOT
from streams.errors import WorkerStartError


def _health(port: int) -> dict[str, Any] | None:
    import orjson

    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as response:
            return orjson.loads(response.read())
    except OSError:
        return None


def _start_worker(port: int, log_path: Path) -> subprocess.Popen[bytes]:
    log_path.parent.mkdir(parents=True, exist_ok=True)
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "agents.cli",
            "worker",
            "--web-port",
            str(port),
            "--loglevel",
            "warning",
        ],
        stdout=log_path.open("wb"),
        stderr=subprocess.STDOUT,
        cwd=REPO_ROOT,
        env=os.environ.copy(),
    )


def _wait_ready(worker: subprocess.Popen[bytes], port: int, partitions: int, log: Path) -> None:
    """Until the worker owns every requests partition and the coordination stage."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if worker.poll() is not None:
            raise WorkerStartError(f"the worker exited early; see {log}")
        health = _health(port)
        if (
            health
            and health.get("status") == "ok"
            and len(health.get("loaded_request_partitions", ())) == partitions
            and health.get("owns_coordination")
        ):
            return
        time.sleep(0.5)
    raise WorkerStartError(f"the worker was not ready within 120 s; see {log}")


class _AlertFeed:
    """Alerts published since the demo began, read straight from the alerts topic."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        from confluent_kafka import TopicPartition

        from agents.kafka.clients import make_reader

        self.consumer = make_reader(
            bootstrap, "distillwatch-demo", **{"enable.partition.eof": False}
        )
        meta = self.consumer.list_topics(topic, timeout=10).topics[topic]
        assignment = []
        for p in sorted(meta.partitions):
            high = self.consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1]
            assignment.append(TopicPartition(topic, p, high))
        self.consumer.assign(assignment)
        self.alerts: list[Any] = []
        self.last_new = time.monotonic()

    def poll(self) -> None:
        from streams.wire.codecs import decode_alert

        for message in self.consumer.consume(num_messages=500, timeout=0.05):
            if message.error() is None:
                self.alerts.append(decode_alert(message.value()))
                self.last_new = time.monotonic()

    def close(self) -> None:
        self.consumer.close()


def _table(alerts: list[Any], labels: dict[str, Any], status: str) -> Any:
    from rich.table import Table

    from agents.tools.report import latest_revisions
    from streams.timeparse import format_timestamp

    latest, _ = latest_revisions(alerts)
    truth = labels["accounts"]
    table = Table(title=f"DistillWatch alerts: {status}", expand=True)
    for column in (
        "alert",
        "kind",
        "severity",
        "score",
        "accounts",
        "rev",
        "event time",
        "truth (attack/other)",
    ):
        table.add_column(column)
    for alert in latest[:25]:
        attack = sum(truth.get(a, {}).get("label") == "attack" for a in alert.accounts)
        table.add_row(
            alert.alert_id[:16],
            alert.kind,
            alert.severity,
            f"{alert.score:.2f}",
            str(len(alert.accounts)),
            str(alert.revision),
            format_timestamp(alert.ts)[:19],
            f"{attack}/{len(alert.accounts) - attack}",
        )
    return table


def _forensic_reports(
    alerts: list[Any], events: list[Any], partitions: int, settings: Any, report: Path
) -> dict[str, str]:
    """The forensic report (``distillwatch report``) of the strongest cluster, next to the
    demo report; returns {alert_id: file name} for the demo report to link."""
    from agents.tools.report import alert_revisions, forensic_report, latest_revisions
    from streams.detector import Detector
    from streams.wire.codecs import encode

    latest, _ = latest_revisions(alerts)
    clusters = [a for a in latest if a.kind == "coordinated_cluster"]
    if not clusters:
        return {}
    alert = clusters[0]  # latest_revisions sorts by score, highest first
    html = forensic_report(
        alert,
        [encode(e) for e in events],
        partitions,
        Detector(settings.detector),
        settings.detector.account_ttl_s,
        alert_revisions(alerts, alert.alert_id),
    )
    name = f"{report.stem}-alert-{alert.alert_id}.html"
    (report.parent / name).write_text(html)
    return {alert.alert_id: name}


def run_demo(
    scenario: str, seed: int, rate: float, web_port: int, settle: float, report: Path | None
) -> int:
    """Stream the scenario through a worker of its own, show the alerts live, score them and
    write the HTML reports; returns the exit status."""
    import orjson
    from rich.console import Console
    from rich.live import Live

    from agents.settings import get_settings
    from agents.tools.report import render_html
    from agents.tools.simulate import produce_events
    from streams.simulation import simulate
    from streams.simulation.evaluation import HEADLINE_KEYS, evaluate

    settings = get_settings()
    console = Console()
    sim = simulate(scenario, seed)
    console.print(
        f"scenario [bold]{scenario}[/] seed {seed}: {len(sim.events)} events, "
        f"{len(sim.labels['accounts'])} accounts, campaigns {sorted(sim.labels['campaigns'])}"
    )
    log = REPO_ROOT / "var" / "demo" / "worker.log"
    worker = _start_worker(web_port, log)
    feed = None
    try:
        from agents.kafka.clients import make_admin

        admin = make_admin(settings.bootstrap_servers, settings.kafka)
        partitions = len(
            admin.list_topics(settings.topics.requests, timeout=10)
            .topics[settings.topics.requests]
            .partitions
        )
        console.print(f"waiting for the worker (log: {log}) ...")
        _wait_ready(worker, web_port, partitions, log)
        feed = _AlertFeed(settings.bootstrap_servers, settings.topics.alerts)
        with Live(
            _table([], sim.labels, "streaming"), console=console, refresh_per_second=4
        ) as live:

            def refresh(i: int) -> None:
                feed.poll()
                live.update(_table(feed.alerts, sim.labels, f"streamed {i}/{len(sim.events)}"))

            delivery = produce_events(sim.events, settings.topics.requests, rate, refresh)
            deadline = time.monotonic() + 300
            while time.monotonic() - feed.last_new < settle and time.monotonic() < deadline:
                feed.poll()
                live.update(_table(feed.alerts, sim.labels, "all events streamed; settling"))
                time.sleep(0.2)
            live.update(_table(feed.alerts, sim.labels, "done"))
        scores = evaluate(feed.alerts, sim.labels)
        console.print_json(
            orjson.dumps({"delivery": delivery, **{k: scores[k] for k in HEADLINE_KEYS}}).decode()
        )
        path = report or REPO_ROOT / "reports" / f"demo-{scenario}-seed{seed}.html"
        path.parent.mkdir(parents=True, exist_ok=True)
        links = _forensic_reports(feed.alerts, sim.events, partitions, settings, path)
        path.write_text(render_html(feed.alerts, scores, f"{scenario} seed {seed}", links))
        console.print(f"HTML report: [bold]{path}[/]")
        for alert_id, name in links.items():
            console.print(f"forensic report of {alert_id}: [bold]{path.parent / name}[/]")
        return 0
    finally:
        if feed is not None:
            feed.close()
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(30)
        except subprocess.TimeoutExpired:
            worker.kill()
