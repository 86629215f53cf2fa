"""Alerts in a SOC's format (``distillwatch alerts tail``): which to keep and how to print them.

Formats: ``json`` (the alert v1 record as on the topic), ``ocsf`` (one OCSF Detection
Finding per alert revision, ``streams.soc.ocsf``) and ``table`` (one aligned line per
revision for a person).
"""

from __future__ import annotations

from streams.records import Alert

FORMATS = ("json", "ocsf", "table")
KINDS = ("coordinated_cluster", "template_campaign", "account_extraction", "signature_match")
SEVERITIES = ("low", "medium", "high", "critical")


def keep(alert: Alert, kinds: set[str] | None, min_severity: str) -> bool:
    from streams.stages.scoring import SEVERITY_RANK

    if kinds and alert.kind not in kinds:
        return False
    return SEVERITY_RANK[alert.severity] >= SEVERITY_RANK[min_severity]


def table_header() -> str:
    return f"{'event time':<20} {'severity':<8} {'kind':<19} {'rev':>3} {'acc':>4} score alert_id"


def table_row(alert: Alert) -> str:
    from streams.timeparse import format_timestamp

    return (
        f"{format_timestamp(alert.ts)[:19]:<20} {alert.severity:<8} {alert.kind:<19} "
        f"{alert.revision:>3} {len(alert.accounts):>4} {alert.score:5.2f} {alert.alert_id}"
    )


def render(alert: Alert, fmt: str, product_version: str) -> bytes:
    import orjson

    from streams.soc.ocsf import detection_finding
    from streams.wire.codecs import encode

    if fmt == "json":
        return encode(alert)
    if fmt == "ocsf":
        return orjson.dumps(detection_finding(alert, product_version), option=orjson.OPT_SORT_KEYS)
    return table_row(alert).encode()
