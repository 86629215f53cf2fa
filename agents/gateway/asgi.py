"""An example gateway middleware: DistillWatch's actions enforced in front of any ASGI app.

Pure ASGI (no framework), so it wraps Starlette, FastAPI, Django's ASGI handler or a bare
callable alike:

    table = EnforcementTable()
    ActionFollower(table).start()
    app = EnforcementMiddleware(model_api, table)

Per HTTP request it asks ``table.decide`` for the caller and

* ``block`` -- answers 403 itself;
* ``throttle`` -- keeps a token bucket per account at the decision's rate and burst, and
  answers 429 with ``Retry-After`` when it is empty;
* ``degrade`` -- passes the request on with ``scope["distillwatch.degrade"] = level``; the
  app (the model server) serves lower-value output and the client sees an ordinary response:
  the middleware adds nothing to it, no header, no status;
* ``watch`` -- passes it on with ``scope["distillwatch.watch"] = True`` (log more detail);
* ``allow`` -- passes it on untouched.

The caller is named by ``identify(scope)``; the default reads the account and API key id from
the request headers an upstream authentication layer set (``x-distillwatch-account``,
``x-distillwatch-api-key``).  Requests it cannot name pass untouched: authentication is not
this middleware's job.
"""

from __future__ import annotations

import math
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from streams.enforcement import EnforcementTable, TokenBucket

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
Identify = Callable[[Scope], "tuple[str, str | None] | None"]

DEGRADE_KEY = "distillwatch.degrade"
WATCH_KEY = "distillwatch.watch"


def header_identity(
    account_header: str = "x-distillwatch-account", key_header: str = "x-distillwatch-api-key"
) -> Identify:
    """An ``identify`` reading the account and key id from request headers."""
    account_name, key_name = account_header.lower().encode(), key_header.lower().encode()

    def identify(scope: Scope) -> tuple[str, str | None] | None:
        account = key = None
        for name, value in scope.get("headers", ()):
            if name == account_name:
                account = value.decode("latin-1")
            elif name == key_name:
                key = value.decode("latin-1")
        return None if not account else (account, key)

    return identify


class EnforcementMiddleware:
    """Applies ``table``'s decisions to the HTTP requests of ``app`` (see the module doc)."""

    def __init__(
        self,
        app: ASGIApp,
        table: EnforcementTable,
        *,
        identify: Identify | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.app = app
        self.table = table
        self.identify = identify or header_identity()
        self.clock = clock
        # throttled accounts only: an account's bucket goes when its throttle does
        self._buckets: dict[str, TokenBucket] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        caller = self.identify(scope) if scope["type"] == "http" else None
        if caller is None:
            await self.app(scope, receive, send)
            return
        account, key = caller
        now = self.clock()
        decision = self.table.decide(account, key, now)
        if decision.verdict != "throttle":
            self._buckets.pop(account, None)
        if decision.verdict == "block":
            await _refuse(send, 403, b'{"error":"forbidden"}', ())
            return
        if decision.verdict == "throttle":
            assert decision.rate is not None and decision.burst is not None
            bucket = self._buckets.get(account)
            if bucket is None or (bucket.rate, bucket.burst) != (decision.rate, decision.burst):
                bucket = self._buckets[account] = TokenBucket.full(
                    decision.rate, decision.burst, now
                )
            wait = bucket.take(now)
            if wait > 0:
                retry = str(max(1, math.ceil(wait))).encode()
                await _refuse(send, 429, b'{"error":"rate_limited"}', ((b"retry-after", retry),))
                return
        elif decision.verdict == "degrade":
            scope = {**scope, DEGRADE_KEY: decision.level}
        elif decision.verdict == "watch":
            scope = {**scope, WATCH_KEY: True}
        await self.app(scope, receive, send)


async def _refuse(
    send: Send, status: int, body: bytes, headers: tuple[tuple[bytes, bytes], ...]
) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
