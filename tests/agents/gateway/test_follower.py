"""The actions follower on the real broker: actions produced with the project's codec reach the
table, decide() answers them, expiry follows the clock passed in, bad records are counted."""

from __future__ import annotations

import time

import pytest

from agents.gateway.follower import ActionFollower
from agents.kafka.clients import make_producer
from streams.enforcement import EnforcementPolicy, EnforcementTable
from streams.errors import TopicReadError
from streams.records import Action
from streams.wire.codecs import encode

pytestmark = pytest.mark.kafka

NOW = 1_800_000_000.0


def act(account: str, kind: str, expires_at: float, n: int = 0) -> Action:
    return Action(
        action_id=f"act-{account}-{kind}-{n}",
        ts=NOW - 60,
        account_id=account,
        action=kind,  # type: ignore[arg-type]
        reason=f"coordinated_cluster:{kind}",
        expires_at=expires_at,
        alert_id="clu-test",
    )


def produce(bootstrap: str, topic: str, records: list[tuple[str, bytes | None]], **kw) -> None:
    producer = make_producer(bootstrap)
    for key, value in records:
        producer.produce(topic, value=value, key=key.encode(), **kw)
    assert producer.flush(30) == 0


def until(condition, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "not within the time bound"
        time.sleep(0.05)


def test_the_follower_reads_the_topic_and_follows_it(kafka_bootstrap, make_topic):
    topic = make_topic(partitions=3)
    produce(
        kafka_bootstrap,
        topic,
        [
            ("acct-t", encode(act("acct-t", "throttle", NOW + 100))),
            ("acct-b", encode(act("acct-b", "block", NOW + 50))),
            ("acct-b", encode(act("acct-b", "watch", NOW + 500))),
            ("acct-x", b'{"schema": "action.v1", "account_id": "acct-x"}'),
            ("acct-y", None),
        ],
    )
    table = EnforcementTable(EnforcementPolicy(throttle_rate=3.0))
    follower = ActionFollower(
        table, bootstrap=kafka_bootstrap, topic=topic, clock=lambda: NOW, poll_s=0.05
    ).start()
    try:
        assert follower.ready.wait(20), follower.stats()
        assert (follower.applied, follower.refused) == (3, 2)
        throttle = table.decide("acct-t", "key-1", NOW)
        assert (throttle.verdict, throttle.rate) == ("throttle", 3.0)
        assert table.decide("acct-t", "key-1", NOW + 100).verdict == "allow"
        assert table.decide("acct-b", None, NOW + 49).verdict == "block"
        assert table.decide("acct-b", None, NOW + 50).verdict == "watch"
        assert table.decide("acct-x", None, NOW).verdict == "allow"

        # an action published after the start reaches the table while the gateway serves
        produce(kafka_bootstrap, topic, [("acct-new", encode(act("acct-new", "degrade", NOW + 9)))])
        until(lambda: table.decide("acct-new", "k", NOW).verdict == "degrade")
        assert table.decide("acct-new", "k", NOW).level == 1
        assert follower.stats() | {"last_error": None} == {
            "topic": topic,
            "ready": True,
            "accounts": 3,
            "applied": 4,
            "refused": 2,
            "broker_errors": 0,
            "last_error": None,
        }
    finally:
        follower.stop()


def test_lookback_starts_at_broker_time(kafka_bootstrap, make_topic):
    topic = make_topic(partitions=1)
    wall = time.time()
    produce(
        kafka_bootstrap,
        topic,
        [("acct-old", encode(act("acct-old", "block", NOW + 100)))],
        timestamp=int((wall - 7200) * 1000),
    )
    produce(kafka_bootstrap, topic, [("acct-new", encode(act("acct-new", "block", NOW + 100)))])
    table = EnforcementTable()
    follower = ActionFollower(
        table, bootstrap=kafka_bootstrap, topic=topic, lookback_s=3600, poll_s=0.05
    ).start()
    try:
        assert follower.ready.wait(20)
        assert table.decide("acct-new", None, NOW).verdict == "block"
        assert table.decide("acct-old", None, NOW).verdict == "allow"  # two hours back
        assert follower.applied == 1
    finally:
        follower.stop()


def test_an_empty_topic_is_ready_at_once_and_a_missing_one_raises(
    kafka_bootstrap, make_topic, run_id
):
    follower = ActionFollower(
        EnforcementTable(), bootstrap=kafka_bootstrap, topic=make_topic(partitions=2)
    ).start()
    try:
        assert follower.ready.is_set()
    finally:
        follower.stop()
    with pytest.raises(TopicReadError, match="does not exist"):
        ActionFollower(
            EnforcementTable(), bootstrap=kafka_bootstrap, topic=f"test-missing-{run_id}"
        ).start()
