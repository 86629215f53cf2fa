"""A round trip through the broker: the smallest proof that the declared topics carry records.

Produces a few request events keyed by account to the requests topic, then reads exactly
those records back by partition and offset (no consumer group, so nothing is left behind on
the broker) and prints them.  Keys are hashed with murmur2 like the Java clients and Faust,
so an account's events land on the partition the stream service expects.
"""

from __future__ import annotations

import argparse
import sys
import time
import uuid
from dataclasses import asdict, replace
from datetime import UTC, datetime

import orjson

from streams.records import RequestEvent

_SAMPLE = RequestEvent(
    event_id="",
    ts=0.0,
    account_id="",
    org_id="org-demo",
    api_key_id="key-demo",
    ip="203.0.113.7",
    asn=64500,
    country="NL",
    user_agent="demo-client/1.0",
    model="frontier-large",
    endpoint="/v1/chat/completions",
    prompt="Explain step by step how to solve: 17 * 23. Answer in JSON.",
    system_prompt=None,
    prompt_tokens=24,
    completion_tokens=180,
    response_format="json_object",
    temperature=0.0,
    n=1,
    stream=False,
    status=200,
    latency_ms=812.5,
)


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat().replace("+00:00", "Z")


def sample_events(count: int, start_ts: float) -> list[RequestEvent]:
    """``count`` events one second apart, spread over three accounts."""
    return [
        replace(
            _SAMPLE,
            event_id=str(uuid.uuid4()),
            ts=start_ts + index,
            account_id=f"acct-{index % 3}",
        )
        for index in range(count)
    ]


def to_wire(event: RequestEvent) -> bytes:
    """JSON as on the requests topic: timestamps as ISO-8601 UTC strings."""
    document = asdict(event)
    document["ts"] = _iso(event.ts)
    return orjson.dumps(document)


def round_trip(
    bootstrap_servers: str, topic: str, events: list[RequestEvent], timeout: float
) -> list[tuple[int, int, bytes, bytes]]:
    """Produce ``events`` and read them back; returns (partition, offset, key, value) each."""
    from confluent_kafka import Consumer, Producer, TopicPartition

    producer = Producer(
        {
            "bootstrap.servers": bootstrap_servers,
            "partitioner": "murmur2_random",
        }
    )
    metadata = producer.list_topics(topic, timeout=timeout).topics[topic]
    if metadata.error is not None:
        raise RuntimeError(
            f"{topic}: {metadata.error.str()}; apply the declarations with `distillwatch topics`"
        )
    delivered: list[tuple[int, int]] = []
    failures: list[str] = []

    def on_delivery(error, message) -> None:
        if error is not None:
            failures.append(str(error))
        else:
            delivered.append((message.partition(), message.offset()))

    for event in events:
        producer.produce(
            topic, key=event.account_id.encode(), value=to_wire(event), on_delivery=on_delivery
        )
    if producer.flush(timeout) or failures:
        raise RuntimeError(f"could not produce to {topic}: {failures or 'flush timed out'}")

    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap_servers,
            "group.id": "distillwatch-roundtrip",
            "enable.auto.commit": False,
        }
    )
    wanted = set(delivered)
    first: dict[int, int] = {}
    for partition, offset in delivered:
        first[partition] = min(offset, first.get(partition, offset))
    consumer.assign(
        [TopicPartition(topic, partition, offset) for partition, offset in first.items()]
    )
    received: list[tuple[int, int, bytes, bytes]] = []
    deadline = time.monotonic() + timeout
    try:
        while wanted and time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is None or message.error() is not None:
                continue
            position = (message.partition(), message.offset())
            if position in wanted:
                wanted.discard(position)
                received.append((*position, message.key(), message.value()))
    finally:
        consumer.close()
    if wanted:
        raise RuntimeError(f"{len(wanted)} records did not come back within {timeout} s")
    return sorted(received)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--count", type=int, default=6, help="events to send (default 6)")
    parser.add_argument(
        "--timeout", type=float, default=15.0, help="seconds to wait for the broker (default 15)"
    )


def run(args: argparse.Namespace) -> int:
    from agents.settings import get_settings

    settings = get_settings()
    topic = settings.topics.requests
    events = sample_events(args.count, start_ts=time.time())
    try:
        records = round_trip(settings.bootstrap_servers, topic, events, args.timeout)
    except RuntimeError as error:
        print(f"roundtrip: {error}", file=sys.stderr)
        return 1
    print(f"produced {len(events)} request events to {topic}, read back:")
    for partition, offset, key, value in records:
        print(
            f"  partition={partition} offset={offset} key={key.decode()} {value.decode()[:96]}..."
        )
    if {to_wire(event) for event in events} != {value for *_, value in records}:
        print("roundtrip: records read back differ from those produced", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    cli = argparse.ArgumentParser(prog="python -m agents.roundtrip", description=__doc__)
    add_arguments(cli)
    sys.exit(run(cli.parse_args()))
