"""Console decisions without a broker: who may decide, what a request must hold, and the
records each decision publishes."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from agents.service.console import Console
from agents.service.decisions import DecisionDesk, DecisionError, Request
from agents.settings import ServiceSettings, Settings
from streams.records import Alert
from streams.wire.codecs import decode_action, decode_suppression

ALERT = Alert(
    "coo-1", 2, 1_000.0, "coordinated_cluster", "high", 0.8, ("a1", "a2"), "cl-1",
    {"shared_templates": [], "similar_pairs": [], "infrastructure": {}},
)  # fmt: skip
BODY = {"decision": "dismiss", "alert_id": "coo-1", "revision": 2, "analyst": "dana",
        "reason": "partner load test"}  # fmt: skip


def _settings(token: str | None) -> Settings:
    service = ServiceSettings(console_token=SecretStr(token) if token else None)
    return Settings(bootstrap_servers="127.0.0.1:1", service=service)


def test_without_a_token_the_console_is_read_only():
    console = Console(_settings(None), suppressions=None)  # type: ignore[arg-type]
    assert not console.writable
    with pytest.raises(DecisionError, match="read-only") as refused:
        console.authorise({"X-DistillWatch-Console": "1", "X-DistillWatch-Token": ""})
    assert refused.value.status == 403


def test_a_post_needs_the_custom_header_and_the_token():
    console = Console(_settings("s3cret"), suppressions=None)  # type: ignore[arg-type]
    with pytest.raises(DecisionError, match="X-DistillWatch-Console"):
        console.authorise({"X-DistillWatch-Token": "s3cret"})
    with pytest.raises(DecisionError, match="wrong console token"):
        console.authorise({"X-DistillWatch-Console": "1", "X-DistillWatch-Token": "guess"})
    console.authorise({"X-DistillWatch-Console": "1", "X-DistillWatch-Token": "s3cret"})
    assert "s3cret" not in repr(_settings("s3cret"))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"decision": "delete"}, "decision must be"),
        ({"reason": "  "}, "reason must be"),
        ({"revision": "2"}, "revision must be"),
        ({"action": "ban"}, "action must be"),
    ],
)
def test_a_bad_request_is_refused_with_one_line(change, message):
    with pytest.raises(DecisionError, match=message) as refused:
        Request.parse({**BODY, **change})
    assert refused.value.status == 400


def test_dismiss_and_escalate_records_carry_the_stream_time():
    desk = DecisionDesk(_settings("t"))
    topic, records, decision = desk.records(Request.parse(BODY), [ALERT], 1_500.0, 9_999.0)
    suppression = decode_suppression(records[0][1])
    assert topic == "distillwatch.suppressions.v1" and records[0][0] == "sup-coo-1"
    assert (suppression.ts, suppression.accounts) == (1_500.0, ("a1", "a2"))
    assert suppression.expires_at == 1_500.0 + 30 * 86400.0
    assert (decision.ts, decision.result_id, decision.revision) == (9_999.0, "sup-coo-1", 2)
    escalate = Request.parse({**BODY, "decision": "escalate", "action": "block"})
    topic, records, decision = desk.records(escalate, [ALERT], 1_500.0, 9_999.0)
    actions = [decode_action(v) for _, v in records]
    assert topic == "distillwatch.actions.v1"
    assert [(a.account_id, a.action, a.alert_id) for a in actions] == [
        ("a1", "block", "coo-1"),
        ("a2", "block", "coo-1"),
    ]
    assert actions[0].reason == "manual escalation by dana: partner load test"
    assert decision.result_id == actions[0].action_id
    with pytest.raises(DecisionError, match="no revision 7") as missing:
        desk.records(Request.parse({**BODY, "revision": 7}), [ALERT], 0.0, 0.0)
    assert missing.value.status == 404
    with pytest.raises(DecisionError) as unlearnable:
        desk.records(Request.parse({**BODY, "decision": "confirm"}), [ALERT], 0.0, 0.0)
    assert unlearnable.value.status == 422
