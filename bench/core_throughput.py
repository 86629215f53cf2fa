"""Throughput of the in-process detection core on one core, as JSON.

Usage: ``.venv/bin/python bench/core_throughput.py [--events FILE.jsonl] [--limit N]``

Without ``--events`` the traffic comes from the small generator of the core
tests (``tests/core_traffic.py``).  All stages are timed in the same run so
the numbers compare: a bare decode loop (the floor any consumer pays),
template extraction alone, the detector without extraction (matches
precomputed) and the whole ``Detector.process_many``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from streams.codecs import decode_request, encode
from streams.detector import Detector
from streams.records import RequestEvent
from streams.templates import TemplateExtractor


def load(path: str | None, limit: int) -> list[bytes]:
    if path:
        with open(path, "rb") as fh:
            return [line for _, line in zip(range(limit), fh, strict=False) if line.strip()]
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
    from core_traffic import generate

    return [encode(e) for e in generate(seed=1).events[:limit]]


def rate(count: int, seconds: float) -> float:
    return round(count / seconds, 1) if seconds > 0 else float("inf")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", help="JSONL file of request events (wire format)")
    parser.add_argument("--limit", type=int, default=50_000)
    args = parser.parse_args()

    raws = load(args.events, args.limit)
    start = time.perf_counter()
    decoded = [decode_request(r) for r in raws]
    decode_s = time.perf_counter() - start
    events = [e for e in decoded if isinstance(e, RequestEvent)]

    extractor = TemplateExtractor()
    start = time.perf_counter()
    matches = {
        e.event_id: extractor.extract(e.prompt, e.system_prompt, e.prompt_fingerprint)
        for e in events
    }
    extract_s = time.perf_counter() - start

    core = Detector()
    core.extract = lambda e: matches[e.event_id]  # type: ignore[method-assign]
    start = time.perf_counter()
    core.process_many(events)
    core_s = time.perf_counter() - start

    whole = Detector()
    start = time.perf_counter()
    outputs = whole.process_many(events)
    whole_s = time.perf_counter() - start

    print(
        json.dumps(
            {
                "events": len(events),
                "dead_letters": len(decoded) - len(events),
                "decode_events_per_s": rate(len(raws), decode_s),
                "extract_events_per_s": rate(len(events), extract_s),
                "core_without_extraction_events_per_s": rate(len(events), core_s),
                "detector_events_per_s": rate(len(events), whole_s),
                "detector_vs_decode": round(decode_s / whole_s, 3) if whole_s else None,
                "outputs": len(outputs),
                "counters": whole.counters,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
