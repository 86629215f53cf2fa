"""``distillwatch signatures learn|export|import``: share detection signatures with partner labs.

* ``learn --alert ID`` -- an analyst confirms a cluster: the signature learned from the
  alert's latest revision (``streams.soc.learning``) is published to the signatures
  topic, where this lab's workers apply it at once and ``export`` finds it.  Learning is a
  separate, explicit step because publishing a signature is a decision (it can block
  accounts); export then shares only what this lab already runs.
* ``export --format stix`` -- the live signatures (the compacted topic read to its end,
  tombstones applied) as one STIX 2.1 bundle (``streams.soc.stix``).
* ``import FILE`` -- a partner's bundle, validated whole (``streams.soc.stix``: size and count
  bounds, strict STIX validation, whitelisted patterns, no evaluation), then published to the
  signatures topic keyed by signature id; revoked indicators are published as tombstones.
  A signature id already published by another source is neither replaced nor retracted.
  Running workers pick them up without a restart.  A refused file exits 2 with the object
  and the problem named, and nothing of it is published.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import orjson

from agents.tools.signatures import conflicts, live_signatures, publish


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="signatures_command", required=True, metavar="ACTION")
    learn = sub.add_parser("learn", help="publish the signature learned from a confirmed alert")
    learn.add_argument("--alert", required=True, help="alert id (coordinated_cluster or ...)")
    learn.add_argument("--alerts-topic", help="alerts topic (default: the configured one)")
    learn.add_argument("--dry-run", action="store_true", help="print it, publish nothing")
    export = sub.add_parser("export", help="write the live signatures as a STIX 2.1 bundle")
    export.add_argument("--format", choices=["stix"], default="stix")
    export.add_argument("--output", type=Path, help="bundle file (default: stdout)")
    imp = sub.add_parser("import", help="validate a partner's STIX 2.1 bundle and publish it")
    imp.add_argument("file", type=Path)
    imp.add_argument(
        "--allow-regex",
        action="store_true",
        help="accept prompt regular expressions (default: DISTILLWATCH_SOC__IMPORT_ALLOW_REGEX)",
    )
    imp.add_argument("--dry-run", action="store_true", help="validate only, publish nothing")


def _learn(args: argparse.Namespace, settings: Any) -> int:
    from agents.tools.report import alert_revisions_on_topic
    from streams.soc.learning import signature_from_cluster
    from streams.wire.codecs import encode

    topic = args.alerts_topic or settings.topics.alerts
    revisions = alert_revisions_on_topic(settings.bootstrap_servers, topic, args.alert)
    if not revisions:
        sys.stderr.write(f"distillwatch signatures learn: no alert {args.alert!r} on {topic}\n")
        return 2
    alert = revisions[-1]
    soc = settings.soc
    try:
        signature = signature_from_cluster(alert, soc.lab_name, soc.learning_policy())
    except ValueError as exc:
        sys.stderr.write(f"distillwatch signatures learn: {exc}\n")
        return 2
    record = encode(signature)
    if not args.dry_run:
        publish(
            settings.bootstrap_servers,
            settings.topics.signatures,
            [(signature.signature_id, record)],
        )
    sys.stdout.buffer.write(record + b"\n")
    return 0


def _export(args: argparse.Namespace, settings: Any) -> int:
    from streams.errors import StixError
    from streams.soc.stix import bundle_bytes, signatures_to_bundle

    signatures = live_signatures(settings.bootstrap_servers, settings.topics.signatures)
    try:
        data = bundle_bytes(signatures_to_bundle(signatures))
    except StixError as exc:
        sys.stderr.write(f"distillwatch signatures export: {exc}\n")
        return 2
    if args.output is None:
        sys.stdout.buffer.write(data)
    else:
        args.output.write_bytes(data)
    sys.stderr.write(orjson.dumps({"exported": len(signatures)}).decode() + "\n")
    return 0


def _import(args: argparse.Namespace, settings: Any) -> int:
    from streams.errors import StixError
    from streams.soc.stix import ImportLimits, bundle_to_signatures
    from streams.wire.codecs import encode

    soc = settings.soc
    limits = ImportLimits(
        soc.import_max_bytes, soc.import_max_objects, soc.import_allow_regex or args.allow_regex
    )
    try:
        with args.file.open("rb") as handle:
            data = handle.read(limits.max_bytes + 1)  # never more than the bound into memory
    except OSError as exc:
        sys.stderr.write(
            f"distillwatch signatures import: cannot read {args.file}: {exc.strerror}\n"
        )
        return 2
    if len(data) > limits.max_bytes:
        sys.stderr.write(
            f"signatures import: {args.file} is larger than {limits.max_bytes} bytes "
            "(DISTILLWATCH_SOC__IMPORT_MAX_BYTES); refused unread\n"
        )
        return 2
    try:
        signatures = bundle_to_signatures(data, limits)
    except StixError as exc:
        sys.stderr.write(f"distillwatch signatures import: {args.file}: {exc}\n")
        return 2
    clashes = conflicts(
        live_signatures(settings.bootstrap_servers, settings.topics.signatures), signatures
    )
    if clashes:
        sys.stderr.write(
            f"distillwatch signatures import: {args.file}: refused: {'; '.join(clashes)}\n"
        )
        return 2
    records = [(s.signature_id, None if s.deleted else encode(s)) for s in signatures]
    if not args.dry_run:
        publish(settings.bootstrap_servers, settings.topics.signatures, records)
    summary = {
        "imported": sum(not s.deleted for s in signatures),
        "retracted": sum(s.deleted for s in signatures),
        "topic": None if args.dry_run else settings.topics.signatures,
        "signatures": [s.signature_id for s in signatures],
    }
    sys.stdout.write(orjson.dumps(summary).decode() + "\n")
    return 0


def kafka_servers(args: argparse.Namespace, settings: Any) -> str | None:
    """learn and import publish, export and import read the live signatures."""
    return settings.bootstrap_servers


def run(args: argparse.Namespace) -> int:
    from agents.settings import get_settings

    settings = get_settings()
    handler = {"learn": _learn, "export": _export, "import": _import}[args.signatures_command]
    return handler(args, settings)
