"""Golden outputs of the account stage: every byte it hands the shell, for equivalence checks.

Runs ``agents.stages.account.AccountStage`` over request records (a JSONL file, or the
seeded test traffic of ``tests.support.core_traffic``) placed on four partitions, with small
caps (so eviction and the cap run), signatures of every indicator kind (one retracted half
way), hostile records (malformed, duplicates, late and future events) and a restart from the
checkpoint half way.  Each batch writes one JSON line: its envelope bytes, dead letters,
alerts, actions, counters and checkpoint records (base64 where bytes).  Two runs of different
implementations must give identical files (``cmp``)::

    python -m tests.agents.stages.account_golden --out /tmp/golden.jsonl [--input events.jsonl]

``data/account_golden.jsonl.gz`` is the output of the former Python account stage for
``--limit 2000`` (``test_account_golden.py`` pins the native stage to it).
"""

from __future__ import annotations

import argparse
import base64
import dataclasses
import gzip
from pathlib import Path

import orjson

from agents.kafka.topics import partition_for
from agents.stages.account import AccountStage, StageOutput
from agents.stages.envelope import encode_envelope
from streams.config import DetectorConfig
from streams.records import Signature
from streams.timeparse import format_timestamp, parse_timestamp
from streams.wire.codecs import encode

PARTITIONS = 4
BATCH = 250


def config() -> DetectorConfig:
    return DetectorConfig(max_accounts=30, hot_accounts=16, dedup_max_ids=500, account_ttl_s=1800.0)


def signatures() -> list[Signature]:
    return [
        Signature(
            "sig-ip", "lab", 0.7, infrastructure={"ip_prefix": ("10.0.0.0/8", "2001:db8::/32")}
        ),
        Signature("sig-re", "lab", 0.9, prompt_patterns=(r"(?i)step by step", r"JSON")),
        Signature(
            "sig-asn", "lab", 0.96, infrastructure={"asn": ("64500", "16509"), "country": ("US",)}
        ),
        Signature(
            "sig-beh", "lab", 0.8, behaviour={"min_structured_share": 0.5, "max_gap_cv": 2.0}
        ),
        Signature(
            "sig-both",
            "lab",
            0.75,
            infrastructure={"user_agent": ("python-requests/2.31",), "model": ("gpt-x",)},
            behaviour={"min_events": 3.0},
        ),
    ]


def values_of(path: Path | None, limit: int) -> list[bytes]:
    if path is None:
        from tests.support.core_traffic import generate

        return [encode(e) for e in generate(seed=3).events[:limit]]
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as handle:
        return [line.rstrip(b"\r\n") for _, line in zip(range(limit), handle, strict=False)]


def hostile(values: list[bytes]) -> list[tuple[bytes, float | None]]:
    """The values with broker timestamps, and refusals of every kind mixed in."""
    out: list[tuple[bytes, float | None]] = []
    for i, value in enumerate(values):
        ts = parse_timestamp(orjson.loads(value)["ts"]) if value.startswith(b"{") else None
        broker = None if ts is None or i % 7 == 0 else ts + 1.0
        out.append((value, broker))
        if i % 97 == 5:
            out.append((value, broker))  # duplicate
        if i % 211 == 17:
            out.append((b"{not json", broker))
        if i % 263 == 31 and ts is not None:  # two hours behind: late
            row = orjson.loads(value)
            row.update(event_id=f"late-{row['event_id']}", ts=format_timestamp(ts - 7200.0))
            out.append((orjson.dumps(row), broker))
        if i % 307 == 11 and ts is not None:
            out.append((value.replace(b'"event_id":"', b'"event_id":"fut-'), ts - 3600.0))
    return out


def run(values: list[bytes], out_path: Path) -> None:
    cfg = config()
    by_part: dict[int, list[tuple[bytes, bytes, int, float | None]]] = {}
    for value, broker in hostile(values):
        try:
            account = orjson.loads(value)["account_id"]
        except (orjson.JSONDecodeError, KeyError, TypeError):
            account = "?"
        p = partition_for(account, PARTITIONS)
        rows = by_part.setdefault(p, [])
        key = b"elsewhere" if len(rows) % 50 == 3 else account.encode()  # misrouted
        rows.append((key, value, len(rows), broker))
    stage = AccountStage(cfg, "requests")
    sigs = signatures()
    for sig in sigs:
        stage.detector.apply_signature(sig)
    checkpoint: dict[int, dict[bytes, bytes | None]] = {p: {} for p in by_part}
    longest = max(len(rows) for rows in by_part.values())
    with out_path.open("wb") as sink:
        for start in range(0, longest, BATCH):
            if start == (longest // BATCH // 2) * BATCH:  # restart from the checkpoint
                stage = AccountStage(cfg, "requests")
                for sig in sigs:
                    stage.detector.apply_signature(sig)
                for p, records in checkpoint.items():
                    kept = {k: v for k, v in records.items() if v is not None}
                    stage.partition(p).restore(kept, cfg)
            if start == (longest // BATCH // 3) * BATCH:
                retract = dataclasses.replace(sigs[1], deleted=True)
                stage.detector.apply_signature(retract)
                stage.retract_signature(retract.signature_id)
            for p in sorted(by_part):
                rows = by_part[p][start : start + BATCH]
                if not rows:
                    continue
                out = StageOutput()
                stage.process(p, rows, out)
                part = stage.partitions[p]
                records = part.checkpoint_records()
                checkpoint[p].update(records)
                line = {
                    "p": p,
                    "envelope": encode_envelope(part.envelope(out.entries, False)).decode(),
                    "dead_letters": [encode(d).decode() for d in out.dead_letters],
                    "alerts": [encode(a).decode() for a in out.alerts],
                    "actions": [encode(a).decode() for a in out.actions],
                    "counts": [out.events, out.skipped, out.misrouted, out.evicted],
                    "tracked": len(part.profiler.states),
                    "checkpoint": [
                        [base64.b64encode(k).decode(), None if v is None else v.decode()]
                        for k, v in records
                    ],
                }
                sink.write(orjson.dumps(line) + b"\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--input", type=Path, help="request events JSONL (default: test traffic)")
    parser.add_argument("--limit", type=int, default=20_000, help="records read from --input")
    args = parser.parse_args()
    run(values_of(args.input, args.limit), args.out)


if __name__ == "__main__":
    main()
