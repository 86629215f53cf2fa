"""``distillwatch simulate``: write (and optionally produce) a seeded labelled traffic scenario.

Writes ``DIR/events.jsonl`` (or ``.jsonl.gz``) with request events v1 in event
time order and ``DIR/labels.json`` with the ground truth.  The same scenario
and seed always give byte-identical files (gzip output carries no timestamp or
file name).  With ``--kafka`` the events are also produced to the requests
topic, keyed by account so one account's events stay ordered in a partition.
"""

from __future__ import annotations

import gzip
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    from streams.records import RequestEvent


def write_events(path: Path, events: list[RequestEvent], compress: bool) -> None:
    """Stream events to JSONL one by one: holding every encoded line would cost gigabytes."""
    from streams.wire.codecs import encode

    with path.open("wb") as raw:
        out: IO[bytes] = (
            gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=6)
            if compress
            else raw
        )
        for event in events:
            out.write(encode(event))
            out.write(b"\n")
        if compress:
            out.close()


def produce_events(
    events: list[RequestEvent],
    topic: str,
    rate: float,
    on_progress: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    """Produce in event order, paced to ``rate`` events/s; returns delivery counts.

    ``on_progress(i)`` runs every thousand events, so a caller (the demo) can
    interleave its own polling with the pacing without a second thread.
    """
    from confluent_kafka import KafkaException

    from agents.kafka.clients import make_producer
    from agents.settings import get_settings
    from streams.wire.codecs import encode

    producer = make_producer(
        get_settings().bootstrap_servers,
        **{"batch.num.messages": 10000, "queue.buffering.max.messages": 200000},
    )
    failures: list[str] = []

    def on_delivery(err: Any, _msg: Any) -> None:
        if err is not None:
            failures.append(str(err))

    began = time.monotonic()
    for i, event in enumerate(events):
        if rate > 0:
            ahead = began + i / rate - time.monotonic()
            if ahead > 0:
                producer.poll(0)
                time.sleep(ahead)
        while True:
            try:
                producer.produce(
                    topic,
                    value=encode(event),
                    key=event.account_id.encode(),
                    on_delivery=on_delivery,
                )
                break
            except BufferError:
                producer.poll(0.2)
        if i % 1000 == 0:
            producer.poll(0)
            if on_progress is not None:
                on_progress(i)
    try:
        undelivered = producer.flush(60)
    except KafkaException as exc:
        failures.append(str(exc))
        undelivered = len(events)
    elapsed = time.monotonic() - began
    return {
        "topic": topic,
        "produced": len(events) - undelivered - len(failures),
        "failed": len(failures) + undelivered,
        "first_error": failures[0] if failures else None,
        "seconds": round(elapsed, 2),
        "events_per_s": round(len(events) / elapsed, 1) if elapsed else None,
    }
