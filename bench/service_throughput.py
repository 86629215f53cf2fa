"""End-to-end throughput of the running service vs a raw consume+decode baseline, as JSON.

Usage: ``.venv/bin/python bench/service_throughput.py [--benign 600] [--duration 3600]``
(needs the local broker: ``infra/kafka/kafkactl start``).

Creates fresh topics, produces the generated traffic of the core tests to the requests topic,
then in the same run measures (1) a confluent-kafka consumer group reading and decoding the
topic (``streams.codecs.decode_requests``: the floor any consumer pays) and (2) one
``agents.worker`` subprocess from first event applied until every event went through both
stages.  Then it SIGKILLs the worker, restarts it and reports how long state recovery took.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO))


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


def wait(condition, deadline_s: float, what: str):
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise TimeoutError(what)


def topic_records(bootstrap: str, topic: str) -> int:
    """Records a topic holds: the load of the single-partition cross-account stage."""
    from confluent_kafka import TopicPartition

    from agents.kafka_clients import make_reader

    reader = make_reader(bootstrap, "bench-count")
    try:
        partitions = reader.list_topics(topic, timeout=10).topics[topic].partitions
        return sum(
            high - low
            for low, high in (
                reader.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
                for p in partitions
            )
        )
    finally:
        reader.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--benign", type=int, default=600)
    parser.add_argument("--duration", type=float, default=3600.0)
    parser.add_argument("--batch-max", type=int, default=2000)
    args = parser.parse_args()

    from confluent_kafka import Consumer, KafkaError, Producer
    from confluent_kafka.admin import AdminClient
    from core_traffic import generate
    from service.harness import Deployment

    from agents.settings import get_settings
    from streams.codecs import decode_requests, encode

    bootstrap = get_settings().bootstrap_servers
    tmp = Path(tempfile.mkdtemp(prefix="dw-bench-"))
    dep = Deployment(bootstrap, AdminClient({"bootstrap.servers": bootstrap}), tmp)
    dep.create()
    try:
        events = generate(seed=3, duration=args.duration, benign=args.benign).events
        values = [(encode(e), e.account_id.encode()) for e in events]
        n = len(values)
        producer = Producer(
            {"bootstrap.servers": bootstrap, "partitioner": "murmur2_random", "linger.ms": 20}
        )
        t0 = time.perf_counter()
        for value, key in values:
            while True:
                try:
                    producer.produce(dep.topics["requests"], value, key)
                    break
                except BufferError:
                    producer.poll(0.05)
        producer.flush(60)
        produce_s = time.perf_counter() - t0

        consumer = Consumer(
            {
                "bootstrap.servers": bootstrap,
                "group.id": f"bench-{uuid.uuid4().hex}",
                "auto.offset.reset": "earliest",
                "enable.partition.eof": True,
            }
        )
        consumer.subscribe([dep.topics["requests"]])
        got, eof, started = 0, set(), None
        while got < n:
            batch = consumer.consume(5000, timeout=0.05)
            raws = []
            for m in batch:
                if m.error() is None:
                    raws.append((m.value(), m.topic(), m.partition(), m.offset()))
                elif m.error().code() != KafkaError._PARTITION_EOF:
                    raise RuntimeError(m.error())
                else:
                    eof.add(m.partition())
            if raws and started is None:
                started = time.perf_counter()
            got += len(decode_requests(raws))
        baseline_s = time.perf_counter() - started
        consumer.close()

        os.environ["DISTILLWATCH_SERVICE__BATCH_MAX"] = str(args.batch_max)
        worker = dep.start_worker(f"bench-{dep.run}", "bench")
        port = int(worker.args[worker.args.index("--web-port") + 1])
        t_start = time.perf_counter()
        wait(lambda: metric(scrape(port), "distillwatch_events_total") > 0, 120, "first event")
        t_first = time.perf_counter()

        def drained() -> bool:
            text = scrape(port)
            return (
                metric(text, "distillwatch_events_total") >= n
                and metric(text, "distillwatch_buffered_messages") == 0
                and metric(text, 'distillwatch_batch_seconds_count{stage="coordination"}') > 0
            )

        wait(drained, 600, "service did not drain")
        t_done = time.perf_counter()
        text = scrape(port)
        alerts = metric(text, "distillwatch_alerts_total")
        state_bytes = {
            stage: metric(text, f'distillwatch_state_bytes{{stage="{stage}"}}')
            for stage in ("accounts", "coordination")
        }
        coordination_records = topic_records(dep.bootstrap, dep.topics["coordination"])
        time.sleep(2.0)  # let a checkpoint cover the end state
        dep.stop(worker, signal.SIGKILL)
        restarted = dep.start_worker(f"bench-{dep.run}", "bench-restart")
        t_restart = time.perf_counter()

        def recovered() -> list[float] | None:
            """Seconds of each recovery the restarted worker logged, once all five are done."""
            log = restarted.log_path.read_text(errors="replace")
            found = [float(s) for s in re.findall(r"recovered .* in ([0-9.]+) s", log)]
            return found if len(found) >= 5 else None

        recoveries = wait(recovered, 120, "no recovery")
        t_recovered = time.perf_counter()
        dep.stop(restarted)
        print(
            json.dumps(
                {
                    "events": n,
                    "accounts": len({e.account_id for e in events}),
                    "produce_events_per_s": round(n / produce_s),
                    "baseline_consume_decode_events_per_s": round(n / baseline_s),
                    "service_events_per_s": round(n / (t_done - t_first)),
                    "service_startup_s": round(t_first - t_start, 2),
                    "service_drain_s": round(t_done - t_first, 2),
                    "alert_revisions": alerts,
                    "coordination_records": coordination_records,
                    "state_bytes": state_bytes,
                    "restart_to_recovered_s": round(t_recovered - t_restart, 2),
                    "recovery_seconds_in_worker": round(sum(recoveries), 3),
                },
                indent=2,
            )
        )
    finally:
        dep.delete()


if __name__ == "__main__":
    main()
