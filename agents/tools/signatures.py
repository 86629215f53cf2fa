"""Signatures shared with partner labs (``distillwatch signatures``): the live set on the
signatures topic, the conflicts an import would cause, and publishing."""

from __future__ import annotations

import sys
from typing import Any

from streams.errors import DeliveryError


def live_signatures(bootstrap: str, topic: str) -> list[Any]:
    """The signatures a worker would hold after reading ``topic`` to its end."""
    from agents.kafka.reader import read_records
    from streams.records import Signature
    from streams.wire.codecs import decode_signature

    latest: dict[str, Signature] = {}
    for record in read_records(bootstrap, topic):
        if record.value is None:
            if record.key is not None:
                latest.pop(record.key.decode(errors="replace"), None)
            continue
        signature = decode_signature(
            record.value, topic=topic, partition=record.partition, offset=record.offset
        )
        if not isinstance(signature, Signature):
            sys.stderr.write(
                f"signatures: {topic}[{record.partition}]@{record.offset} refused: "
                f"{signature.reason}: {signature.detail}\n"
            )
            continue
        if signature.deleted:
            latest.pop(signature.signature_id, None)
        else:
            latest[signature.signature_id] = signature
    return [latest[k] for k in sorted(latest)]


def conflicts(live: list[Any], imported: list[Any]) -> list[str]:
    """Imported signatures that would replace or retract one another source published.

    The signatures topic is keyed by signature id, so without this check a partner's file
    could overwrite (or revoke) a signature this lab learned, just by reusing its id.
    """
    owners = {s.signature_id: s.source for s in live}
    return [
        f"{s.signature_id!r} from {s.source!r} would "
        f"{'retract' if s.deleted else 'replace'} the one published by "
        f"{owners[s.signature_id]!r}"
        for s in imported
        if s.signature_id in owners and owners[s.signature_id] != s.source
    ]


def publish(bootstrap: str, topic: str, records: list[tuple[str, bytes | None]]) -> None:
    from agents.kafka.clients import make_producer

    producer = make_producer(bootstrap)
    failures: list[str] = []

    def delivered(error: Any, message: Any) -> None:
        if error is not None:
            failures.append(f"{message.key().decode()}: {error}")

    for key, value in records:
        producer.produce(topic, key=key.encode(), value=value, on_delivery=delivered)
        producer.poll(0)
    if producer.flush(30) != 0 or failures:
        raise DeliveryError(f"not all records reached {topic}: {failures or 'timeout'}")
