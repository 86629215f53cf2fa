"""Detection quality of the core on labelled traffic (``distillwatch evaluate``).

The replay runs blind — the detector never sees the labels — through the same
``agents.tools.replay.replay_records`` path as forensic replay, and only then are its
alerts scored with ``streams.simulation.evaluation.evaluate``.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import orjson

from agents.tools.replay import read_jsonl, replay_records, requests_partitions
from streams.detector import Detector
from streams.errors import InputFileError
from streams.simulation.evaluation import evaluate
from streams.wire.codecs import encode


def evaluate_file(
    events: Path, labels: Path, settings: Any, alerts: Path | None = None
) -> dict[str, Any]:
    """The evaluation report of replaying ``events`` against ``labels`` (a simulation's
    labels.json), with the replay's summary and speed; ``alerts`` also gets the alerts."""
    try:
        truth = orjson.loads(labels.read_bytes())
    except orjson.JSONDecodeError as exc:
        raise InputFileError(f"{labels}: not a labels.json: {exc}") from None
    if not isinstance(truth, dict) or not all(
        isinstance(truth.get(part), dict) for part in ("accounts", "campaigns")
    ):
        raise InputFileError(f"{labels}: not a labels.json: no 'accounts' and 'campaigns'")
    started = time.perf_counter()
    result = replay_records(
        read_jsonl(events), requests_partitions(settings), Detector(settings.detector)
    )
    elapsed = time.perf_counter() - started
    if alerts is not None:
        with alerts.open("wb") as out:
            for alert in result.alerts:
                out.write(encode(alert) + b"\n")
    report = evaluate(result.alerts, truth)
    report["replay"] = {
        **result.summary,
        "seconds": round(elapsed, 2),
        "events_per_s": round(result.events / elapsed) if elapsed else None,
    }
    return report
