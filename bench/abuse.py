"""Detector state under a flood of fresh accounts and one-off templates, and the campaign in it.

Usage: ``.venv/bin/python -m bench.abuse [--flood N] [--max-accounts A] [--max-templates T]
[--no-caps]``

An attacker who wants to blind or bloat the detector sends ``N`` extra requests, each from a
never-seen account with a never-seen wrapper template, spread over the core tests' traffic
(two coordinated campaigns among ordinary users).  The detector runs in process with the
given caps (``--no-caps``: caps far above the flood) and the bench prints one JSON line: the
peak number of accounts and templates held, the serialised state at the end, the process's
peak RSS, the evictions, and whether both campaigns were still named (share of their
accounts in coordinated-cluster and template-campaign alerts).
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import time
from dataclasses import replace

from streams.config import DetectorConfig, TemplateStatsConfig
from streams.detector import Detector
from streams.records import Alert
from tests.support.abuse_traffic import flood
from tests.support.core_traffic import generate

UNCAPPED = 10**9


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--flood", type=int, default=100_000)
    parser.add_argument("--max-accounts", type=int, default=20_000)
    parser.add_argument("--max-templates", type=int, default=10_000)
    parser.add_argument("--no-caps", action="store_true", help="caps far above the flood")
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()
    max_accounts = UNCAPPED if args.no_caps else args.max_accounts
    max_templates = UNCAPPED if args.no_caps else args.max_templates

    traffic = generate(seed=args.seed, duration=2700.0, benign=150, campaign_size=25)
    events = flood(traffic.events, args.flood)
    config = DetectorConfig(
        max_accounts=max_accounts,
        template_stats=replace(TemplateStatsConfig(), max_templates=max_templates),
    )
    det = Detector(config)
    peak_accounts = peak_templates = 0
    alerts: list[Alert] = []
    started = time.perf_counter()
    for i, event in enumerate(events):
        alerts.extend(o for o in det.process(event) if isinstance(o, Alert))
        if i % 100 == 0:
            peak_accounts = max(peak_accounts, len(det.profiler.states))
            peak_templates = max(peak_templates, len(det.templates.stats.templates))
    elapsed = time.perf_counter() - started

    def share(prefix: str, kind: str) -> float:
        members = {a for a in traffic.labels if a.startswith(prefix)}
        named = {a for alert in alerts if alert.kind == kind for a in alert.accounts}
        return round(len(members & named) / len(members), 3)

    flood_named = {a for alert in alerts for a in alert.accounts if a.startswith("flood")}
    report = {
        "name": "abuse_flood",
        "flood_events": args.flood,
        "events": len(events),
        "max_accounts": None if args.no_caps else max_accounts,
        "max_templates": None if args.no_caps else max_templates,
        "peak_accounts": peak_accounts,
        "peak_templates": peak_templates,
        "accounts_at_end": len(det.profiler.states),
        "templates_at_end": len(det.templates.stats.templates),
        "evicted_accounts": det.counters.get("evicted_accounts", 0),
        "evicted_templates": det.templates.stats.evicted_templates,
        "profile_state_bytes": sum(len(s.to_bytes()) for s in det.profiler.states.values()),
        "template_stage_bytes": len(det.templates.to_bytes()),
        "snapshot_bytes": len(det.snapshot()),
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "events_per_s": round(len(events) / elapsed),
        "harvest_campaign_clustered_share": share("harv", "coordinated_cluster"),
        "wrapper_campaign_template_alert_share": share("wrap", "template_campaign"),
        "flood_accounts_named": len(flood_named),
        "python": platform.python_version(),
    }
    print(json.dumps(report))


if __name__ == "__main__":
    main()
