"""Findings an analyst dismissed as benign: which accounts the cross-account stage keeps out
of its alerts and actions, and over which span of event time.

A suppression covers its accounts from its ``ts`` until its ``expires_at``, both event time,
so whether an output is suppressed depends only on the output's event time and the
suppressions applied: a replay given the same suppressions gives the same output.
"""

from __future__ import annotations

from dataclasses import replace

import orjson

from streams.records import Action, Alert, Suppression


class SuppressionBook:
    """The live suppressions, by id, and the windows they put on each account."""

    def __init__(self) -> None:
        self.by_id: dict[str, Suppression] = {}
        self.windows: dict[str, list[tuple[float, float]]] = {}

    def apply(self, suppression: Suppression) -> None:
        """Add or replace a suppression; a tombstone (``deleted``) lifts it."""
        if suppression.deleted:
            self.by_id.pop(suppression.suppression_id, None)
        else:
            self.by_id[suppression.suppression_id] = suppression
        self._index()

    def _index(self) -> None:
        windows: dict[str, list[tuple[float, float]]] = {}
        for key in sorted(self.by_id):
            s = self.by_id[key]
            for account in s.accounts:
                windows.setdefault(account, []).append((s.ts, s.expires_at))
        self.windows = windows

    def reset(self, suppressions: list[Suppression]) -> None:
        """Hold exactly ``suppressions`` (what a worker read from the suppressions topic)."""
        self.by_id = {s.suppression_id: s for s in suppressions if not s.deleted}
        self._index()

    def covers(self, account: str, ts: float) -> bool:
        """Whether ``account`` is suppressed at event time ``ts``."""
        spans = self.windows.get(account)
        return spans is not None and any(start <= ts < end for start, end in spans)

    def honour(self, out: list[Alert | Action]) -> list[Alert | Action]:
        """``out`` without actions on suppressed accounts; alerts name only the accounts not
        suppressed, and an alert left with none is dropped."""
        if not self.windows:
            return out
        kept: list[Alert | Action] = []
        for item in out:
            if isinstance(item, Action):
                if not self.covers(item.account_id, item.ts):
                    kept.append(item)
                continue
            accounts = tuple(a for a in item.accounts if not self.covers(a, item.ts))
            if accounts == item.accounts:
                kept.append(item)
            elif accounts:
                kept.append(replace(item, accounts=accounts))
        return kept

    def to_bytes(self) -> bytes:
        return orjson.dumps(
            [
                [s.suppression_id, s.ts, s.expires_at, list(s.accounts), s.alert_id]
                for _, s in sorted(self.by_id.items())
            ]
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> SuppressionBook:
        book = cls()
        for suppression_id, ts, expires_at, accounts, alert_id in orjson.loads(data):
            book.by_id[suppression_id] = Suppression(
                suppression_id, ts, expires_at, tuple(accounts), alert_id
            )
        book._index()
        return book
