"""Suppressions: findings dismissed as benign keep their members out of the cross-account
stage's alerts and actions, from the event time the suppression carries until it expires,
the same way in one pass, after a restore and in the coordination stage."""

from __future__ import annotations

import pytest

from streams.detector import Detector
from streams.records import Action, Alert, Suppression
from streams.stages.suppression import SuppressionBook
from streams.wire.codecs import encode
from tests.support.core_traffic import generate


@pytest.fixture(scope="module")
def traffic():
    return generate(seed=5, duration=1800.0, benign=120, campaign_size=10)


def _run(events, suppressions=(), restore_at: int | None = None) -> list[Alert | Action]:
    det = Detector()
    for s in suppressions:
        det.apply_suppression(s)
    if restore_at is None:
        out = det.process_many(events)
    else:
        out = det.process_many(events[:restore_at])
        det = Detector.restore(det.snapshot())
        out += det.process_many(events[restore_at:])
    return out + det.advance_to(events[-1].ts + 3600.0)


def _first_cluster(out: list[Alert | Action]) -> Alert:
    return next(o for o in out if isinstance(o, Alert) and o.kind == "coordinated_cluster")


def _named_after(out: list[Alert | Action], accounts: set[str], ts: float) -> list[Alert | Action]:
    """Outputs of the cross-account stages at or after ``ts`` that name one of ``accounts``
    (the account stage's own ``account_extraction`` findings are not suppressed)."""
    named = []
    for o in out:
        if o.ts < ts:
            continue
        if isinstance(o, Action):
            if o.account_id in accounts and not o.reason.startswith("account_extraction"):
                named.append(o)
        elif o.kind != "account_extraction" and accounts & set(o.accounts):
            named.append(o)
    return named


def test_dismissed_members_get_no_new_revision_or_action(traffic):
    plain = _run(traffic.events)
    first = _first_cluster(plain)
    members = set(first.accounts)
    assert _named_after(plain, members, first.ts + 1), "the unsuppressed run goes on naming them"
    dismissed = Suppression("sup-1", first.ts + 1, first.ts + 86400.0, first.accounts)
    suppressed = _run(traffic.events, [dismissed])
    assert _named_after(suppressed, members, first.ts + 1) == []
    # everything before the suppression's event time is untouched
    before = [encode(o) for o in plain if o.ts < first.ts + 1]
    assert [encode(o) for o in suppressed if o.ts < first.ts + 1] == before


def test_a_suppression_expires_and_a_tombstone_lifts_it(traffic):
    plain = _run(traffic.events)
    first = _first_cluster(plain)
    expired = Suppression("sup-1", first.ts - 7200.0, first.ts - 3600.0, first.accounts)
    assert [encode(o) for o in _run(traffic.events, [expired])] == [encode(o) for o in plain]
    live = Suppression("sup-1", first.ts + 1, first.ts + 86400.0, first.accounts)
    lifted = Suppression("sup-1", 0.0, 1.0, (), deleted=True)
    again = _run(traffic.events, [live, lifted])
    assert [encode(o) for o in again] == [encode(o) for o in plain]


def test_suppressed_output_is_deterministic_and_survives_a_restore(traffic):
    first = _first_cluster(_run(traffic.events))
    dismissed = Suppression("sup-1", first.ts + 1, first.ts + 86400.0, first.accounts)
    once = [encode(o) for o in _run(traffic.events, [dismissed])]
    assert once == [encode(o) for o in _run(traffic.events, [dismissed])]
    restored = _run(traffic.events, [dismissed], restore_at=len(traffic.events) // 2)
    assert [encode(o) for o in restored] == once


def test_honour_trims_alerts_and_drops_actions():
    book = SuppressionBook()
    book.apply(Suppression("s", 100.0, 200.0, ("a", "b")))
    alert = Alert("al", 1, 150.0, "template_campaign", "high", 0.9, ("a", "b", "c"), None, {})
    only_suppressed = Alert("al2", 1, 150.0, "template_campaign", "high", 0.9, ("a",), None, {})
    later = Alert("al3", 1, 250.0, "template_campaign", "high", 0.9, ("a",), None, {})
    action = Action("x", 150.0, "b", "watch", "template_campaign", 999.0, "al")
    kept = book.honour([alert, only_suppressed, later, action])
    assert [(type(o).__name__, getattr(o, "accounts", None)) for o in kept] == [
        ("Alert", ("c",)),
        ("Alert", ("a",)),
    ]
    assert SuppressionBook.from_bytes(book.to_bytes()).windows == book.windows
