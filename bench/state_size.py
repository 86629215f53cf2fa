"""Serialised state of the detection core per tracked account, as JSON.

Usage: ``.venv/bin/python bench/state_size.py [--events FILE.jsonl] [--limit N]``

Replays the events (default: the core tests' generator) through a
``Detector`` and reports, from each stage's own ``to_bytes``, the bytes per
account of the profiles (the per-key state of the account stage), the
similarity buckets and the cluster stage divided by the accounts they track,
and the fixed-size global sketches.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

from streams.codecs import decode_request, encode
from streams.detector import Detector
from streams.records import RequestEvent


def load(path: str | None, limit: int) -> list[RequestEvent]:
    if path:
        with open(path, "rb") as fh:
            raws = [line for _, line in zip(range(limit), fh, strict=False) if line.strip()]
        return [e for e in map(decode_request, raws) if isinstance(e, RequestEvent)]
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
    from core_traffic import generate

    return [e for e in generate(seed=1).events[:limit] if decode_request(encode(e))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", help="JSONL file of request events (wire format)")
    parser.add_argument("--limit", type=int, default=200_000)
    args = parser.parse_args()

    events = load(args.events, args.limit)
    det = Detector()
    det.process_many(events)
    det.advance_to(events[-1].ts)

    profiles = sorted(len(s.to_bytes()) for s in det.profiler.states.values())
    accounts = len(profiles)
    members = {m.account_id for bucket in det.similarity.buckets.values() for m in bucket}
    bucket_bytes = sum(len(det.similarity.bucket_to_bytes(k)) for k in det.similarity.buckets)
    similarity_dedup = len(det.similarity.to_bytes())
    clusters = len(det.clusters.to_bytes())
    report = {
        "events": len(events),
        "tracked_accounts": accounts,
        "profile_bytes_mean": round(statistics.fmean(profiles), 1),
        "profile_bytes_p50": profiles[accounts // 2],
        "profile_bytes_p95": profiles[int(accounts * 0.95)],
        "profile_bytes_max": profiles[-1],
        "similarity_keys": len(det.similarity.buckets),
        "similarity_bytes_per_member_account_keyed": round(bucket_bytes / max(len(members), 1), 1),
        "similarity_bytes_per_member_account_in_process": round(
            similarity_dedup / max(len(members), 1), 1
        ),
        "cluster_nodes": len(det.clusters.nodes),
        "cluster_bytes_per_node": round(clusters / max(len(det.clusters.nodes), 1), 1),
        "token_frequency_bytes_global": len(det.frequency.to_bytes()),
        "template_stage_bytes_global": len(det.templates.to_bytes()),
        "detector_snapshot_bytes": len(det.snapshot()),
        "detector_snapshot_bytes_per_account": round(len(det.snapshot()) / max(accounts, 1), 1),
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
