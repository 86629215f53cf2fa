"""The example ASGI middleware, driven as an ASGI server would drive it (no framework)."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from typing import Any

from agents.gateway.asgi import DEGRADE_KEY, WATCH_KEY, EnforcementMiddleware, header_identity
from streams.enforcement import EnforcementPolicy, EnforcementTable
from streams.records import Action


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


seen: list[dict[str, Any]] = []  # the scopes the app was called with


async def model_api(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """A tiny model server: what it answers depends on the degrade level it is given."""
    level = scope.get(DEGRADE_KEY, 0)
    body = b'{"text":"' + (b"short" if level else b"a long and careful answer") + b'"}'
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"application/json")],
        }
    )
    await send({"type": "http.response.body", "body": body})
    seen.append(dict(scope))


def request(app: Any, account: str | None, key: str = "key-1") -> tuple[int, dict, bytes]:
    headers = [(b"host", b"api.example")]
    if account is not None:
        headers += [
            (b"x-distillwatch-account", account.encode()),
            (b"x-distillwatch-api-key", key.encode()),
        ]
    scope = {"type": "http", "method": "POST", "path": "/v1/chat", "headers": headers}
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"{}", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], dict(start["headers"]), body


def act(account: str, kind: str, expires_at: float) -> Action:
    return Action(f"act-{account}", 900.0, account, kind, "test", expires_at)  # type: ignore[arg-type]


def middleware() -> tuple[EnforcementMiddleware, EnforcementTable, Clock]:
    table = EnforcementTable(EnforcementPolicy(throttle_rate=1.0, throttle_burst=2))
    clock = Clock()
    return EnforcementMiddleware(model_api, table, clock=clock), table, clock


def test_allowed_and_unnamed_requests_pass_untouched():
    app, _, _ = middleware()
    assert request(app, "acct-ok") == (
        200,
        {b"content-type": b"application/json"},
        b'{"text":"a long and careful answer"}',
    )
    assert request(app, None)[0] == 200
    assert DEGRADE_KEY not in seen[-1] and WATCH_KEY not in seen[-1]


def test_block_is_403_and_never_reaches_the_app():
    app, table, _ = middleware()
    table.apply(act("acct-b", "block", 2000.0))
    before = len(seen)
    status, _, body = request(app, "acct-b")
    assert (status, body) == (403, b'{"error":"forbidden"}')
    assert len(seen) == before


def test_throttle_keeps_a_bucket_per_account_and_answers_429_with_retry_after():
    app, table, clock = middleware()
    table.apply(act("acct-t", "throttle", 2000.0))
    assert [request(app, "acct-t")[0] for _ in range(2)] == [200, 200]  # the burst
    status, headers, _ = request(app, "acct-t")
    assert (status, headers[b"retry-after"]) == (429, b"1")
    assert request(app, "acct-other")[0] == 200  # buckets are per account
    clock.now += 1.0
    assert request(app, "acct-t")[0] == 200
    assert request(app, "acct-t")[0] == 429
    clock.now = 2000.0  # the throttle expired
    assert [request(app, "acct-t")[0] for _ in range(5)] == [200] * 5


def test_degrade_looks_normal_to_the_client_and_only_the_app_knows():
    app, table, clock = middleware()
    table.apply(act("acct-d", "degrade", 2000.0))
    normal = request(app, "acct-ok")
    degraded = request(app, "acct-d")
    assert seen[-1][DEGRADE_KEY] == 1
    assert degraded[:2] == normal[:2]  # same status, same headers: nothing tells the client
    assert degraded[2] == b'{"text":"short"}'
    clock.now = 2000.0
    assert request(app, "acct-d") == normal


def test_watch_flags_the_request_for_the_app():
    app, table, _ = middleware()
    table.apply(act("acct-w", "watch", 2000.0))
    assert request(app, "acct-w")[0] == 200
    assert seen[-1][WATCH_KEY] is True


def test_identity_headers_are_configurable():
    identify = header_identity("X-Account", "X-Key")
    scope = {"headers": [(b"x-account", b"a-1"), (b"x-key", b"k-1")]}
    assert identify(scope) == ("a-1", "k-1")
    assert identify({"headers": [(b"x-key", b"k-1")]}) is None


def test_the_gateway_library_loads_without_faust():
    loaded = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, agents.gateway.follower, agents.gateway.asgi; "
            "print('faust' in sys.modules)",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert loaded.stdout.strip() == "False"
