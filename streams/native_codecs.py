"""``decode_requests`` on the native path (``streams._native``), same signature and results.

A drop-in for ``streams.codecs.decode_requests``: items are raw values or
``(value, topic, partition, offset[, timestamp])`` tuples, results are the same
``RequestEvent``/``DeadLetter`` objects in input order (``tests/test_native_codecs.py``
checks that record for record).  Runs of items with the same topic and partition go to the
native decoder in one call each, with the GIL released while it parses and validates.
Not wired into the service yet.
"""

from __future__ import annotations

from collections.abc import Iterable

from streams import _native
from streams.codecs import (
    DEFAULT_MAX_PROMPT_BYTES,
    DEFAULT_MAX_RECORD_BYTES,
    RawRecord,
    RawWithCoordinates,
)
from streams.records import DeadLetter, RequestEvent


def decode_requests(
    raws: Iterable[RawRecord | RawWithCoordinates],
    *,
    max_prompt_bytes: int = DEFAULT_MAX_PROMPT_BYTES,
    max_record_bytes: int = DEFAULT_MAX_RECORD_BYTES,
) -> list[RequestEvent | DeadLetter]:
    """``streams.codecs.decode_requests``, decoded natively; never raises for a bad record."""
    decoded: list[RequestEvent | DeadLetter] = []
    values: list[bytes] = []
    offsets: list[int | None] = []
    timestamps: list[float | None] = []
    run: tuple[str | None, int | None] | None = None

    def flush() -> None:
        if values:
            topic, partition = run or (None, None)
            decoded.extend(
                _native.decode_requests(
                    values,
                    topic,
                    partition,
                    offsets,
                    timestamps,
                    max_prompt_bytes,
                    max_record_bytes,
                )
            )
            values.clear()
            offsets.clear()
            timestamps.clear()

    for item in raws:
        if type(item) is tuple:
            raw, topic, partition, offset, *rest = item
            timestamp = rest[0] if rest else None
        else:
            raw, topic, partition, offset, timestamp = item, None, None, None, None
        if (topic, partition) != run:
            flush()
            run = (topic, partition)
        values.append(raw if type(raw) is bytes else bytes(raw))
        offsets.append(offset)
        timestamps.append(timestamp)
    flush()
    return decoded
