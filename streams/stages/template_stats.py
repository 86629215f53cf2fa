"""Per-template frequency statistics over event time, built on Apache DataSketches.

A distillation campaign shows up as one non-trivial wrapper template sent by
many accounts in many organisations at once; a SaaS product's template comes
from one account however large its volume, and a benchmark run from a
handful.  So each wrapper template keeps, per event-time tumbling window,
HLL sketches of distinct accounts and organisations, its volume and a bottom-k
sample of account ids, plus across windows a t-digest of its volumes and a
time-decayed mean of its distinct accounts.  Globally, per log2-volume bucket,
there is a t-digest of the accounts-per-event ratio of normal windows: what
spread a template of that volume usually has.

A template is flagged as soon as its open window has ``min_accounts``
accounts from ``min_orgs`` organisations and ``score_threshold`` times more
accounts than expected, where expected is the largest of the floor, the
template's own decayed baseline and the global expectation for its volume.

Determinism: windows open and close on an event-time watermark (highest
``ts`` seen minus ``allowed_lateness``), never the wall clock, and every
sketch that feeds a decision is deterministic (HLL, t-digest).
KLL is avoided on purpose: its compaction draws random bits seeded from the
clock, so a replay would compute different quantiles than the live run.
"""

from __future__ import annotations

import bisect
import heapq
import math
import struct
from collections.abc import Iterator
from dataclasses import dataclass

import datasketches as ds

from streams.config import TemplateStatsConfig
from streams.errors import StateError
from streams.sketches.minhash import stable_hash64

STATE_VERSION = 1
GLOBAL_VERSION = 2


@dataclass(frozen=True, slots=True)
class TemplateFinding:
    """A template whose spread across accounts is anomalous for its volume, in one window.

    ``accounts`` is a bounded, order-independent sample (the accounts with the
    smallest stable hashes), so live and replay report the same ids.
    """

    template_id: str
    ts: float
    window_start: float
    distinct_accounts: int
    distinct_orgs: int
    volume: int
    baseline: float
    score: float
    accounts: tuple[str, ...]


class _Window:
    """One open tumbling window of one template."""

    __slots__ = ("accounts", "emitted", "index", "orgs", "sample", "volume")

    def __init__(self, index: int, lg_k: int) -> None:
        self.index = index
        self.volume = 0
        self.accounts = ds.hll_sketch(lg_k, ds.tgt_hll_type.HLL_4)
        self.orgs = ds.hll_sketch(lg_k, ds.tgt_hll_type.HLL_4)
        self.sample: list[tuple[int, str]] = []
        self.emitted = 0.0

    def add(self, account_id: str, org_id: str, sample_size: int) -> None:
        self.volume += 1
        self.accounts.update(account_id)
        self.orgs.update(org_id)
        key = (stable_hash64(account_id), account_id)
        if len(self.sample) < sample_size or key < self.sample[-1]:
            pos = bisect.bisect_left(self.sample, key)
            if pos == len(self.sample) or self.sample[pos] != key:
                self.sample.insert(pos, key)
                del self.sample[sample_size:]


class TemplateState:
    """Everything kept for one template; serialisable on its own for changelog checkpoints."""

    __slots__ = (
        "baseline_accounts",
        "baseline_ts",
        "baseline_weight",
        "last_ts",
        "volumes",
        "windows",
    )

    def __init__(self, config: TemplateStatsConfig) -> None:
        self.windows: dict[int, _Window] = {}
        self.volumes = ds.tdigest_float(config.digest_k)
        self.baseline_accounts = float(config.min_accounts)
        self.baseline_weight = config.baseline_prior_weight
        self.baseline_ts = -math.inf
        self.last_ts = -math.inf

    def to_bytes(self) -> bytes:
        """Compact binary form: a header, then the sketches' own serialisations."""
        out = [
            struct.pack(
                "<BdddH",
                STATE_VERSION,
                self.baseline_accounts,
                self.baseline_weight,
                self.baseline_ts,
                len(self.windows),
            ),
            struct.pack("<d", self.last_ts),
            _blob(self.volumes.serialize()),
        ]
        for w in self.windows.values():
            out.append(struct.pack("<qQdH", w.index, w.volume, w.emitted, len(w.sample)))
            out.append(_blob(w.accounts.serialize_compact()))
            out.append(_blob(w.orgs.serialize_compact()))
            out.extend(_blob(acc.encode("utf-8", "surrogatepass")) for _, acc in w.sample)
        return b"".join(out)

    @classmethod
    def from_bytes(cls, data: bytes, config: TemplateStatsConfig) -> TemplateState:
        """Inverse of ``to_bytes``; raises ``ValueError`` on a foreign or truncated blob."""
        try:
            reader = _Reader(data)
            version, base, weight, base_ts, n_windows = reader.unpack("<BdddH")
            if version != STATE_VERSION:
                raise StateError(f"unsupported template state version {version}")
            state = cls(config)
            state.baseline_accounts, state.baseline_weight, state.baseline_ts = (
                base,
                weight,
                base_ts,
            )
            (state.last_ts,) = reader.unpack("<d")
            state.volumes = ds.tdigest_float.deserialize(reader.blob())
            for _ in range(n_windows):
                index, volume, emitted, n_sample = reader.unpack("<qQdH")
                w = _Window(index, config.hll_lg_k)
                w.volume, w.emitted = volume, emitted
                w.accounts = ds.hll_sketch.deserialize(reader.blob())
                w.orgs = ds.hll_sketch.deserialize(reader.blob())
                names = [reader.blob().decode("utf-8", "surrogatepass") for _ in range(n_sample)]
                w.sample = sorted((stable_hash64(a), a) for a in names)
                state.windows[index] = w
            reader.done()
        except (struct.error, RuntimeError, UnicodeDecodeError) as exc:
            raise StateError(f"corrupt template state: {exc}") from exc
        return state


class TemplateStats:
    """Event-time template statistics for one stream partition (or one whole replay).

    Results are a deterministic function of the sequence of ``observe`` calls.
    Events older than the watermark's closed windows are counted in
    ``late_events`` and otherwise ignored.
    """

    def __init__(self, config: TemplateStatsConfig | None = None) -> None:
        self.config = config or TemplateStatsConfig()
        self.templates: dict[str, TemplateState] = {}
        self.watermark = -math.inf
        self.late_events = 0
        self.untracked_events = 0
        self.evicted_templates = 0
        self._closed_through = -1  # windows with index <= this are closed everywhere
        self._ratio_digests: dict[int, ds.tdigest_float] = {}
        self._ratio_cache: dict[int, float | None] = {}

    # ------------------------------------------------------------------ ingest

    def observe(
        self, template_id: str, account_id: str, org_id: str, ts: float
    ) -> TemplateFinding | None:
        """Count one event; return a finding when this template's window turns anomalous.

        A finding is re-emitted within the same window only after distinct
        accounts grew by ``reemit_growth``, so a campaign yields a few
        revisions rather than one alert per request.
        """
        cfg = self.config
        if not math.isfinite(ts):
            raise ValueError(f"event time must be finite, got {ts!r}")
        index = math.floor(ts / cfg.window_seconds)
        if index <= self._closed_through:
            self.late_events += 1
            return None
        finding = None
        if template_id.startswith(cfg.tracked_prefixes):
            state = self.templates.get(template_id)
            if state is None:
                state = self.templates[template_id] = TemplateState(cfg)
                if len(self.templates) > cfg.max_templates:
                    self._evict_least_active(template_id)
            window = state.windows.get(index)
            if window is None:
                window = state.windows[index] = _Window(index, cfg.hll_lg_k)
            window.add(account_id, org_id, cfg.sample_accounts)
            state.last_ts = max(state.last_ts, ts)
            finding = self._evaluate(template_id, state, window, ts)
        else:
            self.untracked_events += 1
        self.advance_watermark(ts - cfg.allowed_lateness)
        return finding

    def advance_watermark(self, watermark: float) -> None:
        """Close every window that ended before ``watermark`` and evict idle templates.

        Called by ``observe``; a caller may also call it on idle partitions
        with a watermark derived from other partitions' event time.
        """
        if watermark <= self.watermark:
            return
        self.watermark = watermark
        closable = math.floor(watermark / self.config.window_seconds) - 1
        if closable <= self._closed_through:
            return
        self._close_through(closable)

    def _close_through(self, closable: int) -> None:
        cfg = self.config
        horizon = self.watermark - cfg.idle_ttl_seconds
        evict = []
        for template_id, state in self.templates.items():
            for index in sorted(i for i in state.windows if i <= closable):
                self._fold(state, state.windows.pop(index))
            if not state.windows and state.last_ts < horizon:
                evict.append(template_id)
        for template_id in evict:
            del self.templates[template_id]
        self._ratio_cache.clear()
        self._closed_through = closable

    def _evict_least_active(self, keep: str) -> None:
        """Free ``evict_share`` of the cap, least active templates first (never ``keep``)."""
        cfg = self.config
        count = max(1, len(self.templates) - round(cfg.max_templates * (1.0 - cfg.evict_share)))
        ranked = heapq.nsmallest(
            count + 1,
            (
                (
                    sum(w.volume for w in state.windows.values())
                    + state.volumes.get_total_weight(),
                    state.last_ts,
                    template_id,
                )
                for template_id, state in self.templates.items()
            ),
        )
        victims = [template_id for *_, template_id in ranked if template_id != keep][:count]
        for template_id in victims:
            del self.templates[template_id]
        self.evicted_templates += len(victims)

    # ------------------------------------------------------------------ scoring

    def _evaluate(
        self, template_id: str, state: TemplateState, window: _Window, ts: float
    ) -> TemplateFinding | None:
        cfg = self.config
        accounts = window.accounts.get_estimate()
        if accounts < cfg.min_accounts or accounts < window.emitted * cfg.reemit_growth:
            return None
        orgs = window.orgs.get_estimate()
        if orgs < cfg.min_orgs:
            return None
        expected = self._expected(state, window.volume)
        score = accounts / expected
        if score < cfg.score_threshold:
            return None
        window.emitted = accounts
        return TemplateFinding(
            template_id=template_id,
            ts=ts,
            window_start=window.index * cfg.window_seconds,
            distinct_accounts=round(accounts),
            distinct_orgs=round(orgs),
            volume=window.volume,
            baseline=round(expected, 3),
            score=round(score, 3),
            accounts=tuple(acc for _, acc in window.sample),
        )

    def _expected(self, state: TemplateState, volume: int) -> float:
        """Accounts a normal template of this volume would show: floor, own history, population."""
        cfg = self.config
        expected = max(float(cfg.min_accounts), state.baseline_accounts)
        ratio = self._population_ratio(_volume_bucket(volume))
        if ratio is not None:
            expected = max(expected, ratio * volume)
        return expected

    def _population_ratio(self, bucket: int) -> float | None:
        """High quantile of accounts per event for this volume bucket, else the nearest one.

        An open window is judged while it fills, so its volume often falls in a
        bucket that few closed windows reached; a neighbour's spread is a far
        better reference than none.  Cached until the next window closes.
        """
        if bucket in self._ratio_cache:
            return self._ratio_cache[bucket]
        need = self.config.min_bucket_samples
        ratio = None
        for distance in range(64):
            for candidate in (bucket + distance, bucket - distance):
                digest = self._ratio_digests.get(candidate)
                if ratio is None and digest is not None and digest.get_total_weight() >= need:
                    ratio = digest.get_quantile(self.config.ratio_quantile)
            if ratio is not None:
                break
        self._ratio_cache[bucket] = ratio
        return ratio

    def _fold(self, state: TemplateState, window: _Window) -> None:
        """Move a closed window into the template's history and the population baseline."""
        cfg = self.config
        accounts = window.accounts.get_estimate()
        end = (window.index + 1) * cfg.window_seconds
        state.volumes.update(float(window.volume))
        # The population baseline takes every window, flagged or not: if many
        # templates of a volume spread widely, that is what normal looks like
        # here, and a high quantile is robust to the few campaigns among them.
        # Windows with fewer events than ``min_accounts`` are left out: they can never be
        # flagged, and they say nothing about spread (a one-event window always has one
        # account per event).  Kept in, a flood of one-off templates would fill the lowest
        # bucket with ratio 1, the nearest reference of any bucket without samples, and
        # hide a campaign behind "one account per event is normal".
        if window.volume >= cfg.min_accounts:
            bucket = _volume_bucket(window.volume)
            digest = self._ratio_digests.get(bucket)
            if digest is None:
                digest = self._ratio_digests[bucket] = ds.tdigest_float(cfg.digest_k)
            digest.update(accounts / window.volume)
        # A template's own baseline learns slowly from its flagged windows, so a
        # campaign keeps standing out for a while instead of becoming its own normal.
        anomalous = window.emitted > 0
        decay = 0.5 ** (max(0.0, end - state.baseline_ts) / cfg.baseline_half_life_seconds)
        old = state.baseline_weight * decay
        new = cfg.anomaly_learn_weight if anomalous else 1.0
        state.baseline_accounts = (old * state.baseline_accounts + new * accounts) / (old + new)
        state.baseline_weight = old + new
        state.baseline_ts = end

    # ------------------------------------------------------------------ views

    def volume_quantiles(
        self, template_id: str, ranks: tuple[float, ...] = (0.5, 0.9, 0.99)
    ) -> tuple[float, ...] | None:
        """Per-window volume quantiles of a template over its closed windows (None if unknown)."""
        state = self.templates.get(template_id)
        if state is None or state.volumes.is_empty():
            return None
        return tuple(state.volumes.get_quantile(r) for r in ranks)

    # ------------------------------------------------------------------ persistence

    def state_bytes(self, template_id: str) -> bytes | None:
        """One template's state for a per-key changelog (None when not tracked)."""
        state = self.templates.get(template_id)
        return None if state is None else state.to_bytes()

    def load_state(self, template_id: str, data: bytes) -> None:
        """Restore one template's state from ``state_bytes``."""
        self.templates[template_id] = TemplateState.from_bytes(data, self.config)

    def global_bytes(self) -> bytes:
        """Watermark, counters and population digests."""
        out = [
            struct.pack(
                "<BdqQQH",
                GLOBAL_VERSION,
                self.watermark,
                self._closed_through,
                self.late_events,
                self.untracked_events,
                len(self._ratio_digests),
            )
        ]
        for bucket, digest in sorted(self._ratio_digests.items()):
            out.append(struct.pack("<h", bucket))
            out.append(_blob(digest.serialize()))
        return b"".join(out)

    def load_global(self, data: bytes) -> None:
        """Restore what ``global_bytes`` saved; raises ``StateError`` on a corrupt blob.

        Version 1 blobs (written before the heavy-hitters sketch was dropped) still load: their
        sketch sections are read past, so a checkpoint survives the upgrade.
        """
        try:
            reader = _Reader(data)
            (version,) = reader.unpack("<B")
            if version not in (1, GLOBAL_VERSION):
                raise StateError(f"unsupported template stats version {version}")
            watermark, closed, late, untracked, n_dig = reader.unpack("<dqQQH")
            n_heavy = reader.unpack("<H")[0] if version == 1 else 0
            digests = {}
            for _ in range(n_dig):
                (bucket,) = reader.unpack("<h")
                digests[bucket] = ds.tdigest_float.deserialize(reader.blob())
            if version == 1:
                for _ in range(n_heavy):
                    reader.unpack("<q")
                    reader.blob()
                _, n_rows = reader.unpack("<qH")
                for _ in range(n_rows):
                    reader.unpack("<Q")
                    reader.blob()
            reader.done()
        except (struct.error, RuntimeError, UnicodeDecodeError) as exc:
            raise StateError(f"corrupt template stats: {exc}") from exc
        self.watermark, self._closed_through = watermark, closed
        self.late_events, self.untracked_events = late, untracked
        self._ratio_digests = digests
        self._ratio_cache.clear()

    def to_bytes(self) -> bytes:
        """Whole-instance snapshot: global state followed by every template's state."""
        parts = [_blob(self.global_bytes()), struct.pack("<I", len(self.templates))]
        for template_id, state in self.templates.items():
            parts.append(_blob(template_id.encode("utf-8", "surrogatepass")))
            parts.append(_blob(state.to_bytes()))
        return b"".join(parts)

    @classmethod
    def from_bytes(cls, data: bytes, config: TemplateStatsConfig | None = None) -> TemplateStats:
        """Inverse of ``to_bytes``."""
        stats = cls(config)
        try:
            reader = _Reader(data)
            stats.load_global(reader.blob())
            (count,) = reader.unpack("<I")
            for _ in range(count):
                template_id = reader.blob().decode("utf-8", "surrogatepass")
                stats.load_state(template_id, reader.blob())
            reader.done()
        except (struct.error, UnicodeDecodeError) as exc:
            raise StateError(f"corrupt template stats: {exc}") from exc
        return stats

    def __iter__(self) -> Iterator[str]:
        return iter(self.templates)

    def __len__(self) -> int:
        return len(self.templates)


def _volume_bucket(volume: int) -> int:
    return max(0, volume).bit_length()


def _blob(data: bytes) -> bytes:
    return struct.pack("<I", len(data)) + data


class _Reader:
    """Cursor over a length-prefixed binary layout; raises ``struct.error`` when truncated."""

    __slots__ = ("data", "pos")

    def __init__(self, data: bytes) -> None:
        self.data = memoryview(data)
        self.pos = 0

    def unpack(self, fmt: str) -> tuple:
        values = struct.unpack_from(fmt, self.data, self.pos)
        self.pos += struct.calcsize(fmt)
        return values

    def blob(self) -> bytes:
        (size,) = self.unpack("<I")
        end = self.pos + size
        if end > len(self.data):
            raise struct.error("blob runs past the end of the buffer")
        chunk = bytes(self.data[self.pos : end])
        self.pos = end
        return chunk

    def done(self) -> None:
        if self.pos != len(self.data):
            raise struct.error(f"{len(self.data) - self.pos} trailing bytes")
