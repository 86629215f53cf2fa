"""Cost of the gateway's decision per request (``streams.enforcement``), as JSON.

Usage: ``.venv/bin/python -m bench.gateway_decide [--accounts 100000] [--calls 1000000]``

A table holding actions for ``--accounts`` accounts (a quarter each watch, throttle, degrade
and block; a tenth of them also a stronger action that has already expired), then
``decide()`` for ``--calls`` requests of: accounts without any action (what nearly every
request is), accounts under an action, and accounts whose strongest action expired (the
lookup falls through to the next).  Each figure is the best of five runs, in nanoseconds per
call on one core, loop overhead included.  Also ``apply()`` per action and the example ASGI
middleware's cost per request over a bare ASGI app (both awaited in one event loop).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import time
from collections.abc import Callable
from typing import Any

from agents.gateway.asgi import EnforcementMiddleware
from bench.common import emit, pin_to_one_core
from streams.enforcement import EnforcementTable
from streams.records import Action

NOW = 1_800_000_000.0
KINDS = ("watch", "throttle", "degrade", "block")


def _actions(accounts: int, rng: random.Random) -> list[Action]:
    out = []
    for i in range(accounts):
        kind = KINDS[i % 4]
        out.append(
            Action(f"act-{i}", NOW - 60, f"acct-{i}", kind, "bench", NOW + 3600)  # type: ignore[arg-type]
        )
        if i % 10 == 0:  # and an expired block over it
            out.append(Action(f"act-{i}-b", NOW - 7200, f"acct-{i}", "block", "bench", NOW - 60))
    rng.shuffle(out)
    return out


def _best_ns(run: Callable[[], None], calls: int, repeats: int = 5) -> float:
    best = float("inf")
    for _ in range(repeats):
        began = time.perf_counter_ns()
        run()
        best = min(best, (time.perf_counter_ns() - began) / calls)
    return round(best, 1)


def _decide_ns(table: EnforcementTable, ids: list[str]) -> float:
    decide = table.decide

    def run() -> None:
        for account in ids:
            decide(account, "key", NOW)

    return _best_ns(run, len(ids))


async def _bare_app(scope: Any, receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"{}"})


def _asgi_ns(app: Any, requests: int) -> float:
    scopes = [
        {
            "type": "http",
            "headers": [(b"x-distillwatch-account", f"user-{i}".encode())],
        }
        for i in range(requests)
    ]

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Any) -> None:
        return None

    async def serve() -> None:
        for scope in scopes:
            await app(scope, receive, send)

    return _best_ns(lambda: asyncio.run(serve()), requests)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--calls", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    cpu = pin_to_one_core()
    rng = random.Random(args.seed)
    actions = _actions(args.accounts, rng)

    table = EnforcementTable()
    began = time.perf_counter_ns()
    for action in actions:
        table.apply(action)
    apply_ns = (time.perf_counter_ns() - began) / len(actions)

    under = [f"acct-{rng.randrange(args.accounts)}" for _ in range(args.calls)]
    fallthrough = [f"acct-{10 * rng.randrange(args.accounts // 10)}" for _ in range(args.calls)]
    without = [f"user-{rng.randrange(10 * args.accounts)}" for _ in range(args.calls)]
    requests = min(args.calls, 200_000)
    middleware = EnforcementMiddleware(_bare_app, table, clock=lambda: NOW)
    bare_ns, wrapped_ns = _asgi_ns(_bare_app, requests), _asgi_ns(middleware, requests)
    emit(
        "gateway_decide",
        accounts=args.accounts,
        actions=len(actions),
        calls=args.calls,
        cpu=cpu,
        decide_ns={
            "no_action": _decide_ns(table, without),
            "under_action": _decide_ns(table, under),
            "strongest_expired": _decide_ns(table, fallthrough),
        },
        apply_ns=round(apply_ns, 1),
        asgi_ns={
            "bare_app": bare_ns,
            "with_middleware": wrapped_ns,
            "middleware": round(wrapped_ns - bare_ns, 1),
        },
    )


if __name__ == "__main__":
    main()
