"""What every benchmark shares: simulator traffic, privacy-mode conversion and JSON lines.

Each benchmark prints one JSON object per line, each with a ``name``, so ``make bench`` output
can be grepped, diffed and loaded with ``jq -s``.  Traffic comes from the seeded simulator
(``streams.simulation``), so anyone gets the same events on a clean checkout.
"""

from __future__ import annotations

import dataclasses
import os
import platform
import sys
import time
from collections.abc import Callable, Iterable
from typing import Any

import orjson

from streams.records import RequestEvent
from streams.simulation import simulate
from streams.wire.fingerprint import prompt_fingerprints


def emit(name: str, **fields: Any) -> None:
    """One result line: ``{"name": ..., ...}``, flushed so a slow bench shows progress."""
    line = {"name": name, **fields, "python": platform.python_version()}
    sys.stdout.write(orjson.dumps(line, option=orjson.OPT_SERIALIZE_NUMPY).decode() + "\n")
    sys.stdout.flush()


def simulated_events(hours: float, seed: int, scenario: str = "default") -> list[RequestEvent]:
    """The default scenario shortened to ``hours``: every population and campaign, fewer people."""
    return simulate(scenario, seed, hours=hours).events


def to_privacy_mode(events: Iterable[RequestEvent]) -> list[RequestEvent]:
    """The same events as a privacy-mode gateway publishes them: fingerprint, no text.

    The fingerprints are computed here, on the producer side, with
    ``streams.wire.fingerprint.prompt_fingerprints`` (what a gateway runs, in batches of 512), so
    their cost is the gateway's and not the detector's.
    """
    events = list(events)
    texts = [i for i, e in enumerate(events) if e.prompt or e.system_prompt]
    out = list(events)
    for start in range(0, len(texts), 512):
        chunk = texts[start : start + 512]
        prints = prompt_fingerprints(
            [(events[i].prompt or "", events[i].system_prompt) for i in chunk]
        )
        for i, fingerprint in zip(chunk, prints, strict=True):
            out[i] = dataclasses.replace(
                events[i], prompt=None, system_prompt=None, prompt_fingerprint=fingerprint
            )
    return out


def timed(run: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = run()
    return time.perf_counter() - started, result


def rate(count: int, seconds: float) -> float:
    return round(count / seconds, 1) if seconds > 0 else float("inf")


def rss_bytes() -> int:
    """Resident set size of this process now (Linux ``/proc/self/statm``)."""
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def pin_to_one_core() -> int | None:
    """Run on one CPU so a figure is per core even when numpy or a library could fan out."""
    if not hasattr(os, "sched_setaffinity"):
        return None
    cpu = min(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {cpu})
    return cpu
