"""Analyst decisions from the triage console: each publishes one record that changes what the
detectors do, then the decision itself to the audit log.

* **confirm** learns a signature from the finding, as ``distillwatch signatures learn
  --alert ID`` does (``streams.soc.learning`` with the settings' learning policy), and
  publishes it to the signatures topic, where every worker applies it;
* **dismiss** publishes a suppression of the finding's members to the compacted
  suppressions topic, which every worker's cross-account stage honours;
* **escalate** publishes a manual action for each member to the actions topic.

The result record is delivered before the decision record, so the audit log never names a
record that is not on its topic.  Records carry event time where the detector reads them
(suppressions, actions): the newest event time the console has seen on the alerts topic,
which is where the detectors stand; the decision carries the wall-clock time it was taken.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from agents.kafka.clients import make_producer
from agents.settings import Settings
from streams.errors import DeliveryError, DistillWatchError
from streams.records import Action, Alert, Decision, Suppression
from streams.soc.learning import signature_from_cluster
from streams.stages.scoring import stable_id
from streams.wire.codecs import encode

ESCALATIONS = ("watch", "throttle", "degrade", "block")
MAX_TEXT = 2048


class DecisionError(DistillWatchError):
    """A decision the console refuses, with the HTTP status to answer and why."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True, slots=True)
class Request:
    """What the analyst asked for, checked."""

    decision: str
    alert_id: str
    revision: int
    analyst: str
    reason: str
    action: str

    @classmethod
    def parse(cls, body: Any) -> Request:
        """The request of a JSON body; a ``DecisionError`` (400) names what is wrong."""
        if not isinstance(body, dict):
            raise DecisionError(400, "the body must be a JSON object")
        decision = body.get("decision")
        if decision not in ("confirm", "dismiss", "escalate"):
            raise DecisionError(400, "decision must be confirm, dismiss or escalate")
        fields = {}
        for name in ("alert_id", "analyst", "reason"):
            text = body.get(name)
            if not isinstance(text, str) or not text.strip() or len(text) > MAX_TEXT:
                raise DecisionError(400, f"{name} must be a non-empty text of at most 2048 chars")
            fields[name] = text.strip()
        if len(fields["analyst"]) > 256:
            raise DecisionError(400, "analyst must be at most 256 characters")
        revision = body.get("revision")
        if type(revision) is not int or revision < 1:
            raise DecisionError(400, "revision must be a positive integer")
        action = body.get("action", "degrade")
        if action not in ESCALATIONS:
            raise DecisionError(400, f"action must be one of {', '.join(ESCALATIONS)}")
        return cls(
            decision, fields["alert_id"], revision, fields["analyst"], fields["reason"], action
        )


class DecisionDesk:
    """Turns checked requests into records and publishes them."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.producer = make_producer(settings.bootstrap_servers, settings.kafka)

    def records(
        self, request: Request, revisions: list[Alert], stream_ts: float, now: float
    ) -> tuple[str, list[tuple[str, bytes]], Decision]:
        """The result topic, its (key, value) records and the decision, without publishing.

        ``revisions`` are the finding's revisions (oldest first); ``stream_ts`` the newest
        event time on the alerts topic.
        """
        seen = next((a for a in revisions if a.revision == request.revision), None)
        if seen is None:
            raise DecisionError(404, f"alert {request.alert_id} has no revision {request.revision}")
        if not seen.accounts:
            raise DecisionError(422, f"alert {request.alert_id} names no accounts")
        topics, service = self.settings.topics, self.settings.service
        decision_id = f"dec-{uuid.uuid4().hex}"
        ts = max(stream_ts, seen.ts)
        if request.decision == "confirm":
            try:
                signature = signature_from_cluster(
                    seen, self.settings.soc.lab_name, self.settings.soc.learning_policy()
                )
            except ValueError as exc:
                raise DecisionError(422, str(exc)) from None
            topic, result_id = topics.signatures, signature.signature_id
            records = [(result_id, encode(signature))]
        elif request.decision == "dismiss":
            suppression = Suppression(
                suppression_id=f"sup-{request.alert_id}",
                ts=ts,
                expires_at=ts + service.suppression_days * 86400.0,
                accounts=seen.accounts,
                alert_id=request.alert_id,
                analyst=request.analyst,
                reason=request.reason,
                decision_id=decision_id,
            )
            topic, result_id = topics.suppressions, suppression.suppression_id
            records = [(result_id, encode(suppression))]
        else:
            reason = f"manual escalation by {request.analyst}: {request.reason}"[:MAX_TEXT]
            actions = [
                Action(
                    action_id=f"act-{stable_id(decision_id, account)}",
                    ts=ts,
                    account_id=account,
                    action=request.action,  # type: ignore[arg-type]
                    reason=reason,
                    expires_at=ts + self.settings.detector.action_ttl_s,
                    alert_id=request.alert_id,
                )
                for account in seen.accounts
            ]
            topic, result_id = topics.actions, actions[0].action_id
            records = [(a.account_id, encode(a)) for a in actions]
        decision = Decision(
            decision_id=decision_id,
            ts=now,
            analyst=request.analyst,
            decision=request.decision,  # type: ignore[arg-type]
            reason=request.reason,
            alert_id=request.alert_id,
            revision=request.revision,
            accounts=seen.accounts,
            result_topic=topic,
            result_id=result_id,
        )
        return topic, records, decision

    def publish(self, topic: str, records: list[tuple[str, bytes]], decision: Decision) -> None:
        """Deliver the result records, then the decision (blocking: run it in an executor)."""
        self._deliver(topic, records)
        self._deliver(self.settings.topics.decisions, [(decision.alert_id, encode(decision))])

    def _deliver(self, topic: str, records: list[tuple[str, bytes]]) -> None:
        failures: list[str] = []

        def delivered(error: Any, message: Any) -> None:
            if error is not None:
                failures.append(str(error))

        for key, value in records:
            self.producer.produce(topic, key=key.encode(), value=value, on_delivery=delivered)
            self.producer.poll(0)
        if self.producer.flush(30) != 0 or failures:
            raise DeliveryError(f"not all records reached {topic}: {failures or 'timeout'}")
