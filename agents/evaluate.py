"""``distillwatch evaluate``: detection quality of the core on labelled traffic.

The replay runs blind — the detector never sees the labels — through the same
``agents.replay.replay_records`` path as forensic replay, and only then are its
alerts scored with ``streams.simulation.evaluation.evaluate``.  The result is one JSON
object on stdout, so figures in the README can be re-run by anyone.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--events", type=Path, required=True, help="request events JSONL (.gz ok)")
    parser.add_argument("--labels", type=Path, required=True, help="labels.json of the simulation")
    parser.add_argument("--alerts", type=Path, help="also write the replayed alerts as JSONL")


def run(args: argparse.Namespace) -> int:
    import time

    import orjson

    from agents.replay import read_jsonl, replay_records, requests_partitions
    from agents.settings import get_settings
    from streams.detector import Detector
    from streams.simulation.evaluation import evaluate
    from streams.wire.codecs import encode

    labels = orjson.loads(args.labels.read_bytes())
    started = time.perf_counter()
    settings = get_settings()
    result = replay_records(
        read_jsonl(args.events), requests_partitions(settings), Detector(settings.detector)
    )
    elapsed = time.perf_counter() - started
    if args.alerts is not None:
        with args.alerts.open("wb") as out:
            for alert in result.alerts:
                out.write(encode(alert) + b"\n")
    report = evaluate(result.alerts, labels)
    report["replay"] = {
        **result.summary,
        "seconds": round(elapsed, 2),
        "events_per_s": round(result.events / elapsed) if elapsed else None,
    }
    sys.stdout.write(orjson.dumps(report, option=orjson.OPT_INDENT_2).decode() + "\n")
    return 0
