"""Strict conversion between wire timestamps (ISO-8601 / RFC 3339 text) and epoch seconds.

The detector does arithmetic on event time only, so every timestamp must mean
one unambiguous instant: a value without a UTC offset, in a week-date or basic
format, or far outside the life of an API is refused rather than guessed at.
``datetime.fromisoformat`` accepts all of those forms, hence the RFC 3339
pattern in front of it.  Output is always UTC with a ``Z`` suffix and a fixed
six-digit fraction, so equal instants give byte-identical text and sort
lexically in time order.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from streams.errors import TimestampError

# Instants outside this window are producer bugs (zeroed clocks, milliseconds
# taken for seconds), not traffic.
MIN_EPOCH = 0.0  # 1970-01-01T00:00:00Z
MAX_EPOCH = 4_102_444_800.0  # 2100-01-01T00:00:00Z
_MAX_YEAR = 2100

_RFC3339 = re.compile(
    r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|[+-]\d{2}:\d{2})",
    re.ASCII,
)


def parse_timestamp(text: str) -> float:
    """Epoch seconds of an RFC 3339 timestamp with an explicit offset.

    Raises ``TimestampError`` whose message says what is wrong with the value.
    Digits beyond microseconds (Go and Java gateways send nanoseconds) are
    truncated by ``fromisoformat``.
    """
    if _RFC3339.fullmatch(text) is None:
        raise TimestampError(f"{text[:64]!r} is not an RFC 3339 timestamp with a UTC offset")
    try:
        epoch = datetime.fromisoformat(text).timestamp()
    except ValueError as exc:
        raise TimestampError(f"{text!r} is not a valid date and time: {exc}") from None
    if not MIN_EPOCH <= epoch < MAX_EPOCH:
        raise TimestampError(f"{text!r} is outside 1970-01-01T00:00:00Z..2100-01-01T00:00:00Z")
    return epoch


def format_timestamp(epoch: float) -> str:
    """UTC RFC 3339 text with microseconds and ``Z`` for epoch seconds.

    Raises ``TimestampError`` for values outside the accepted window (including NaN),
    so a producer can never write a timestamp its own consumers would refuse.
    """
    if not MIN_EPOCH <= epoch < MAX_EPOCH:
        raise TimestampError(f"timestamp {epoch!r} is outside the accepted window")
    instant = datetime.fromtimestamp(epoch, UTC)
    if instant.year >= _MAX_YEAR:  # rounded up to the microsecond across the bound
        raise TimestampError(f"timestamp {epoch!r} is outside the accepted window")
    return instant.isoformat(timespec="microseconds")[:-6] + "Z"
