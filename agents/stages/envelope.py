"""Internal wire format between the account stage and the cross-account stage (orjson).

One Kafka record is an *envelope*: the messages that one batch of one requests partition
produced, plus that partition's progress (next offset, event-time watermark, caught-up flag).
Every message carries its canonical order key ``(order_ts, account_id, offset, index)`` so the
receiving stage can process messages from many partitions in one order, whatever the
interleaving on the topic.  numpy vectors travel as lists of floats.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import orjson

from streams.messages import AccountSnapshot, SignatureHit, TemplateHit

Message = TemplateHit | AccountSnapshot | SignatureHit
# (order_ts, account_id, offset, index, kind, payload): a list so it is JSON as it stands.
Entry = list[Any]

_KIND = {TemplateHit: "t", AccountSnapshot: "s", SignatureHit: "g"}


@dataclass(frozen=True, slots=True)
class Envelope:
    partition: int
    next_offset: int
    watermark: float | None
    caught_up: bool
    entries: list[Entry]


def message_payload(msg: Message) -> list[Any]:
    if isinstance(msg, TemplateHit):
        return [msg.template_id, msg.account_id, msg.org_id, msg.ts, msg.risk]
    if isinstance(msg, AccountSnapshot):
        return [
            msg.account_id,
            msg.org_id,
            msg.ts,
            msg.first_ts,
            msg.n_events,
            msg.tokens,
            msg.new_tokens,
            msg.recount,
            msg.behaviour.tolist(),
            msg.risk,
            msg.features,
        ]
    return [msg.signature_id, msg.account_id, msg.org_id, msg.ts, msg.matched, msg.confidence]


def entry_of(order_ts: float, account_id: str, offset: int, index: int, msg: Message) -> Entry:
    return [order_ts, account_id, offset, index, _KIND[type(msg)], message_payload(msg)]


def message_of(entry: Entry) -> Message:
    kind, p = entry[4], entry[5]
    if kind == "t":
        return TemplateHit(p[0], p[1], p[2], p[3], p[4])
    if kind == "s":
        return AccountSnapshot(
            account_id=p[0],
            org_id=p[1],
            ts=p[2],
            first_ts=p[3],
            n_events=p[4],
            tokens=tuple(p[5]),
            new_tokens=tuple(p[6]),
            recount=p[7],
            behaviour=np.asarray(p[8], dtype=np.float32),
            risk=p[9],
            features=tuple((name, value) for name, value in p[10]),
        )
    if kind == "g":
        return SignatureHit(p[0], p[1], p[2], p[3], tuple(p[4]), p[5])
    raise ValueError(f"unknown message kind {kind!r}")


def encode_envelope(envelope: Envelope) -> bytes:
    return orjson.dumps(
        {
            "p": envelope.partition,
            "next": envelope.next_offset,
            "wm": envelope.watermark,
            "caught_up": envelope.caught_up,
            "msgs": envelope.entries,
        }
    )


def decode_envelope(raw: bytes) -> Envelope:
    row = orjson.loads(raw)
    return Envelope(row["p"], row["next"], row["wm"], row["caught_up"], row["msgs"])
