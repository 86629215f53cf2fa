"""Memory per tracked account: resident memory and serialised state, at 100k and 1M accounts.

Usage: ``.venv/bin/python -m bench.memory [--accounts 100000,1000000] [--built 100000]``

Per-account state is what the native profiles hold (``streams._native``, the structs a
worker's account stage keeps per account, every one decoded).  ``--built`` accounts get real
profiles: three privacy-mode events each from ``bench.synthetic`` through
``AccountProfiler.process`` (the core's own API).  A larger size is reached by loading copies
of those profiles into a profiler under new account ids, as a restart from checkpoints does
(``AccountProfiler.load`` of each checkpoint value): every copy is a separate allocation, so
resident memory is that of really holding N profiles while the build stays within seconds.
``rss_bytes_per_account`` is the growth of this process's RSS over the empty profiler divided
by N; ``state_bytes_*`` are the sizes of the checkpoint values (a copy serialises to its
original's bytes); ``load_us_per_account`` is that restart's cost per account and
``event_us`` what one more event of an already-tracked account costs.  Target: <= 1 KB per
tracked account.  One JSON line per size.

First, a ``memory_stages`` line: the simulator's traffic (``--hours``) through a whole
``Detector``, and each stage's serialised state (``to_bytes``) per account it tracks: account
profiles, similarity buckets per member account (keyed as the service stores them, and
de-duplicated as one process holds them), cluster stage per node, and the fixed-size global
sketches.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import orjson

from bench.common import emit, rss_bytes, simulated_events
from bench.synthetic import accounts_events
from streams.detector import Detector

EVENT_SAMPLE = 20_000
"""Tracked accounts given one more event to time ``event_us``."""


def built_states(accounts: int, seed: int) -> list[bytes]:
    det = Detector()
    for event in accounts_events(accounts, seed):
        det.profiler.process(event, det.extract(event))
    native = det.profiler.native
    return [native.state(account) for account in native.accounts()]


def stage_breakdown(hours: float, seed: int) -> None:
    events = simulated_events(hours, seed)
    det = Detector()
    det.process_many(events)
    det.advance_to(events[-1].ts)
    native = det.profiler.native
    profiles = sorted(len(native.state(a)) for a in native.accounts())
    accounts = len(profiles)
    similarity = det.similarity
    members = {m.account_id for bucket in similarity.buckets.values() for m in bucket}
    keyed = sum(len(similarity.bucket_to_bytes(k)) for k in similarity.buckets)
    snapshot = len(det.snapshot())
    emit(
        "memory_stages",
        events=len(events),
        hours=hours,
        tracked_accounts=accounts,
        profile_bytes_mean=round(statistics.fmean(profiles), 1),
        profile_bytes_p95=profiles[int(accounts * 0.95)],
        profile_bytes_max=profiles[-1],
        similarity_keys=len(similarity.buckets),
        similarity_bytes_per_member_keyed=round(keyed / max(len(members), 1), 1),
        similarity_bytes_per_member_in_process=round(
            len(similarity.to_bytes()) / max(len(members), 1), 1
        ),
        cluster_nodes=len(det.clusters.nodes),
        cluster_bytes_per_node=round(
            len(det.clusters.to_bytes()) / max(len(det.clusters.nodes), 1), 1
        ),
        token_frequency_bytes_global=len(det.frequency.to_bytes()),
        template_stage_bytes_global=len(det.templates.to_bytes()),
        detector_snapshot_bytes_per_account=round(snapshot / max(accounts, 1), 1),
    )


def measure(size: int, blobs: list[bytes], built: int, seed: int) -> None:
    """Hold ``size`` profiles in a profiler of this (fresh) process and report what they cost."""
    det = Detector()
    profiler = det.profiler
    extra = next(iter(accounts_events(1, seed + 1)))
    gc.collect()
    before = rss_bytes()
    started = time.perf_counter()
    for i in range(size):
        profiler.load(f"acct-{i:08d}", blobs[i % len(blobs)])
    load_s = time.perf_counter() - started
    gc.collect()
    grown = rss_bytes() - before
    touched = min(size, EVENT_SAMPLE)
    events = [replace(extra, account_id=f"acct-{i:08d}", ts=extra.ts + i) for i in range(touched)]
    match = det.extract(extra)
    started = time.perf_counter()
    for event in events:
        profiler.process(event, match)
    event_s = time.perf_counter() - started
    # Copies serialise to their original's bytes, so the sizes of the built ones are exact.
    sizes = sorted(len(b) for b in blobs[:size])
    emit(
        "memory",
        accounts=size,
        built_through_profiler=min(size, built),
        rss_bytes_per_account=round(grown / size, 1),
        state_bytes_mean=round(statistics.fmean(sizes), 1),
        state_bytes_p50=sizes[len(sizes) // 2],
        state_bytes_p95=sizes[int(len(sizes) * 0.95)],
        state_bytes_max=sizes[-1],
        load_us_per_account=round(1e6 * load_s / size, 2),
        event_us=round(1e6 * event_s / touched, 2),
        target_bytes=1024,
        rss_met=grown / size <= 1024,
        state_met=statistics.fmean(sizes) <= 1024,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", default="100000,1000000")
    parser.add_argument("--built", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--hours", type=float, default=0.5, help="simulated hours (stages)")
    parser.add_argument("--measure", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--blobs", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.measure:
        blobs = [b.encode() for b in orjson.loads(args.blobs.read_bytes())]
        measure(args.measure, blobs, args.built, args.seed)
        return
    stage_breakdown(args.hours, args.seed)
    blobs = built_states(args.built, args.seed)
    with tempfile.NamedTemporaryFile(suffix=".json") as fh:
        fh.write(orjson.dumps([b.decode() for b in blobs]))
        fh.flush()
        for size in args.accounts.split(","):
            # A fresh process per size: freed memory of an earlier size would hide the growth.
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "bench.memory",
                    "--measure",
                    size,
                    "--blobs",
                    fh.name,
                    "--built",
                    str(len(blobs)),
                ],
                check=True,
            )


if __name__ == "__main__":
    main()
