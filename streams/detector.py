"""The whole detection core in one process: the reference composition of the keyed stages.

``Detector.process(event)`` runs template extraction, then the account stage (the native
profiles the service's partitioned account stage runs too),
and routes its messages: template hits to the template stage, snapshots
through token frequency and similarity to the cluster stage, signature hits
to the signature stage.  A partitioned topology runs the same stage classes
over the same messages; replay and evaluation use this class.

Time is event time only.  The watermark is the highest event ``ts`` seen;
every ``sweep_interval_s`` of it the detector evicts idle state and flushes
revisions that came due.  Whenever it advances, the account profiler is held to
``max_accounts`` before the event that advanced it (``AccountProfiler.enforce_cap``).
Sweeps happen at the same events in a live run, a replay and a restored run, so all
three emit the same alerts.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from itertools import islice

import orjson

from streams.config import DetectorConfig
from streams.errors import StateError
from streams.messages import AccountSnapshot, SignatureHit, TemplateHit
from streams.records import Action, Alert, RequestEvent, Signature, Suppression
from streams.stages.clustering import ClusterStage
from streams.stages.profile.profiler import AccountProfiler, feature_baselines
from streams.stages.signatures import SignatureBook, SignatureStage
from streams.stages.similarity import SimilarityStage
from streams.stages.suppression import SuppressionBook
from streams.stages.template_campaigns import TemplateStage
from streams.stages.token_frequency import TokenFrequencyStage
from streams.templates.extractor import TemplateExtractor, TemplateMatch

SNAPSHOT_VERSION = 1
EXTRACT_BATCH = 256
"""Events whose templates ``process_many`` extracts together (vectorised MinHash)."""

Output = Alert | Action
AccountMessage = TemplateHit | AccountSnapshot | SignatureHit | Alert | Action
"""What the account stage (``AccountProfiler.process``) hands on."""


class Detector:
    """In-process detector: events in, alerts and actions out."""

    def __init__(self, config: DetectorConfig | None = None) -> None:
        self.config = config = config or DetectorConfig()
        self.extractor = TemplateExtractor(config.templates)
        self.book = SignatureBook(config)
        self.profiler = AccountProfiler(config, self.book)
        self.templates = TemplateStage(config)
        self.frequency = TokenFrequencyStage(config)
        self.similarity = SimilarityStage(config)
        self.suppressions = SuppressionBook()
        self.clusters = ClusterStage(config, feature_baselines(config), self.suppressions)
        self.signatures = SignatureStage(config)
        self.watermark = -math.inf
        self.next_sweep = -math.inf
        self.next_evict = -math.inf
        self.counters: dict[str, int] = {
            "events": 0,
            "snapshots": 0,
            "pairs": 0,
            "fingerprint_mismatch": 0,
        }

    # -- input --------------------------------------------------------------------------------

    def extract(self, event: RequestEvent) -> TemplateMatch:
        """Template of an event; a fingerprint from a gateway on other settings keeps its id."""
        try:
            return self.extractor.extract(
                event.prompt, event.system_prompt, event.prompt_fingerprint
            )
        except ValueError:
            self.counters["fingerprint_mismatch"] += 1
            fp = event.prompt_fingerprint
            assert fp is not None  # only fingerprints can be rejected
            return TemplateMatch(fp.template_id, fp.template_id, (), frozenset({"privacy_mode"}))

    def extract_many(self, events: Sequence[RequestEvent]) -> list[TemplateMatch]:
        """``extract`` of each event, with the MinHash of every prompt text in one numpy pass.

        Extraction is a pure function of the event, so doing a batch ahead of processing
        changes no result.
        """
        texts = [(e.prompt, e.system_prompt) for e in events if e.prompt or e.system_prompt]
        matches = iter(self.extractor.extract_texts(texts) if texts else ())
        return [next(matches) if e.prompt or e.system_prompt else self.extract(e) for e in events]

    def process(self, event: RequestEvent, match: TemplateMatch | None = None) -> list[Output]:
        """Outputs of one event; ``match`` is its ``extract`` when the caller batched that."""
        out = self.observe_event(event.ts)
        route = self.route
        for msg in self.profiler.process(event, self.extract(event) if match is None else match):
            out.extend(route(msg))
        return out

    def observe_event(self, ts: float) -> list[Output]:
        """Count one event at event time ``ts``, first running the sweep its time made due.

        The partitioned service calls this for the first message of each event, so its sweeps
        fall between the same messages as here.
        """
        out: list[Output] = []
        if ts > self.watermark:
            evicted = self.profiler.enforce_cap()
            if evicted:
                counters = self.counters
                counters["evicted_accounts"] = counters.get("evicted_accounts", 0) + len(evicted)
            self.watermark = ts
            if ts >= self.next_sweep:
                if self.next_sweep > -math.inf:
                    out.extend(self.advance_to(ts))
                interval = self.config.sweep_interval_s
                self.next_sweep = (math.floor(ts / interval) + 1) * interval
        self.counters["events"] += 1
        return out

    def route(self, msg: AccountMessage) -> list[Output]:
        """Pass one message of the account stage through the global stages.

        Template hits go to the template stage, snapshots through token frequency and
        similarity to the cluster stage, signature hits to the signature stage; alerts and
        actions of the account stage are already output.
        """
        if isinstance(msg, TemplateHit):
            return self.suppressions.honour(self.templates.process(msg))
        if isinstance(msg, AccountSnapshot):
            self.counters["snapshots"] += 1
            out: list[Output] = []
            for pair in self.similarity.process(self.frequency.process(msg)):
                self.counters["pairs"] += 1
                out.extend(self.clusters.process(pair))
            return out
        if isinstance(msg, SignatureHit):
            return self.suppressions.honour(self.signatures.process(msg))
        return [msg]

    def process_many(self, events: Iterable[RequestEvent]) -> list[Output]:
        out: list[Output] = []
        process = self.process
        stream = iter(events)
        while chunk := list(islice(stream, EXTRACT_BATCH)):
            for event, match in zip(chunk, self.extract_many(chunk), strict=True):
                out.extend(process(event, match))
        return out

    def apply_signature(self, signature: Signature) -> tuple[str, ...]:
        """Hot-swap a signature (tombstones retract it); returns indicator kinds it cannot match.

        Raises ``SignatureError`` for an invalid signature, keeping the previous version.
        """
        unsupported = self.book.apply(signature)
        if signature.deleted:
            self.signatures.retract(signature.signature_id)
            self.profiler.retract_signature(signature.signature_id)
        return unsupported

    def apply_suppression(self, suppression: Suppression) -> None:
        """Add, replace or (a tombstone) lift a suppression: from its event time on, the
        cross-account stages name none of its accounts in an alert or action."""
        self.suppressions.apply(suppression)

    def advance_to(self, ts: float) -> list[Output]:
        """Move the watermark: expire edges, flush revisions that came due, evict idle state.

        Idle accounts and bucket members are also ignored lazily when met again,
        so how often they are evicted changes memory, never results.
        """
        self.watermark = max(self.watermark, ts)
        watermark = self.watermark
        if watermark >= self.next_evict:
            self.profiler.evict(watermark)
            self.similarity.evict(watermark)
            interval = self.config.evict_interval_s
            self.next_evict = (math.floor(watermark / interval) + 1) * interval
        out: list[Output] = []
        out.extend(self.templates.advance_to(watermark))
        out.extend(self.clusters.advance_to(watermark))
        out.extend(self.signatures.flush(watermark))
        return self.suppressions.honour(out)

    # -- state --------------------------------------------------------------------------------

    def snapshot(self) -> bytes:
        """Every stage's state, for checkpoints and restart."""
        profiles = self.profiler.native
        return orjson.dumps(
            {
                "version": SNAPSHOT_VERSION,
                "watermark": None if self.watermark == -math.inf else self.watermark,
                "next_sweep": None if self.next_sweep == -math.inf else self.next_sweep,
                "next_evict": None if self.next_evict == -math.inf else self.next_evict,
                "counters": self.counters,
                "accounts": {
                    account: profiles.state(account).decode() for account in profiles.accounts()
                },
                "signatures": self.book.to_bytes().decode(),
                "templates": self.templates.to_bytes().decode(),
                "frequency": self.frequency.to_bytes().decode(),
                "similarity": self.similarity.to_bytes().decode(),
                "clusters": self.clusters.to_bytes().decode(),
                "signature_findings": self.signatures.to_bytes().decode(),
                "suppressions": self.suppressions.to_bytes().decode(),
            }
        )

    @classmethod
    def restore(cls, data: bytes, config: DetectorConfig | None = None) -> Detector:
        """A detector that continues exactly where ``snapshot`` left off."""
        row = orjson.loads(data)
        if row.get("version") != SNAPSHOT_VERSION:
            raise StateError(f"unsupported detector snapshot version {row.get('version')!r}")
        det = cls(config)
        config = det.config
        det.watermark = -math.inf if row["watermark"] is None else row["watermark"]
        det.next_sweep = -math.inf if row["next_sweep"] is None else row["next_sweep"]
        det.next_evict = -math.inf if row["next_evict"] is None else row["next_evict"]
        det.counters = row["counters"]
        det.book = SignatureBook.from_bytes(row["signatures"].encode(), config)
        det.profiler = AccountProfiler(config, det.book)
        for account, data in row["accounts"].items():
            det.profiler.load(account, data.encode())
        det.templates = TemplateStage.from_bytes(row["templates"].encode(), config)
        det.frequency = TokenFrequencyStage.from_bytes(row["frequency"].encode(), config)
        det.similarity = SimilarityStage.from_bytes(row["similarity"].encode(), config)
        # Snapshots written before suppressions existed have none.
        det.suppressions = SuppressionBook.from_bytes(row.get("suppressions", "[]").encode())
        det.clusters = ClusterStage.from_bytes(
            row["clusters"].encode(), config, feature_baselines(config), det.suppressions
        )
        det.signatures = SignatureStage.from_bytes(row["signature_findings"].encode(), config)
        return det
