"""Internal wire format between the account stage and the cross-account stage (orjson).

One Kafka record is an *envelope*: the messages that one batch of one requests partition
produced, plus that partition's progress (next offset, event-time watermark, caught-up flag).
Every message is an ``Entry`` that starts with its canonical order key ``(order_ts,
account_id, offset, index)``, so the receiving stage can process messages from many
partitions in one order, whatever the interleaving on the topic.  On the wire (and in the
cross-account stage's checkpoint) an entry is a JSON array of its six fields in that order;
numpy vectors travel as lists of floats.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

import orjson

from streams.messages import AccountSnapshot, SignatureHit, TemplateHit
from streams.stages.profile.profiler import message_from

Message = TemplateHit | AccountSnapshot | SignatureHit


class Entry(NamedTuple):
    """One message with its place in the canonical order; entries sort in that order."""

    order_ts: float
    account_id: str
    offset: int
    """Input offset of the event in its requests partition."""
    index: int
    """The message's place among its event's messages (0: the event's template hit)."""
    kind: str
    """``t`` template hit, ``s`` account snapshot, ``g`` signature hit."""
    payload: list[Any]


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
    return Entry(order_ts, account_id, offset, index, _KIND[type(msg)], message_payload(msg))


def entry_from(row: list[Any]) -> Entry:
    """An entry of its JSON array."""
    return Entry(*row)


def message_of(entry: Entry) -> Message:
    return message_from(entry.kind, entry.payload)


def encode_envelope(envelope: Envelope) -> bytes:
    return orjson.dumps(
        {
            "p": envelope.partition,
            "next": envelope.next_offset,
            "wm": envelope.watermark,
            "caught_up": envelope.caught_up,
            # a plain tuple is a JSON array; orjson refuses a NamedTuple as such
            "msgs": [tuple(entry) for entry in envelope.entries],
        }
    )


def decode_envelope(raw: bytes) -> Envelope:
    row = orjson.loads(raw)
    entries = [entry_from(e) for e in row["msgs"]]
    return Envelope(row["p"], row["next"], row["wm"], row["caught_up"], entries)
