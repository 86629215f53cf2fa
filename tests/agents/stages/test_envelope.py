"""The internal wire format: entries are named, their bytes are the JSON arrays they were."""

from __future__ import annotations

import numpy as np
import orjson
import pytest

from agents.stages.coordination import CoordinationStage
from agents.stages.envelope import (
    Entry,
    Envelope,
    decode_envelope,
    encode_envelope,
    entry_of,
    message_of,
)
from streams.config import DetectorConfig
from streams.errors import StateError
from streams.messages import AccountSnapshot, SignatureHit, TemplateHit

HIT = TemplateHit("t1", "acct-1", "org-1", 12.5, 0.25)
SNAPSHOT = AccountSnapshot(
    account_id="acct-1",
    org_id="org-1",
    ts=12.5,
    first_ts=1.0,
    n_events=3,
    tokens=("ua:x",),
    new_tokens=("ua:x",),
    recount=False,
    behaviour=np.asarray([0.5, 1.0], dtype=np.float32),
    risk=0.1,
    features=(("f", 1.0),),
)
SIGNATURE = SignatureHit("sig-1", "acct-1", "org-1", 12.5, ("ua",), 0.9)


def test_an_envelope_is_the_json_it_always_was():
    envelope = Envelope(3, 11, 12.5, True, [entry_of(12.5, "acct-1", 10, 0, HIT)])
    assert encode_envelope(envelope) == (
        b'{"p":3,"next":11,"wm":12.5,"caught_up":true,'
        b'"msgs":[[12.5,"acct-1",10,0,"t",["t1","acct-1","org-1",12.5,0.25]]]}'
    )


@pytest.mark.parametrize("message", [HIT, SNAPSHOT, SIGNATURE])
def test_entries_round_trip_by_name(message):
    entry = entry_of(7.0, "acct-1", 4, 1, message)
    raw = encode_envelope(Envelope(0, 5, None, False, [entry]))
    (back,) = decode_envelope(raw).entries
    assert isinstance(back, Entry)
    assert (back.order_ts, back.account_id, back.offset, back.index) == (7.0, "acct-1", 4, 1)
    assert encode_envelope(Envelope(0, 5, None, False, [back])) == raw
    assert type(message_of(back)) is type(message)


def test_an_unknown_kind_is_a_state_error():
    with pytest.raises(StateError):
        message_of(Entry(1.0, "a", 0, 0, "x", []))


def test_the_coordination_checkpoint_keeps_its_bytes():
    config = DetectorConfig()
    stage = CoordinationStage(config, 2, 2.0)
    entries = [entry_of(5.0, "b", 2, 0, HIT), entry_of(4.0, "a", 1, 0, HIT)]
    stage.ingest(Envelope(0, 3, 4.5, False, entries), 0.0)
    data = stage.to_bytes()
    assert orjson.loads(data)["buffer"][0] == [
        4.0,
        "a",
        1,
        0,
        "t",
        list(orjson.loads(orjson.dumps(["t1", "acct-1", "org-1", 12.5, 0.25]))),
    ]
    again = CoordinationStage.from_bytes(data, config, 2, 2.0, 0.0)
    assert again.to_bytes() == data
    with pytest.raises(StateError):
        CoordinationStage.from_bytes(orjson.dumps({"version": 0}), config, 2, 2.0, 0.0)
