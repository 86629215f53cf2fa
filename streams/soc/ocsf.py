"""Alerts as OCSF Detection Findings (class 2004), the form SIEMs ingest without a parser.

Splunk, Elastic and Microsoft Sentinel all read OCSF: one JSON object per finding with
normalised ids (``class_uid``, ``severity_id``, ``activity_id``) and epoch-millisecond
times.  The mapping keeps the alert's identity stable for their deduplication:

* ``finding_info.uid`` is the alert id, the same in live processing, replay and after a
  restart; ``metadata.uid`` adds the revision, so each revision is one distinct event;
* ``activity_id`` is Create (1) for revision 1 and Update (2) after it;
* ``time`` is the revision's event time, ``start_time``/``end_time`` the activity span;
* ``severity_id``: low 2, medium 3, high 4, critical 5 (OCSF Low..Critical);
* ``confidence_score`` is the alert score in percent, ``confidence_id`` its band;
* member accounts are ``resources`` (type ``api_account``), and the whole alert (evidence,
  signatures, cluster id) is kept under ``unmapped.distillwatch`` so nothing is lost.

Pure: no I/O, no wall clock.
"""

from __future__ import annotations

from typing import Any

from streams.records import Alert
from streams.timeparse import format_timestamp

OCSF_VERSION = "1.6.0"
"""The OCSF release line the vendored class definitions (schemas/vendor/ocsf) come from."""

CATEGORY_UID = 2  # Findings
CLASS_UID = 2004  # Detection Finding (category 2 * 1000 + class 4)
SEVERITY_IDS = {"low": 2, "medium": 3, "high": 4, "critical": 5}
SEVERITY_NAMES = {2: "Low", 3: "Medium", 4: "High", 5: "Critical"}
KIND_TITLES = {
    "coordinated_cluster": "Coordinated accounts distilling the model",
    "template_campaign": "Prompt template used as a distillation campaign",
    "account_extraction": "Account extracting model outputs at scale",
    "signature_match": "Traffic matching a shared distillation signature",
}


def _ms(epoch_s: float) -> int:
    return round(epoch_s * 1000)


def _wire_evidence(evidence: dict[str, Any]) -> dict[str, Any]:
    """Evidence as on the alerts topic: ``time_span`` in RFC 3339 text, not epoch seconds."""
    span = evidence.get("time_span")
    if not isinstance(span, dict):
        return evidence
    return {
        **evidence,
        "time_span": {
            k: format_timestamp(v) if k in ("first", "last") and isinstance(v, int | float) else v
            for k, v in span.items()
        },
    }


def confidence_band(score: float) -> tuple[int, str]:
    """OCSF confidence_id/confidence of a score: Low below 0.5, Medium below 0.8, else High."""
    if score < 0.5:
        return 1, "Low"
    if score < 0.8:
        return 2, "Medium"
    return 3, "High"


def detection_finding(alert: Alert, product_version: str = "") -> dict[str, Any]:
    """The OCSF Detection Finding of one alert revision (JSON-ready)."""
    activity_id = 1 if alert.revision == 1 else 2
    activity = "Create" if activity_id == 1 else "Update"
    severity_id = SEVERITY_IDS[alert.severity]
    confidence_id, confidence = confidence_band(alert.score)
    members = len(alert.accounts)
    title = KIND_TITLES.get(alert.kind, alert.kind)
    span = alert.evidence.get("time_span") or {}
    first, last = span.get("first"), span.get("last")
    product = {"name": "DistillWatch", "vendor_name": "DistillWatch", "uid": "distillwatch"}
    if product_version:
        product["version"] = product_version
    finding_info: dict[str, Any] = {
        "uid": alert.alert_id,
        "title": title,
        "desc": (
            f"{title}: {members} account{'s' if members != 1 else ''}, score "
            f"{alert.score:.2f}, revision {alert.revision}."
        ),
        "types": [alert.kind],
        "modified_time": _ms(alert.ts),
        "product": product,
    }
    finding: dict[str, Any] = {
        "activity_id": activity_id,
        "activity_name": activity,
        "category_uid": CATEGORY_UID,
        "category_name": "Findings",
        "class_uid": CLASS_UID,
        "class_name": "Detection Finding",
        "type_uid": CLASS_UID * 100 + activity_id,
        "type_name": f"Detection Finding: {activity}",
        "time": _ms(alert.ts),
        "severity_id": severity_id,
        "severity": SEVERITY_NAMES[severity_id],
        "confidence_id": confidence_id,
        "confidence": confidence,
        "confidence_score": round(alert.score * 100),
        "is_alert": True,
        "status_id": 1,
        "status": "New",
        "message": finding_info["desc"],
        "metadata": {
            "version": OCSF_VERSION,
            "product": product,
            "uid": f"{alert.alert_id}:{alert.revision}",
            "correlation_uid": alert.cluster_id or alert.alert_id,
            "log_name": "distillwatch.alerts",
            "profiles": [],
        },
        "finding_info": finding_info,
        "resources": [{"uid": account, "type": "api_account"} for account in alert.accounts],
        "unmapped": {
            "distillwatch": {
                "alert_id": alert.alert_id,
                "revision": alert.revision,
                "kind": alert.kind,
                "score": alert.score,
                "cluster_id": alert.cluster_id,
                "signatures": list(alert.signatures),
                "evidence": _wire_evidence(alert.evidence),
            }
        },
    }
    if isinstance(first, int | float) and isinstance(last, int | float):
        finding["start_time"] = _ms(first)
        finding["end_time"] = _ms(last)
        finding_info["first_seen_time"] = _ms(first)
        finding_info["last_seen_time"] = _ms(last)
    return finding
