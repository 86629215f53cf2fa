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
from streams.errors import CodecError, InputFileError
from streams.records import DeadLetter, Suppression
from streams.simulation.evaluation import evaluate
from streams.wire.codecs import decode_suppression, encode


def read_suppressions(path: Path) -> list[Suppression]:
    """Suppression records of a JSONL file (one suppression v1 per line, as on the
    suppressions topic); raises ``CodecError`` naming the first bad line."""
    found = []
    with path.open("rb") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            decoded = decode_suppression(line.rstrip(b"\r\n"))
            if isinstance(decoded, DeadLetter):
                raise CodecError(decoded.reason, f"{path} line {number}: {decoded.detail}")
            found.append(decoded)
    return found


def evaluate_file(
    events: Path,
    labels: Path,
    settings: Any,
    alerts: Path | None = None,
    suppressions: Path | None = None,
) -> dict[str, Any]:
    """The evaluation report of replaying ``events`` against ``labels`` (a simulation's
    labels.json), with the replay's summary and speed; ``alerts`` also gets the alerts.
    ``suppressions`` (JSONL) are applied to the detector first, as a worker would."""
    try:
        truth = orjson.loads(labels.read_bytes())
    except orjson.JSONDecodeError as exc:
        raise InputFileError(f"{labels}: not a labels.json: {exc}") from None
    if not isinstance(truth, dict) or not all(
        isinstance(truth.get(part), dict) for part in ("accounts", "campaigns")
    ):
        raise InputFileError(f"{labels}: not a labels.json: no 'accounts' and 'campaigns'")
    detector = Detector(settings.detector)
    applied = read_suppressions(suppressions) if suppressions is not None else []
    for suppression in applied:
        detector.apply_suppression(suppression)
    started = time.perf_counter()
    result = replay_records(read_jsonl(events), requests_partitions(settings), detector)
    elapsed = time.perf_counter() - started
    if alerts is not None:
        with alerts.open("wb") as out:
            for alert in result.alerts:
                out.write(encode(alert) + b"\n")
    report = evaluate(result.alerts, truth, detector.suppressions.windows)
    report["replay"] = {
        **result.summary,
        "seconds": round(elapsed, 2),
        "events_per_s": round(result.events / elapsed) if elapsed else None,
    }
    return report
