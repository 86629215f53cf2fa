"""Request-event decoding: Python ``decode_requests`` vs native vs bare ``orjson.loads``.

Run from the repository root:  .venv/bin/python -m bench.native_codecs [--hours H] [--repeat N]

Prints one JSON line.  The three decoders run in the same process over the same encoded
simulator events (the default scenario shortened to ``--hours``, seed 1), in batches of
``--batch`` records with Kafka coordinates as the account stage passes them; each figure is
events per CPU second (``time.process_time``), best of ``--repeat`` passes, pinned to one core.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any

import orjson

from bench.common import emit, pin_to_one_core, simulated_events
from streams import codecs, native_codecs
from streams.codecs import encode
from streams.records import DeadLetter


def cpu_rate(run: Callable[[], Any], count: int, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.process_time()
        run()
        best = min(best, time.process_time() - started)
    return round(count / best, 1) if best > 0 else float("inf")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--hours", type=float, default=2.0)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--batch", type=int, default=500)
    args = parser.parse_args()
    cpu = pin_to_one_core()
    raws = [encode(event) for event in simulated_events(args.hours, seed=1)]
    batches = [
        [
            (raw, "requests", 0, start + i, 1.7e9)
            for i, raw in enumerate(raws[start : start + args.batch])
        ]
        for start in range(0, len(raws), args.batch)
    ]
    # Same results, or the figures compare different work.
    for batch in batches[:20]:
        assert codecs.decode_requests(batch) == native_codecs.decode_requests(batch)
    assert not any(isinstance(r, DeadLetter) for r in native_codecs.decode_requests(batches[0]))

    def python() -> None:
        for batch in batches:
            codecs.decode_requests(batch)

    def native() -> None:
        for batch in batches:
            native_codecs.decode_requests(batch)

    def bare() -> None:
        loads = orjson.loads
        for raw in raws:
            loads(raw)

    count = len(raws)
    py_rate = cpu_rate(python, count, args.repeat)
    native_rate = cpu_rate(native, count, args.repeat)
    orjson_rate = cpu_rate(bare, count, args.repeat)
    emit(
        "native_codecs",
        events=count,
        batch=args.batch,
        mean_record_bytes=round(sum(map(len, raws)) / count, 1),
        python_events_per_cpu_s=py_rate,
        native_events_per_cpu_s=native_rate,
        orjson_loads_per_cpu_s=orjson_rate,
        native_over_python=round(native_rate / py_rate, 2),
        native_over_orjson_loads=round(native_rate / orjson_rate, 2),
        python_over_orjson_loads=round(py_rate / orjson_rate, 2),
        cpu=cpu,
    )


if __name__ == "__main__":
    main()
