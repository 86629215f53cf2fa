"""Admission of events: late, future and duplicate events are dead-lettered, never dropped."""

from __future__ import annotations

import base64
from dataclasses import replace

import orjson
import pytest

from agents.stages.account import META_KEY, AccountStage, StageOutput
from agents.tools.replay import replay_records
from streams.config import DetectorConfig
from streams.detector import Detector
from streams.records import RequestEvent
from streams.wire.codecs import (
    MAX_DEAD_LETTER_ORIGINAL_BYTES,
    decode_requests,
    encode,
    fit_dead_letter,
)
from tests.support.core_traffic import generate

CONFIG = DetectorConfig(max_lateness_s=60.0, max_future_s=30.0, dedup_max_ids=4)


@pytest.fixture(scope="module")
def base() -> RequestEvent:
    return generate(seed=3, duration=600.0, benign=5, campaign_size=3).events[0]


def event(base: RequestEvent, n: int, ts: float, account: str = "a") -> RequestEvent:
    return replace(base, event_id=f"e{n}", ts=ts, account_id=account)


class Gate:
    """One requests partition's admission, driven one record at a time through the stage."""

    def __init__(self, stage: AccountStage | None = None) -> None:
        self.stage = stage or AccountStage(CONFIG, "requests")
        self.offset = self.stage.partition(0).next_offset

    def check(self, e: RequestEvent, broker_ts: float | None) -> tuple[str, str] | None:
        out = StageOutput()
        self.stage.process(0, [(None, encode(e), self.offset, broker_ts)], out)
        self.offset += 1
        if out.dead_letters:
            (letter,) = out.dead_letters
            return letter.reason, letter.detail
        assert out.events == 1
        return None

    @property
    def watermark(self) -> float:
        return self.stage.partitions[0].watermark

    def remembered(self) -> bytes:
        meta = dict(self.stage.partitions[0].checkpoint_records())[META_KEY]
        return base64.b64decode(orjson.loads(meta)["admission"]["ids"])


def test_events_within_the_lateness_are_admitted_at_their_own_time(base):
    gate = Gate()
    assert gate.check(event(base, 1, 1000.0), None) is None
    assert gate.check(event(base, 2, 945.0), None) is None  # 55 s late: within 60
    assert gate.watermark == 1000.0  # a late event moves no clock


def test_events_beyond_the_lateness_are_refused_as_late(base):
    gate = Gate()
    gate.check(event(base, 1, 1000.0), None)
    reason, detail = gate.check(event(base, 2, 939.0), None)
    assert reason == "late_event"
    assert detail == (
        "event time 1970-01-01T00:15:39.000000Z is more than 60 s behind the partition's "
        "event time 1970-01-01T00:16:40.000000Z"
    )


def test_far_future_events_are_refused_against_the_broker_clock_and_move_no_clock(base):
    gate = Gate()
    reason, detail = gate.check(event(base, 1, 4_000_000_000.0), 1000.0)
    assert reason == "future_event"
    assert "more than 30 s after the record's broker time 1970-01-01T00:16:40.000000Z" in detail
    assert gate.watermark == float("-inf")
    assert gate.check(event(base, 2, 1020.0), 1000.0) is None  # within max_future_s
    assert gate.check(event(base, 3, 5000.0), -1.0) is None  # broker time unknown: no check


def test_repeated_event_ids_are_duplicates_within_a_bounded_memory(base):
    gate = Gate()
    assert gate.check(event(base, 1, 1000.0), None) is None
    assert gate.check(event(base, 1, 1000.0), None) == (
        "duplicate_event",
        "event 'e1' of this account was just seen",
    )
    assert gate.check(event(base, 1, 1000.0, account="b"), None) is None  # another account
    for n in range(2, 6):
        assert gate.check(event(base, n, 1000.0 + n), None) is None
    assert len(gate.remembered()) == 8 * CONFIG.dedup_max_ids
    assert gate.check(event(base, 1, 1000.0), None) is None  # forgotten: memory is bounded


def test_a_long_event_id_is_cut_in_the_duplicate_detail(base):
    gate = Gate()
    long_id = replace(event(base, 1, 1000.0), event_id="x" * 200)
    gate.check(long_id, None)
    _, detail = gate.check(long_id, None)
    assert detail == f"event {'x' * 77 + '...'!r} of this account was just seen"


def test_admission_state_round_trips(base):
    gate = Gate()
    for n in range(3):
        gate.check(event(base, n, 1000.0 + n), None)
    records = dict(gate.stage.partitions[0].checkpoint_records())
    again = Gate(AccountStage(CONFIG, "requests"))
    again.stage.partition(0).restore(records, CONFIG)
    again.offset = gate.offset
    assert again.watermark == gate.watermark
    assert again.remembered() == gate.remembered()
    assert again.check(event(base, 2, 1002.0), None)[0] == "duplicate_event"


def test_a_checkpoint_from_before_admission_restores_its_watermark(base):
    stage = AccountStage(CONFIG, "requests")
    stage.partition(0).restore({META_KEY: b'{"next": 7, "wm": 1000.0}'}, CONFIG)
    gate = Gate(stage)
    assert gate.offset == 7 and gate.watermark == 1000.0
    assert gate.check(event(base, 1, 900.0), None)[0] == "late_event"


def records_of(events: list[RequestEvent]) -> list[tuple[bytes, bytes, int, float]]:
    return [(e.account_id.encode(), encode(e), i, 1000.0) for i, e in enumerate(events)]


def test_the_account_stage_dead_letters_refusals_and_checkpoints_the_admission(base):
    stream = [
        event(base, 1, 1000.0),
        event(base, 1, 1000.0),  # duplicate
        event(base, 2, 930.0),  # late
        event(base, 3, 990.0),  # late but within the lateness
        event(base, 4, 9999.0),  # future against the broker time 1000
    ]
    stage = AccountStage(CONFIG, "requests")
    out = StageOutput()
    stage.process(0, records_of(stream), out)
    assert [(d.reason, d.source_offset) for d in out.dead_letters] == [
        ("duplicate_event", 1),
        ("late_event", 2),
        ("future_event", 4),
    ]
    assert all(d.source_topic == "requests" and d.source_partition == 0 for d in out.dead_letters)
    assert out.dead_letters[0].original == encode(stream[1])
    assert out.events == 2
    records = dict(stage.partitions[0].checkpoint_records())
    restored = AccountStage(CONFIG, "requests")
    restored.partition(0).restore(records, CONFIG)
    again = StageOutput()
    restored.process(0, [(b"a", encode(stream[0]), 5, 1000.0)], again)
    assert [d.reason for d in again.dead_letters] == ["duplicate_event"]


def test_replay_refuses_what_the_service_refuses(base):
    stream = [event(base, 1, 1000.0), event(base, 1, 1000.0), event(base, 2, 930.0)]
    raws = [(encode(e), "requests", 0, i, 1000.0) for i, e in enumerate(stream)]
    result = replay_records(raws, 1, Detector(CONFIG))
    assert result.events == 1
    assert [(d.reason, d.source_offset) for d in result.dead_letters] == [
        ("duplicate_event", 1),
        ("late_event", 2),
    ]


def test_a_huge_refused_record_is_kept_truncated_so_its_dead_letter_still_fits_kafka():
    raw = b'{"prompt": "' + b"A" * (10 * 1024 * 1024) + b'"}'
    (letter,) = decode_requests([raw])
    assert letter.reason == "oversized_record"
    assert letter.original == raw  # the core keeps every byte...
    fitted = fit_dead_letter(letter)  # ...the service cuts what Kafka cannot carry
    assert fitted.original == raw[:MAX_DEAD_LETTER_ORIGINAL_BYTES]
    assert f"first {MAX_DEAD_LETTER_ORIGINAL_BYTES} of {len(raw)} bytes" in fitted.detail
    assert len(encode(fitted)) < 1024 * 1024
    small = decode_requests([b"{"])[0]
    assert fit_dead_letter(small) is small


def test_a_first_batch_of_only_bad_records_is_dead_lettered_without_a_fault():
    stage = AccountStage(CONFIG, "requests")
    out = StageOutput()
    stage.process(0, [(b"a", b"{not json", 0, 1000.0)], out)
    assert [d.reason for d in out.dead_letters] == ["malformed_json"]
    assert stage.partitions[0].next_offset == 1
