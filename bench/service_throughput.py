"""End-to-end throughput and latency of one worker on the real broker, as JSON lines.

Usage: ``.venv/bin/python -m bench.service_throughput [--hours 0.5] [--modes raw,privacy]``
(needs the local broker; ``make bench`` starts it if it is not running).

For each mode (``raw``: events carry prompt text; ``privacy``: a producer-side
``PromptFingerprint`` instead) on fresh topics (4 request partitions):

1. ``e2e_throughput`` - the simulator's traffic is produced to the requests topic first, then in
   the same run a plain confluent-kafka consumer with ``orjson.loads`` per record reads it all
   (``baseline_events_per_s``: the floor any Python consumer of this topic pays), then one
   ``agents.cli worker`` subprocess processes it from its first applied event until every event
   went through both stages, request topic to alerts (``events_per_s``);
   ``ratio = events_per_s / baseline_events_per_s``.  The raw run also kills the worker,
   restarts it and reports how long state recovery took (``recovery``).
2. ``latency`` - on fresh topics, a started worker receives the same traffic at half of the
   ``events_per_s`` just measured; each event's produce time is recorded.  An alert carries
   the event time of the event that made it due, so its latency is the alert record's
   broker timestamp (set when the worker produced it) minus the produce time of that event.
   The line also gives each stage's batches, mean batch time and the mean age of a batch's
   last record when it was done, from the worker's own histograms.

``--profile SECONDS`` also samples the worker with py-spy while it drains (``e2e_profile``) and
while it gets the paced load (``latency_profile``), and prints its hottest functions
(``bench.profile_top``).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

import numpy as np
import orjson

from bench.common import emit, simulated_events, timed, to_privacy_mode
from bench.profile_top import top_functions

REPO = Path(__file__).resolve().parent.parent



def metric(text: str, name: str) -> float:
    """Sum of a metric's samples; a name without labels sums over every label set."""
    labels = "" if "{" in name else r"(?:\{[^}]*\})?"
    found = re.findall(rf"^{re.escape(name)}{labels} ([0-9.e+-]+)$", text, re.M)
    return sum(float(v) for v in found)


def scrape(port: int) -> str:
    try:
        return urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    except OSError:
        return ""


def health(port: int) -> dict:
    try:
        body = urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5).read()
        return orjson.loads(body)
    except OSError:
        return {}


def wait(condition, deadline_s: float, what: str):
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise TimeoutError(what)


def start_worker(dep, app_id: str, name: str) -> subprocess.Popen:
    """A worker on the deployment's topics with the service's default timings.

    The test harness shortens checkpoint, watermark and idle-flush intervals so that tests
    finish quickly; a benchmark must measure what a deployment runs.
    """
    from tests.service.harness import REPO as HARNESS_REPO
    from tests.service.harness import free_port

    env = {
        **os.environ,
        **dep.env,
        "DISTILLWATCH_BOOTSTRAP_SERVERS": dep.bootstrap,
        "DISTILLWATCH_SERVICE__APP_ID": app_id,
        "DISTILLWATCH_SERVICE__DATADIR": str(dep.tmp / "faust"),
    }
    log_path = dep.tmp / f"{name}.log"
    port = str(free_port())
    command = [sys.executable, "-m", "agents.cli", "worker", "--loglevel", dep.loglevel]
    command += ["--web-port", port]
    with log_path.open("ab") as log:
        worker = subprocess.Popen(
            command,
            cwd=HARNESS_REPO,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    worker.log_path = log_path  # type: ignore[attr-defined]
    dep.workers.append(worker)
    return worker


def web_port(worker) -> int:
    return int(worker.args[worker.args.index("--web-port") + 1])


def drained(port: int, n: int) -> bool:
    text = scrape(port)
    return (
        metric(text, "distillwatch_events_total") >= n
        and metric(text, "distillwatch_buffered_messages") == 0
        and metric(text, 'distillwatch_batch_seconds_count{stage="coordination"}') > 0
    )


def stage_figures(text: str) -> dict[str, float]:
    """Per stage: batches, mean batch time in wall ms, and the mean age of each batch's last
    record when it was done (broker append to processed): where an alert's latency goes."""
    out: dict[str, float] = {}
    for stage in ("accounts", "coordination"):
        label = f'{{stage="{stage}"}}'
        batches = metric(text, f"distillwatch_batch_seconds_count{label}")
        busy = metric(text, f"distillwatch_batch_seconds_sum{label}")
        age = metric(text, f"distillwatch_event_latency_seconds_sum{label}")
        aged = metric(text, f"distillwatch_event_latency_seconds_count{label}")
        out[f"{stage}_batches"] = batches
        out[f"{stage}_batch_ms"] = round(1000 * busy / batches, 1) if batches else float("nan")
        out[f"{stage}_last_record_age_s"] = round(age / aged, 3) if aged else float("nan")
    return out


def produce_all(producer, topic: str, values: list[tuple[bytes, bytes]]) -> float:
    started = time.perf_counter()
    for value, key in values:
        while True:
            try:
                producer.produce(topic, value, key)
                break
            except BufferError:
                producer.poll(0.05)
    producer.flush(120)
    return time.perf_counter() - started


def baseline(bootstrap: str, topic: str, n: int) -> float:
    """Seconds a plain consume + ``orjson.loads`` loop takes over the topic's ``n`` records."""
    from agents.kafka.clients import make_consumer

    consumer = make_consumer(
        bootstrap, f"bench-{uuid.uuid4().hex}", **{"auto.offset.reset": "earliest"}
    )
    consumer.subscribe([topic])
    loads = orjson.loads
    got, started = 0, None
    try:
        while got < n:
            batch = consumer.consume(5000, timeout=0.05)
            if batch and started is None:
                started = time.perf_counter()
            for m in batch:
                if m.error() is None:
                    loads(m.value())
                    got += 1
        return time.perf_counter() - started
    finally:
        consumer.close()


def profile_worker(pid: int, seconds: float, out: Path) -> subprocess.Popen | None:
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(spy).exists():
        return None
    return subprocess.Popen(
        [
            spy,
            "record",
            "-p",
            str(pid),
            "-d",
            str(int(seconds)),
            "-r",
            "100",
            "-f",
            "raw",
            "-o",
            str(out),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def throughput(args, mode: str, values, accounts: int, dep_factory) -> float:
    """Produce, baseline, one worker draining the backlog; returns the worker's events/s."""
    dep = dep_factory()
    try:
        from agents.kafka.clients import make_producer

        n = len(values)
        topic = dep.topics["requests"]
        producer = make_producer(
            dep.bootstrap, **{"compression.type": "none", "enable.idempotence": False}
        )
        produce_s = produce_all(producer, topic, values)
        baseline_s = baseline(dep.bootstrap, topic, n)

        worker = start_worker(dep, f"bench-{dep.run}", f"bench-{mode}")
        port = web_port(worker)
        t_start = time.perf_counter()
        wait(lambda: metric(scrape(port), "distillwatch_events_total") > 0, 180, "first event")
        t_first = time.perf_counter()
        spy = None
        if args.profile:
            folded = dep.tmp / f"worker-{mode}.folded"
            spy = profile_worker(worker.pid, args.profile, folded)
        wait(lambda: drained(port, n), 900, "service did not drain")
        t_done = time.perf_counter()
        text = scrape(port)
        events_per_s = n / (t_done - t_first)
        emit(
            "e2e_throughput",
            mode=mode,
            events=n,
            accounts=accounts,
            partitions=4,
            batch_max=args.batch_max,
            produce_events_per_s=round(n / produce_s),
            baseline_events_per_s=round(n / baseline_s),
            events_per_s=round(events_per_s),
            ratio=round(events_per_s * baseline_s / n, 4),
            startup_s=round(t_first - t_start, 2),
            drain_s=round(t_done - t_first, 2),
            alert_revisions=metric(text, "distillwatch_alerts_total"),
            dead_letters=metric(text, "distillwatch_dead_letters_total"),
        )
        if spy is not None:
            spy.wait(timeout=args.profile + 30)
            if folded.exists():
                emit("e2e_profile", mode=mode, **top_functions(folded, 12))
        if args.recovery and mode == "raw":
            recovery(dep, worker)
        return events_per_s
    finally:
        dep.delete()


def recovery(dep, worker) -> None:
    time.sleep(2.0)  # let a checkpoint cover the end state
    dep.stop(worker, signal.SIGKILL)
    dep.loglevel = "info"  # the restarted worker logs each recovery at info level
    restarted = start_worker(dep, f"bench-{dep.run}", "bench-restart")
    t_restart = time.perf_counter()

    def recovered() -> list[float] | None:
        """Seconds of each recovery the restarted worker logged, once all five are done."""
        log = restarted.log_path.read_text(errors="replace")
        found = [float(s) for s in re.findall(r"recovered .* in ([0-9.]+) s", log)]
        return found if len(found) >= 5 else None

    recoveries = wait(recovered, 120, "no recovery")
    emit(
        "recovery",
        restart_to_recovered_s=round(time.perf_counter() - t_restart, 2),
        recovery_seconds_in_worker=round(sum(recoveries), 3),
    )
    dep.stop(restarted)


def latency(args, mode: str, events, encode_event, rate: float, dep_factory) -> None:
    """Paced production at ``rate`` events/s; alert latency from each alert's trigger event."""
    from confluent_kafka import TopicPartition

    from agents.kafka.clients import make_consumer, make_producer
    from streams.wire.codecs import decode_alert

    dep = dep_factory()
    try:
        worker = start_worker(dep, f"bench-{dep.run}", f"latency-{mode}")
        port = web_port(worker)
        wait(
            lambda: (
                health(port).get("status") == "ok"
                and len(health(port).get("owned_request_partitions", [])) == 4
                and health(port).get("owns_coordination")
            ),
            180,
            "worker not ready",
        )
        producer = make_producer(dep.bootstrap, **{"linger.ms": 1})
        topic = dep.topics["requests"]
        produced_at: dict[float, float] = {}
        spy = None
        if args.profile:
            folded = dep.tmp / f"latency-{mode}.folded"
            spy = profile_worker(worker.pid, args.profile, folded)
        started = time.monotonic()
        for i, event in enumerate(events):
            due = started + i / rate
            now = time.monotonic()
            if due > now:
                time.sleep(due - now)
            producer.produce(topic, encode_event(event), event.account_id.encode())
            produced_at.setdefault(round(event.ts, 3), time.time())
            producer.poll(0)
        producer.flush(60)
        send_s = time.monotonic() - started
        wait(lambda: drained(port, len(events)), 300, "service did not drain")
        stages = stage_figures(scrape(port))

        alerts_topic = dep.topics["alerts"]
        consumer = make_consumer(dep.bootstrap, f"bench-{uuid.uuid4().hex}")
        parts = dep.admin.list_topics(alerts_topic, timeout=10).topics[alerts_topic].partitions
        consumer.assign([TopicPartition(alerts_topic, p, 0) for p in parts])
        timed_latencies: list[tuple[float, float]] = []
        unmatched, idle = 0, 0
        while idle < 10:
            batch = consumer.consume(1000, timeout=0.3)
            idle = 0 if batch else idle + 1
            for m in batch:
                if m.error() is not None:
                    continue
                alert = decode_alert(m.value())
                sent = produced_at.get(round(alert.ts, 3))
                if sent is None:
                    unmatched += 1
                    continue
                timed_latencies.append((sent, m.timestamp()[1] / 1000.0 - sent))
        consumer.close()
        timed_latencies.sort()
        latencies = [latency for _, latency in timed_latencies]
        lat = np.array(latencies) if latencies else np.array([np.nan])
        quarter = max(len(latencies) // 4, 1)
        emit(
            "latency",
            mode=mode,
            target_events_per_s=round(rate),
            achieved_events_per_s=round(len(events) / send_s),
            events=len(events),
            alerts=len(latencies),
            unmatched_alerts=unmatched,
            p50_s=round(float(np.percentile(lat, 50)), 3),
            p99_s=round(float(np.percentile(lat, 99)), 3),
            max_s=round(float(lat.max()), 3),
            # a queue building up shows as latency growing over the run
            p50_first_quarter_s=round(float(np.median(lat[:quarter])), 3),
            p50_last_quarter_s=round(float(np.median(lat[-quarter:])), 3),
            **stages,
        )
        if spy is not None:
            spy.wait(timeout=args.profile + 30)
            if folded.exists():
                emit("latency_profile", mode=mode, **top_functions(folded, 12))
    finally:
        dep.delete()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=float, default=0.5, help="simulated hours of traffic")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--modes", default="raw,privacy")
    parser.add_argument("--batch-max", type=int, default=2000)
    parser.add_argument("--no-latency", dest="latency", action="store_false")
    parser.add_argument(
        "--latency-rate", type=float, default=0.0, help="events/s (default: half the measured)"
    )
    parser.add_argument("--no-recovery", dest="recovery", action="store_false")
    parser.add_argument(
        "--profile", type=float, default=0.0, help="py-spy the draining worker this many seconds"
    )
    args = parser.parse_args()

    from agents.kafka.clients import make_admin
    from agents.settings import get_settings
    from streams.wire.codecs import encode
    from tests.service.harness import Deployment

    os.environ["DISTILLWATCH_SERVICE__BATCH_MAX"] = str(args.batch_max)
    bootstrap = get_settings().bootstrap_servers
    admin = make_admin(bootstrap)
    tmp = Path(tempfile.mkdtemp(prefix="dw-bench-"))

    def deployment() -> Deployment:
        dep = Deployment(bootstrap, admin, tmp)
        dep.loglevel = "warning"
        dep.create()
        return dep

    raw_events = simulated_events(args.hours, args.seed)
    accounts = len({e.account_id for e in raw_events})
    for mode in args.modes.split(","):
        events = raw_events if mode == "raw" else to_privacy_mode(raw_events)
        _, values = timed(lambda ev=events: [(encode(e), e.account_id.encode()) for e in ev])
        rate = throughput(args, mode, values, accounts, deployment)
        if args.latency:
            latency(args, mode, events, encode, args.latency_rate or rate / 2, deployment)


if __name__ == "__main__":
    main()
