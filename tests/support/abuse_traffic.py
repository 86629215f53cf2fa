"""Floods an attacker adds to hide a campaign: fresh accounts and one-off prompt templates.

Each flood event comes from a never-seen account of its own organisation and carries a
wrapper prompt whose instruction words are random, so it opens a template of its own.  The
events are spread evenly over the span of the traffic they are mixed into.
"""

from __future__ import annotations

import random
from dataclasses import replace

from streams.records import RequestEvent

_CONSONANTS = "bcdfghjklmnprstvz"
_VOWELS = "aeiou"


def _word(rng: random.Random) -> str:
    return "".join(rng.choice(_CONSONANTS) + rng.choice(_VOWELS) for _ in range(3))


def flood_prompt(rng: random.Random, index: int) -> str:
    words = " ".join(_word(rng) for _ in range(3))
    return (
        f"Summarise the following {words} report and return JSON with the fields summary "
        f"and risk:\n\nThe quarterly numbers went up by {index} percent."
    )


def flood(events: list[RequestEvent], count: int, seed: int = 7) -> list[RequestEvent]:
    """``events`` with ``count`` flood events mixed in, in event-time order."""
    rng = random.Random(seed)
    template = events[0]
    first, last = events[0].ts, events[-1].ts
    step = (last - first) / max(count, 1)
    added = [
        replace(
            template,
            event_id=f"flood-{seed}-{i}",
            ts=first + (i + 0.5) * step,
            account_id=f"flood{seed}-{i:07d}",
            org_id=f"org-flood{seed}-{i:07d}",
            api_key_id=f"key-flood{seed}-{i:07d}",
            prompt=flood_prompt(rng, i),
            system_prompt=None,
            prompt_fingerprint=None,
            payment_fingerprint=None,
            account_created_at=first + i * step - 60.0,
            extra={},
        )
        for i in range(count)
    ]
    return sorted([*events, *added], key=lambda e: (e.ts, e.event_id))
