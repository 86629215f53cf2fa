"""The triage console: the worker's web page of live findings and the analysts' decisions.

Served on the worker's own port (``/console``), from the topics alone -- the alerts and the
decisions topics, read from their beginning without joining a group, and the suppressions the
worker follows -- so every worker serves the same console whether or not it runs the
cross-account stage.  The page, its script and its style are inline and its Content Security
Policy lets it connect to nothing but the worker.

Reading is open; deciding is not.  Without ``DISTILLWATCH_SERVICE__CONSOLE_TOKEN`` the console
is read-only (buttons disabled, every POST answered 403).  A POST needs the token in
``X-DistillWatch-Token`` and ``X-DistillWatch-Console: 1``: headers a cross-site form cannot
send, so no other page can post on an analyst's behalf.
"""

from __future__ import annotations

import hmac
import logging
import math
import secrets
import time
from typing import TYPE_CHECKING, Any

import orjson
from confluent_kafka import OFFSET_BEGINNING
from faust.web import View

from agents.kafka.clients import make_reader
from agents.kafka.reader import PartitionReader
from agents.service.console_page import PAGE
from agents.service.decisions import DecisionDesk, DecisionError, Request
from agents.service.recovery import executor
from agents.service.suppressions import Suppressions
from agents.settings import Settings
from streams.errors import CodecError, DistillWatchError, TopicReadError
from streams.records import Alert, Decision
from streams.soc import views
from streams.wire.codecs import decode_alert, decode_decision

if TYPE_CHECKING:
    import faust

    from agents.service.app import Service

log = logging.getLogger(__name__)

MAX_FINDINGS = 5000
"""Findings the console keeps; past it the one whose latest revision is oldest goes."""
MAX_BODY = 16 * 1024
SEVERITY_RANK = {"low": 0, "medium": 1, "high": 2, "critical": 3}


class FindingsFeed:
    """Every finding's revisions and decisions, as the alerts and decisions topics hold them."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.readers = {
            kind: _reader(settings, topic)
            for kind, topic in (
                ("alert", settings.topics.alerts),
                ("decision", settings.topics.decisions),
            )
        }
        self.revisions: dict[str, dict[int, Alert]] = {}
        self.decisions: dict[str, list[Decision]] = {}
        self.stream_ts = -math.inf
        """The newest event time on the alerts topic: where the detectors stand."""
        self.refused = 0

    def fetch(self, timeout: float) -> list[tuple[str, bytes]]:
        """New records of both topics (blocking: run it in an executor)."""
        found = []
        for kind, reader in self.readers.items():
            found += [(kind, m.value()) for m in reader.poll(timeout / 2) if m.value() is not None]
        return found

    def fold(self, records: list[tuple[str, bytes]]) -> None:
        """Take fetched records in (on the event loop, where the pages read)."""
        for kind, value in records:
            try:
                if kind == "alert":
                    alert = decode_alert(value)
                    self.revisions.setdefault(alert.alert_id, {})[alert.revision] = alert
                    self.stream_ts = max(self.stream_ts, alert.ts)
                else:
                    decision = decode_decision(value)
                    self.decisions.setdefault(decision.alert_id, []).append(decision)
            except CodecError as exc:
                self.refused += 1
                log.warning("console: %s record refused: %s %s", kind, exc.reason, exc.detail)
        while len(self.revisions) > MAX_FINDINGS:
            newest = {k: max(a.ts for a in revs.values()) for k, revs in self.revisions.items()}
            del self.revisions[min(newest, key=newest.__getitem__)]

    def history(self, alert_id: str) -> list[Alert]:
        found = self.revisions.get(alert_id, {})
        return [found[r] for r in sorted(found)]

    def close(self) -> None:
        for reader in self.readers.values():
            reader.close()


def _reader(settings: Settings, topic: str) -> PartitionReader:
    reader = PartitionReader(
        make_reader(settings.bootstrap_servers, "distillwatch-console", settings.kafka), topic
    )
    partitions = reader.partitions(30.0)
    if partitions is None:
        raise TopicReadError(f"topic {topic} is not declared; run `distillwatch topics`")
    reader.assign({p: OFFSET_BEGINNING for p in partitions})
    return reader


class Console:
    """The console's state and its answers; ``register_console`` serves them."""

    def __init__(self, settings: Settings, suppressions: Suppressions) -> None:
        self.settings = settings
        self.suppressions = suppressions
        self.feed: FindingsFeed | None = None
        self.desk: DecisionDesk | None = None

    @property
    def writable(self) -> bool:
        return self.settings.service.console_token is not None

    async def follow(self) -> None:
        """Follow the alerts and decisions topics for as long as the worker runs."""
        self.feed = feed = await executor(FindingsFeed, self.settings)
        try:
            while True:
                feed.fold(await executor(feed.fetch, 1.0))
        finally:
            feed.close()

    def findings(self) -> dict[str, Any]:
        """Every finding at its latest revision, newest first, formatted for the page."""
        feed = self.feed
        rows = []
        current = self.suppressions.current
        for alert_id in [] if feed is None else list(feed.revisions):
            revisions = feed.history(alert_id)
            latest = revisions[-1]
            decided = feed.decisions.get(alert_id, [])
            rows.append(
                {
                    "alert_id": alert_id,
                    "kind": latest.kind,
                    "kind_label": views.label(latest.kind),
                    "severity": latest.severity,
                    "rank": SEVERITY_RANK.get(latest.severity, 0),
                    "score": f"{latest.score:.2f}",
                    "members": len(latest.accounts),
                    "accounts": list(latest.accounts),
                    "revision": latest.revision,
                    "revisions": len(revisions),
                    "ts": latest.ts,
                    "when": views.timestamp(latest.ts),
                    "decisions": [d.decision for d in decided],
                    "suppressed": f"sup-{alert_id}" in current,
                }
            )
        rows.sort(key=lambda r: (-r["ts"], r["alert_id"]))
        return {
            "findings": rows,
            "writable": self.writable,
            "suppressions": len(current),
            "suppressions_applied": self.suppressions.applied_to is not None
            and self.suppressions.applied_to.detector.suppressions.by_id.keys() == current.keys(),
            "stream_time": None if feed is None or feed.stream_ts == -math.inf
            else views.timestamp(feed.stream_ts),
        }  # fmt: skip

    def detail(self, alert_id: str) -> str | None:
        """A finding's whole story as HTML: summary, timeline, graph, evidence, members and
        the decisions taken on it (the forensic report's drawings, from the alerts alone)."""
        if self.feed is None or alert_id not in self.feed.revisions:
            return None
        revisions = self.feed.history(alert_id)
        latest = revisions[-1]
        decided = self.feed.decisions.get(alert_id, [])
        audit = views.table(
            ("when", "analyst", "decision", "revision", "why", "published"),
            (
                (
                    views.esc(views.timestamp(d.ts)),
                    views.esc(d.analyst),
                    views.esc(d.decision),
                    d.revision,
                    views.esc(d.reason),
                    f"<code>{views.esc(d.result_id)}</code>",
                )
                for d in decided
            ),
        )
        return (
            f"<h2>{views.esc(views.label(latest.kind))} <code>{views.esc(alert_id)}</code></h2>"
            f"{views.summary_line(latest)}"
            f"<h3>Decisions</h3>{audit if decided else '<p class=muted>none yet</p>'}"
            "<h3>Timeline</h3>"
            f"{views.timeline_svg(views.named_by_revisions(revisions), revisions)}"
            f"{views.revisions_table(revisions)}"
            f"<h3>Similarity graph</h3>{views.similarity_svg(latest)}"
            f"<h3>Evidence</h3>{views.evidence_html(latest)}"
            f"<h3>Members ({len(latest.accounts):,})</h3>{views.members_list(latest.accounts)}"
        )

    def authorise(self, headers: Any) -> None:
        """Raise ``DecisionError`` (403) unless the request may decide."""
        token = self.settings.service.console_token
        if token is None:
            raise DecisionError(
                403, "the console is read-only: no DISTILLWATCH_SERVICE__CONSOLE_TOKEN is set"
            )
        if headers.get("X-DistillWatch-Console") != "1":
            raise DecisionError(403, "decisions need the X-DistillWatch-Console: 1 header")
        given = headers.get("X-DistillWatch-Token", "").encode()
        if not hmac.compare_digest(given, token.get_secret_value().encode()):
            raise DecisionError(403, "wrong console token")

    async def decide(self, headers: Any, body: bytes) -> dict[str, Any]:
        """Check, build and publish one decision; returns the decision record as sent."""
        self.authorise(headers)
        if len(body) > MAX_BODY:
            raise DecisionError(413, f"the body is larger than {MAX_BODY} bytes")
        try:
            parsed = orjson.loads(body)
        except orjson.JSONDecodeError:
            raise DecisionError(400, "the body is not JSON") from None
        request = Request.parse(parsed)
        feed = self.feed
        if feed is None or request.alert_id not in feed.revisions:
            raise DecisionError(404, f"no alert {request.alert_id} on the alerts topic")
        if self.desk is None:
            self.desk = await executor(DecisionDesk, self.settings)
        topic, records, decision = self.desk.records(
            request, feed.history(request.alert_id), feed.stream_ts, time.time()
        )
        await executor(self.desk.publish, topic, records, decision)
        log.info(
            "decision %s: %s %s on %s revision %d -> %s %s",
            decision.decision_id,
            decision.analyst,
            decision.decision,
            decision.alert_id,
            decision.revision,
            topic,
            decision.result_id,
        )
        return {
            "decision_id": decision.decision_id,
            "decision": decision.decision,
            "result_topic": topic,
            "result_id": decision.result_id,
            "records": len(records),
        }


def register_console(app: faust.App, service: Service) -> None:
    """Serve the console on ``app`` and follow its topics and the suppressions."""
    suppressions = Suppressions(service.settings, service.recovery, service.metrics)
    console = Console(service.settings, suppressions)

    async def follow_suppressions() -> None:
        await suppressions.follow(service.lock_coordination)

    app.task(follow_suppressions)
    app.task(console.follow)

    @app.page("/console")
    class Page(View):
        async def get(self, request: Any) -> Any:
            nonce = secrets.token_urlsafe(16)
            return self.html(
                PAGE.replace("{nonce}", nonce).replace("{style}", views.STYLE),
                headers={
                    "Content-Security-Policy": (
                        f"default-src 'none'; script-src 'nonce-{nonce}'; "
                        "style-src 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; "
                        "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
                    ),
                    "Cache-Control": "no-store",
                },
            )

    @app.page("/console/api/findings")
    class Findings(View):
        async def get(self, request: Any) -> Any:
            return self.json(console.findings(), headers={"Cache-Control": "no-store"})

    @app.page("/console/api/finding")
    class Finding(View):
        async def get(self, request: Any) -> Any:
            html = console.detail(request.query.get("alert_id", ""))
            if html is None:
                return self.json({"error": "no such finding"}, status=404)
            return self.json({"html": html}, headers={"Cache-Control": "no-store"})

    @app.page("/console/api/decisions")
    class Decisions(View):
        async def post(self, request: Any) -> Any:
            try:
                body = await request.content.read(MAX_BODY + 1)
                return self.json(await console.decide(request.headers, body))
            except DecisionError as exc:
                return self.json({"error": str(exc)}, status=exc.status)
            except DistillWatchError as exc:
                log.error("decision not published: %s", exc)
                return self.json({"error": f"not published: {exc}"}, status=502)
