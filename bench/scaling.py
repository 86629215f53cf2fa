"""Clustering time as tracked accounts grow: 2x accounts should cost about 2x time.

Usage: ``.venv/bin/python -m bench.scaling [--accounts 25000,50000,100000]``

For each size, ``bench.synthetic`` generates three privacy-mode events per account (5 % of
the accounts in campaigns of 200) and the account stage turns them into snapshots, untimed.
Timed: the cross-account path of the core over those snapshots in event-time order - token
frequency, LSH similarity, cluster stage, and the detector's periodic sweeps - which is the
part whose cost could grow faster than the number of accounts.  One JSON line per size, then
a summary line with the growth per doubling (target: <= 2.2).  ``seconds`` is this process's
CPU time (robust to other load on a shared machine), ``wall_seconds`` the elapsed time.
"""

from __future__ import annotations

import argparse
import gc
import itertools
import time

from bench.common import emit, pin_to_one_core, timed
from bench.synthetic import accounts_events
from streams.detector import Detector
from streams.messages import AccountSnapshot
from streams.records import Alert


def clustering_seconds(accounts: int, seed: int) -> dict:
    det = Detector()
    snapshots: list[AccountSnapshot] = []
    for event in accounts_events(accounts, seed):
        for msg in det.profiler.process(event, det.extract(event)):
            if isinstance(msg, AccountSnapshot):
                snapshots.append(msg)

    def run() -> list:
        out = []
        for snap in snapshots:
            out.extend(det.observe_event(snap.ts))
            out.extend(det.route(snap))
        return out

    gc.collect()
    cpu = time.process_time()
    wall, out = timed(run)
    seconds = time.process_time() - cpu
    alerts = [o for o in out if isinstance(o, Alert)]
    return {
        "accounts": accounts,
        "snapshots": len(snapshots),
        "pairs": det.counters["pairs"],
        "cluster_nodes": len(det.clusters.nodes),
        "alert_revisions": len(alerts),
        "clustered_accounts": len({a for alert in alerts for a in alert.accounts}),
        "seconds": round(seconds, 3),
        "wall_seconds": round(wall, 3),
        "us_per_account": round(1e6 * seconds / accounts, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", default="25000,50000,100000")
    parser.add_argument("--seed", type=int, default=5)
    args = parser.parse_args()
    pin_to_one_core()
    sizes = [int(s) for s in args.accounts.split(",")]
    results = []
    for size in sizes:
        result = clustering_seconds(size, args.seed)
        results.append(result)
        emit("scaling", **result)
    growth = [
        round((b["seconds"] / a["seconds"]) / (b["accounts"] / a["accounts"]) * 2, 3)
        for a, b in itertools.pairwise(results)
    ]
    emit(
        "scaling_summary",
        accounts=sizes,
        seconds=[r["seconds"] for r in results],
        time_ratio_per_doubling=growth,
        target_max=2.2,
        met=all(g <= 2.2 for g in growth),
    )


if __name__ == "__main__":
    main()
