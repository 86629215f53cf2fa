"""The triage console in a real headless browser (Debian's chromium through Playwright),
against a real worker on fresh topics of the local broker: the page loads, findings appear,
each decision button publishes its record and the audit record, the detector honours the
dismissal, and the page fetches nothing from outside the worker."""

from __future__ import annotations

import os
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from streams.detector import Detector
from streams.records import Action, Alert
from streams.wire.codecs import (
    decode_action,
    decode_alert,
    decode_decision,
    decode_signature,
    decode_suppression,
)
from tests.service.harness import wait_applied_to_end

pytestmark = [pytest.mark.service, pytest.mark.browser]

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TOKEN = "console-test-token"
DEADLINE_MS = 120_000


def _cross_account(out, accounts: set[str], after: float) -> list:
    """Alerts and actions of the cross-account stages after event time ``after`` that name
    one of ``accounts`` (the account stage's own findings, and manual actions, excluded)."""
    named = []
    for o in out:
        if o.ts <= after:
            continue
        if isinstance(o, Action):
            if o.account_id in accounts and o.reason.split(":")[0] in (
                "coordinated_cluster",
                "template_campaign",
                "signature_match",
            ):
                named.append(o)
        elif o.kind != "account_extraction" and accounts & set(o.accounts):
            named.append(o)
    return named


def _all(deployment, role: str) -> list[bytes]:
    """Every record value of a topic of the deployment, as it stands now."""
    total = sum(deployment.end_offsets(role).values())
    return [r[3] for r in deployment.read(role, lambda r: len(r) >= total, 60)]


def _post(origin: str, headers: dict[str, str]) -> int:
    request = urllib.request.Request(
        f"{origin}/console/api/decisions", data=b"{}", headers=headers, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


@pytest.fixture(scope="module")
def chromium():
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} is missing: `make test` installs Debian's chromium"
        if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        yield browser
        browser.close()


def test_decisions_in_the_console_publish_records_and_the_detector_honours_a_dismissal(
    deployment, traffic, chromium, tmp_path
):
    events = traffic.events
    plain = Detector().process_many(events)
    firsts: dict[str, Alert] = {}
    for o in plain:
        if isinstance(o, Alert) and o.kind == "coordinated_cluster":
            firsts.setdefault(o.alert_id, o)
    assert len(firsts) >= 2, "the traffic has two coordinated campaigns"
    dismissed_first, confirmed_first = sorted(firsts.values(), key=lambda a: a.ts)[:2]
    cut = max(dismissed_first.ts, confirmed_first.ts) + 1.0
    head = [e for e in events if e.ts <= cut]
    tail = [e for e in events if e.ts > cut]

    worker = deployment.start_worker(
        f"console-{deployment.run}", "console", {"DISTILLWATCH_SERVICE__CONSOLE_TOKEN": TOKEN}
    )
    origin = f"http://127.0.0.1:{worker.args[worker.args.index('--web-port') + 1]}"
    deployment.produce(head)
    applied, ends = wait_applied_to_end(deployment, worker, 150)
    assert applied == ends, deployment.logs()

    page = chromium.new_page(viewport={"width": 1400, "height": 1000})
    outside: list[str] = []

    def guard(route) -> None:
        if route.request.url.startswith(origin + "/"):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    page.route("**/*", guard)
    page.goto(f"{origin}/console", timeout=DEADLINE_MS)
    dismiss_row = f"tr[data-id='{dismissed_first.alert_id}']"
    confirm_row = f"tr[data-id='{confirmed_first.alert_id}']"
    page.wait_for_selector(dismiss_row, timeout=DEADLINE_MS)
    page.wait_for_selector(confirm_row, timeout=DEADLINE_MS)
    time.sleep(3)  # the cross-account stage's idle flush: every head revision is out

    # read-only until signed in; a POST without the custom header or with a wrong token: 403
    page.click(confirm_row)
    page.wait_for_selector("#decide #confirm[disabled]")
    assert _post(origin, {"X-DistillWatch-Token": TOKEN}) == 403
    assert _post(origin, {"X-DistillWatch-Console": "1", "X-DistillWatch-Token": "x"}) == 403
    page.fill("#analyst", "dana")
    page.fill("#token", TOKEN)
    page.click("#use")

    def decide(row: str, button: str, reason: str, action: str | None = None) -> None:
        page.click(row)
        page.wait_for_selector(f"#decide #{button}:not([disabled])")
        page.fill("#reason", reason)
        if action is not None:
            page.select_option("#action", action)
        page.click(f"#{button}")
        page.wait_for_selector("#outcome .ok", timeout=30_000)

    decide(confirm_row, "confirm", "same JSON wrapper as last week's campaign")
    decide(confirm_row, "escalate", "throttle while the signature rolls out", "throttle")
    decide(dismiss_row, "dismiss", "a partner's load test, agreed by contract")
    page.wait_for_selector(f"{dismiss_row} .tag.dismiss", timeout=30_000)
    page.wait_for_function(
        "() => document.getElementById('status').textContent.includes('1 suppressions')"
    )
    page.wait_for_selector("#detail table:has-text('agreed by contract')")  # its audit trail
    page.screenshot(path=str(tmp_path / "console.png"), full_page=True)

    decisions = [decode_decision(v) for v in _all(deployment, "decisions")]
    by_kind = {d.decision: d for d in decisions}
    assert set(by_kind) == {"confirm", "escalate", "dismiss"}
    assert {d.analyst for d in decisions} == {"dana"}
    assert by_kind["dismiss"].reason == "a partner's load test, agreed by contract"
    assert by_kind["confirm"].alert_id == confirmed_first.alert_id
    signatures = [decode_signature(v) for v in _all(deployment, "signatures")]
    assert [s.signature_id for s in signatures] == [by_kind["confirm"].result_id]
    (suppression,) = [decode_suppression(v) for v in _all(deployment, "suppressions")]
    assert suppression.suppression_id == by_kind["dismiss"].result_id
    assert suppression.decision_id == by_kind["dismiss"].decision_id
    escalated = by_kind["escalate"]
    manual = [
        a
        for a in map(decode_action, _all(deployment, "actions"))
        if a.reason.startswith("manual escalation by dana")
    ]
    assert {a.account_id for a in manual} == set(escalated.accounts)
    assert {a.action for a in manual} == {"throttle"}
    assert escalated.result_id in {a.action_id for a in manual}

    # the detector's reaction: the rest of the campaign brings no new revision or action for
    # the dismissed accounts, where the same traffic without the dismissal brings many
    accounts = set(suppression.accounts)
    assert _cross_account(plain, accounts, suppression.ts)
    deployment.produce(tail)
    applied, ends = wait_applied_to_end(deployment, worker, 150)
    assert applied == ends, deployment.logs()
    time.sleep(3)
    alerts = [decode_alert(v) for v in _all(deployment, "alerts")]
    actions = [decode_action(v) for v in _all(deployment, "actions")]
    assert max(a.ts for a in alerts) > cut, "the tail was processed"
    assert _cross_account([*alerts, *actions], accounts, suppression.ts) == []
    assert outside == []
    page.close()
