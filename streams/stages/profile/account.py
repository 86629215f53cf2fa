"""Per-account behaviour profiles: the first keyed stage (key = ``account_id``).

An ``AccountState`` is a few hundred bytes of counters, EWMAs and bottom-k
samples.  Bottom-k by a stable hash matters twice: it bounds the state, and
two accounts drawing from the same pool (a proxy pool, a template set) keep
*the same* sample, so their coordination tokens overlap even when each saw a
different subset of the pool.

Decoded, an account is a graph of small Python objects several times the size of its bytes,
so the profiler keeps only the most recently active accounts decoded (``AccountStates``);
idle ones wait as their checkpoint bytes and are decoded on their next event.
"""

from __future__ import annotations

import binascii
import heapq
import math
import struct
from bisect import insort
from collections import OrderedDict
from collections.abc import Collection, ItemsView, Iterable, Iterator, ValuesView
from typing import Any

import numpy as np
import orjson

from streams.config import TOKEN_FAMILY_NAMES, DetectorConfig
from streams.errors import StateError
from streams.messages import AccountSnapshot, SignatureHit, TemplateHit
from streams.records import Action, Alert, RequestEvent
from streams.sketches.minhash import stable_hash64
from streams.stages.scoring import (
    SEVERITY_RANK,
    action_kind_for,
    alert_id_for,
    feature_evidence,
    make_action,
    ramp,
    severity_for,
)
from streams.stages.signatures import SignatureBook
from streams.templates.extractor import TemplateMatch

_HOUR = 3600.0
_DAY = 86400.0
_U32 = 0xFFFFFFFF
_AUTOMATION = ("young", "asn_rotation", "ip_rotation", "diurnal")
EVIDENCE_METRICS = (
    "account_age_days",
    "asn_distinct",
    "ip24_distinct",
    "rate_per_hour",
    "active_hours",
    "distinct_categories",
    "template_diversity",
    "structured_share",
    "cot_share",
    "completion_ratio",
    "throttle_share",
)
"""Metrics carried by snapshots and cited in alert evidence."""


class BottomK:
    """The k items with the smallest stable hash: a consistent, bounded sample of a set."""

    __slots__ = ("items", "k")

    def __init__(self, k: int, items: Collection[str] = ()) -> None:
        self.k = k
        if len(items) <= k:
            # Nothing to displace: every distinct item stays, in first-seen order, as ``add``
            # would keep it (the common case of decoding a state).
            self.items: dict[str, int] = {item: stable_hash64(item) for item in items}
            return
        self.items = {}
        for item in items:
            self.add(item)

    def add(self, item: str) -> bool:
        """Offer an item; True when the sample changed."""
        items = self.items
        if item in items:
            return False
        h = stable_hash64(item)
        if len(items) < self.k:
            items[item] = h
            return True
        worst = max(items, key=items.__getitem__)
        if h >= items[worst]:
            return False
        del items[worst]
        items[item] = h
        return True


class Kmv:
    """K-minimum-values distinct counter over 32-bit hashes (exact below k)."""

    __slots__ = ("hashes", "k")

    def __init__(self, k: int, hashes: Iterable[int] = ()) -> None:
        self.k = k
        self.hashes: list[int] = sorted(hashes)

    def add(self, item: str) -> None:
        h = stable_hash64(item) & _U32
        hashes = self.hashes
        if len(hashes) < self.k:
            if h not in hashes:
                insort(hashes, h)
        elif h < hashes[-1] and h not in hashes:
            insort(hashes, h)
            hashes.pop()

    def estimate(self) -> float:
        hashes = self.hashes
        if len(hashes) < self.k:
            return float(len(hashes))
        return (self.k - 1) / ((hashes[-1] + 1) / (_U32 + 1))


def ip_prefix(ip: str) -> str:
    """IPv4 /24 or IPv6 /48 prefix: proxies and NATs share prefixes, not addresses."""
    if ":" in ip:
        return ":".join(ip.split(":")[:3])
    return ip.rsplit(".", 1)[0]


def _b64(values: list[int]) -> str:
    return binascii.b2a_base64(struct.pack(f"<{len(values)}I", *values), newline=False).decode()


def _unb64(text: str) -> list[int]:
    raw = binascii.a2b_base64(text)
    if len(raw) % 4:
        raise StateError(f"hash list of {len(raw)} bytes is not a list of 32-bit hashes")
    return list(struct.unpack(f"<{len(raw) // 4}I", raw))


class AccountState:
    """Everything the detector remembers about one account."""

    __slots__ = (
        "alert_revision",
        "alerted_severity",
        "categories",
        "completion_tokens",
        "created_at",
        "first_ts",
        "gap_mean",
        "gap_var",
        "hours",
        "kmv_asn",
        "kmv_ip24",
        "kmv_tpl",
        "last_risk",
        "last_snap_n",
        "last_snap_ts",
        "last_ts",
        "n",
        "n_429",
        "n_cot",
        "n_json",
        "org_id",
        "pending_tokens",
        "prompt_tokens",
        "reported",
        "reported_at",
        "signature_hits",
        "tokens",
    )

    def __init__(self, org_id: str, first_ts: float, config: DetectorConfig) -> None:
        self.org_id = org_id
        self.first_ts = first_ts
        self.last_ts = first_ts
        self.n = 0
        self.created_at: float | None = None
        self.gap_mean = 0.0
        self.gap_var = 0.0
        self.hours = [0] * 24
        self.categories: dict[str, int] = {}
        self.n_json = 0
        self.n_cot = 0
        self.n_429 = 0
        self.prompt_tokens = 0
        self.completion_tokens = 0
        self.kmv_asn = Kmv(config.kmv_k)
        self.kmv_ip24 = Kmv(config.kmv_k)
        self.kmv_tpl = Kmv(config.kmv_k)
        self.tokens = {f.name: BottomK(f.cap) for f in config.token_families}
        self.reported: list[int] = []  # 32-bit hashes of the tokens of the last snapshot
        self.reported_at: float | None = None
        self.pending_tokens = 0
        self.last_snap_n = 0
        self.last_snap_ts = first_ts
        self.alerted_severity = ""
        self.alert_revision = 0
        self.last_risk = 0.0
        self.signature_hits: list[str] = []

    # -- update -------------------------------------------------------------------------------

    def update(self, event: RequestEvent, match: TemplateMatch, config: DetectorConfig) -> None:
        ts = event.ts
        if self.n:
            gap = min(max(ts - self.last_ts, 0.0), config.gap_cap_s)
            if self.n == 1:
                self.gap_mean = gap
            else:
                alpha = config.gap_ewma_alpha
                diff = gap - self.gap_mean
                incr = alpha * diff
                self.gap_mean += incr
                self.gap_var = (1.0 - alpha) * (self.gap_var + diff * incr)
        self.n += 1
        self.last_ts = max(self.last_ts, ts)
        hour = int(ts // _HOUR)
        self.hours[hour % 24] = hour
        if event.account_created_at is not None:
            self.created_at = event.account_created_at

        features = match.features
        category = "unknown"
        for feature in features:
            if feature.startswith("category:"):
                category = feature[9:]
                break
        cats = self.categories
        if category in cats:
            cats[category] += 1
        elif len(cats) < config.max_categories:
            cats[category] = 1
        else:
            cats["~other"] = cats.get("~other", 0) + 1
        if event.response_format != "text" or "asks_json" in features:
            self.n_json += 1
        if "asks_step_by_step" in features:
            self.n_cot += 1
        if event.status == 429:
            self.n_429 += 1
        self.prompt_tokens += max(event.prompt_tokens, 0)
        self.completion_tokens += max(event.completion_tokens, 0)

        prefix = ip_prefix(event.ip)
        asn = str(event.asn)
        self.kmv_asn.add(asn)
        self.kmv_ip24.add(prefix)
        self.kmv_tpl.add(match.template_id)

        tokens = self.tokens
        changed = tokens["ua"].add(event.user_agent)
        changed += tokens["asn"].add(asn)
        changed += tokens["ip24"].add(prefix)
        if match.wrapper:
            # Only wrappers are structure; a plain prompt's id is its content, and strangers
            # ask the same popular questions.
            changed += tokens["tpl"].add(match.template_id)
        temp = round(event.temperature / config.temperature_bucket) * config.temperature_bucket
        changed += tokens["params"].add(
            f"{event.model}|{temp:.2f}|{event.n}|{event.response_format}"
        )
        if event.payment_fingerprint:
            changed += tokens["pay"].add(event.payment_fingerprint)
        if event.system_prompt:
            changed += tokens["sys"].add(f"{stable_hash64(event.system_prompt):016x}")
        if self.created_at is not None and not tokens["created"].items:
            # Two widths, so a sign-up burst that straddles an hour boundary still shares one.
            changed += tokens["created"].add(str(int(self.created_at // config.created_bucket_s)))
            changed += tokens["created_day"].add(
                str(int(self.created_at // config.created_wide_bucket_s))
            )
        self.pending_tokens += changed

    # -- derived ------------------------------------------------------------------------------

    def metrics(self) -> dict[str, float]:
        """Raw behaviour metrics, in natural units (named as signature behaviour keys use them)."""
        n = self.n
        cats = self.categories
        total = sum(cats.values()) or 1
        entropy = -sum((c / total) * math.log2(c / total) for c in cats.values() if c)
        now_hour = int(self.last_ts // _HOUR)
        active = sum(1 for h in self.hours if h and now_hour - h < 24)
        cv = math.sqrt(self.gap_var) / self.gap_mean if self.gap_mean > 0 else 0.0
        out = {
            "events": float(n),
            "observed_hours": (self.last_ts - self.first_ts) / _HOUR,
            "rate_per_hour": _HOUR / max(self.gap_mean, 1.0) if n >= 2 else 0.0,
            "gap_cv": cv,
            "active_hours": float(active),
            "distinct_categories": float(len(cats)),
            "category_entropy": entropy,
            "template_diversity": min(self.kmv_tpl.estimate() / n, 1.0) if n else 0.0,
            "structured_share": self.n_json / n if n else 0.0,
            "cot_share": self.n_cot / n if n else 0.0,
            "throttle_share": self.n_429 / n if n else 0.0,
            "completion_ratio": self.completion_tokens / max(self.prompt_tokens, 1),
            "asn_distinct": self.kmv_asn.estimate(),
            "ip24_distinct": self.kmv_ip24.estimate(),
        }
        if self.created_at is not None:
            out["account_age_days"] = max(self.first_ts - self.created_at, 0.0) / _DAY
        return out

    def suspicion(self, metrics: dict[str, float], config: DetectorConfig) -> dict[str, float]:
        """Per-feature suspicion in [0, 1]; a feature is absent until there is data to judge it."""
        n = self.n
        c = config
        out: dict[str, float] = {}
        if "account_age_days" in metrics:
            out["young"] = ramp(
                metrics["account_age_days"], c.old_account_days, c.young_account_days
            )
        if n >= 3:
            # Rotation is judged by count (a week of roaming reaches a few networks) and, early
            # on, by share: a new network on nearly every request is a proxy pool, not roaming.
            early = min(1.0, (n - 1) / c.rotation_share_events)
            out["asn_rotation"] = max(
                ramp(metrics["asn_distinct"], c.asn_rotation_low, c.asn_rotation_high),
                early * ramp(metrics["asn_distinct"] / n, 0.5, 0.9),
            )
            out["ip_rotation"] = max(
                ramp(metrics["ip24_distinct"], c.ip_rotation_low, c.ip_rotation_high),
                early * ramp(metrics["ip24_distinct"] / n, 0.5, 0.9),
            )
            out["structured"] = ramp(
                metrics["structured_share"], c.structured_low, c.structured_high
            )
            out["cot"] = ramp(metrics["cot_share"], c.cot_low, c.cot_high)
            if self.prompt_tokens > 0:
                out["ratio"] = ramp(metrics["completion_ratio"], c.ratio_low, c.ratio_high)
        if n >= 5:
            out["breadth"] = ramp(metrics["distinct_categories"], c.breadth_low, c.breadth_high)
            out["diversity"] = ramp(
                metrics["template_diversity"], c.diversity_low, c.diversity_high
            )
        if n >= 10:
            out["throttle"] = ramp(metrics["throttle_share"], c.throttle_low, c.throttle_high)
            out["regularity"] = ramp(metrics["gap_cv"], c.regularity_cv_high, c.regularity_cv_low)
            if metrics["observed_hours"] >= 0.25:
                out["volume"] = ramp(
                    metrics["rate_per_hour"], c.volume_low_per_hour, c.volume_high_per_hour
                )
        if metrics["observed_hours"] >= 20.0:
            out["diurnal"] = ramp(
                metrics["active_hours"], c.diurnal_low_hours, c.diurnal_high_hours
            )
        return out

    def risk(self, suspicion: dict[str, float], config: DetectorConfig) -> float:
        """Weighted mean suspicion over the features that can be judged yet."""
        if self.n < config.risk_min_events:
            return 0.0
        num = den = 0.0
        for name, weight in config.risk_weights:
            if name in suspicion:
                num += weight * suspicion[name]
                den += weight
        return num / den if den else 0.0

    def behaviour(self, metrics: dict[str, float]) -> np.ndarray:
        """Small behaviour vector centred on 0 so the cosine of two vectors is informative."""
        raw = (
            min(math.log10(1.0 + metrics["rate_per_hour"]) / 3.0, 1.0),
            1.0 - min(metrics["gap_cv"], 1.0),
            metrics["structured_share"],
            metrics["cot_share"],
            min(metrics["distinct_categories"] / 8.0, 1.0),
            metrics["template_diversity"],
            min(math.log2(1.0 + metrics["completion_ratio"]) / 4.0, 1.0),
            min(metrics["throttle_share"] * 5.0, 1.0),
            min(metrics["asn_distinct"] / 8.0, 1.0),
            metrics["active_hours"] / 24.0,
        )
        return np.asarray(raw, dtype=np.float32) * 2.0 - 1.0

    def token_list(self) -> tuple[str, ...]:
        return tuple(
            sorted(f"{family}:{item}" for family, bk in self.tokens.items() for item in bk.items)
        )

    # -- serialisation ------------------------------------------------------------------------

    def to_bytes(self) -> bytes:
        return orjson.dumps(
            [
                self.org_id,
                self.first_ts,
                self.last_ts,
                self.n,
                self.created_at,
                self.gap_mean,
                self.gap_var,
                _hours_to_text(self.hours, int(self.last_ts // _HOUR)),
                self.categories,
                [self.n_json, self.n_cot, self.n_429, self.prompt_tokens, self.completion_tokens],
                [_b64(k.hashes) for k in (self.kmv_asn, self.kmv_ip24, self.kmv_tpl)],
                [list(self.tokens[f].items) for f in TOKEN_FAMILY_NAMES],
                _b64(self.reported),
                [self.pending_tokens, self.last_snap_n, self.last_snap_ts, self.reported_at],
                [self.alerted_severity, self.alert_revision, self.last_risk],
                self.signature_hits,
            ]
        )

    @classmethod
    def from_bytes(cls, data: bytes, config: DetectorConfig) -> AccountState:
        row: list[Any] = orjson.loads(data)
        # Every field comes from the row, so ``__init__``'s empty samples are skipped: an
        # idle account's next event pays for this decoding.
        state = cls.__new__(cls)
        state.org_id, state.first_ts, state.last_ts, state.n, state.created_at = row[:5]
        state.gap_mean = row[5]
        state.gap_var = row[6]
        state.hours = _hours_from_text(row[7], int(state.last_ts // _HOUR))
        state.categories = row[8]
        state.n_json, state.n_cot, state.n_429, state.prompt_tokens, state.completion_tokens = row[
            9
        ]
        k = config.kmv_k
        state.kmv_asn, state.kmv_ip24, state.kmv_tpl = (Kmv(k, _unb64(text)) for text in row[10])
        state.tokens = {
            family.name: BottomK(family.cap, items)
            for family, items in zip(config.token_families, row[11], strict=True)
        }
        state.reported = _unb64(row[12])
        state.pending_tokens, state.last_snap_n, state.last_snap_ts, state.reported_at = row[13]
        state.alerted_severity, state.alert_revision, state.last_risk = row[14]
        state.signature_hits = row[15]
        return state


def _hours_to_text(hours: list[int], now_hour: int) -> str:
    """Hours-of-day as one byte each: hours since last seen (255 = not within ~10 days)."""
    ages = bytes(min(now_hour - h, 255) if h else 255 for h in hours)
    return binascii.b2a_base64(ages, newline=False).decode()


def _hours_from_text(text: str, now_hour: int) -> list[int]:
    return [now_hour - age if age < 255 else 0 for age in binascii.a2b_base64(text)]


def _snapshot_due(state: AccountState, ts: float, config: DetectorConfig) -> bool:
    n, last = state.n, state.last_snap_n
    if n < config.snapshot_first_after:
        return False
    if last == 0:
        return True
    since = n - last
    if since >= min(last, config.snapshot_every):
        return True
    if since < config.snapshot_min_events_between:
        return False
    return (
        state.pending_tokens >= config.snapshot_on_new_tokens
        or ts - state.last_snap_ts >= config.snapshot_max_interval_s
    )


def _compact(data: bytes) -> bytes:
    """A copy of exactly ``len(data)`` bytes: orjson's output keeps a block of some 4 KiB."""
    return bytes(memoryview(data))


class PackedAccount:
    """An idle account as its checkpoint bytes, plus the two fields eviction orders by.

    A tenth of the decoded state's memory; caps and the idle TTL read ``n`` and ``last_ts``
    without decoding anything.
    """

    __slots__ = ("data", "last_ts", "n")

    def __init__(self, state: AccountState) -> None:
        self.data = _compact(state.to_bytes())
        self.n = state.n
        self.last_ts = state.last_ts

    def to_bytes(self) -> bytes:
        return self.data


class AccountStates:
    """Account id -> profile, with only the ``hot_accounts`` most recently used ones decoded.

    The others are ``PackedAccount``: their exact ``to_bytes`` form, decoded again by
    ``get`` on the account's next event.  Encoding round-trips exactly, so which accounts
    happen to be decoded changes memory and time, never a result.  Insertion order is that
    of a plain dict (replacing a state keeps its place), so snapshots list accounts as
    before.  ``items``/``values`` are read-only views of the stored entries, decoded or
    packed: both carry ``n``, ``last_ts`` and ``to_bytes``.
    """

    __slots__ = ("_config", "_entries", "_hot")

    def __init__(self, config: DetectorConfig) -> None:
        self._config = config
        self._entries: dict[str, AccountState | PackedAccount] = {}
        self._hot: OrderedDict[str, None] = OrderedDict()  # decoded ids, least recent first

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __contains__(self, account: object) -> bool:
        return account in self._entries

    def __getitem__(self, account: str) -> AccountState:
        state = self.get(account)
        if state is None:
            raise KeyError(account)
        return state

    def __setitem__(self, account: str, state: AccountState) -> None:
        self._entries[account] = state
        self._touch(account)

    def __delitem__(self, account: str) -> None:
        del self._entries[account]
        self._hot.pop(account, None)

    def get(self, account: str) -> AccountState | None:
        """The decoded state (decoding a packed one), now the most recently used."""
        entry = self._entries.get(account)
        if entry is None or isinstance(entry, AccountState):
            if entry is not None:
                self._hot.move_to_end(account)
            return entry
        state = AccountState.from_bytes(entry.data, self._config)
        self._entries[account] = state
        self._touch(account)
        return state

    def peek(self, account: str) -> AccountState | PackedAccount | None:
        """The stored entry as it is, without decoding or counting as a use."""
        return self._entries.get(account)

    def items(self) -> ItemsView[str, AccountState | PackedAccount]:
        return self._entries.items()

    def values(self) -> ValuesView[AccountState | PackedAccount]:
        return self._entries.values()

    def decoded(self) -> int:
        """How many states are held decoded (at most ``hot_accounts``)."""
        return len(self._hot)

    def retract_signature(self, signature_id: str) -> list[str]:
        """Forget ``signature_id`` as matched; returns the accounts that had matched it.

        A packed account is decoded only when its bytes contain the id's JSON string, and
        stays packed.
        """
        needle = orjson.dumps(signature_id)
        changed: list[str] = []
        for account, entry in self._entries.items():
            if isinstance(entry, AccountState):
                state = entry
            elif needle in entry.data:
                state = AccountState.from_bytes(entry.data, self._config)
            else:
                continue
            if signature_id in state.signature_hits:
                state.signature_hits.remove(signature_id)
                if state is not entry:
                    entry.data = _compact(state.to_bytes())
                changed.append(account)
        return changed

    def _touch(self, account: str) -> None:
        hot = self._hot
        hot[account] = None
        hot.move_to_end(account)
        if len(hot) > self._config.hot_accounts:
            coldest, _ = hot.popitem(last=False)
            state = self._entries[coldest]
            assert isinstance(state, AccountState)
            self._entries[coldest] = PackedAccount(state)


def feature_baselines(config: DetectorConfig) -> dict[str, float]:
    """For each metric, the level where suspicion starts: what legitimate accounts stay under."""
    return {
        "account_age_days": config.old_account_days,
        "asn_distinct": config.asn_rotation_low,
        "ip24_distinct": config.ip_rotation_low,
        "active_hours": config.diurnal_low_hours,
        "rate_per_hour": config.volume_low_per_hour,
        "distinct_categories": config.breadth_low,
        "template_diversity": config.diversity_low,
        "structured_share": config.structured_low,
        "cot_share": config.cot_low,
        "completion_ratio": config.ratio_low,
        "throttle_share": config.throttle_low,
        "gap_cv": config.regularity_cv_high,
    }


class AccountProfiler:
    """Keyed stage: RequestEvent (+ its TemplateMatch) -> hits, snapshots, account alerts."""

    def __init__(self, config: DetectorConfig, signatures: SignatureBook) -> None:
        self.config = config
        self.signatures = signatures
        self.states = AccountStates(config)
        self.baselines = feature_baselines(config)

    def process(
        self, event: RequestEvent, match: TemplateMatch
    ) -> list[TemplateHit | AccountSnapshot | SignatureHit | Alert | Action]:
        config = self.config
        ts = event.ts
        states = self.states
        entry = states.peek(event.account_id)
        if entry is None or ts - entry.last_ts > config.account_ttl_s:
            state = AccountState(event.org_id, ts, config)
            states[event.account_id] = state
        else:
            state = states[event.account_id]
        state.update(event, match, config)
        out: list[TemplateHit | AccountSnapshot | SignatureHit | Alert | Action] = [
            TemplateHit(match.template_id, event.account_id, event.org_id, ts, state.last_risk)
        ]
        metrics: dict[str, float] | None = None
        if self.signatures.active:
            metrics = state.metrics()
            for sig_id, matched, confidence in self.signatures.match(
                event, match, metrics, state.n
            ):
                if sig_id not in state.signature_hits:
                    state.signature_hits.append(sig_id)
                    out.append(
                        SignatureHit(
                            sig_id, event.account_id, event.org_id, ts, matched, confidence
                        )
                    )
        if _snapshot_due(state, ts, config):
            if metrics is None:
                metrics = state.metrics()
            out.extend(self._snapshot(event.account_id, state, ts, metrics))
        return out

    def _snapshot(
        self, account_id: str, state: AccountState, ts: float, metrics: dict[str, float]
    ) -> list[AccountSnapshot | Alert | Action]:
        config = self.config
        suspicion = state.suspicion(metrics, config)
        risk = state.risk(suspicion, config)
        state.last_risk = risk
        tokens = state.token_list()
        recount = state.reported_at is None or ts - state.reported_at >= config.df_window_s
        if recount:
            new_tokens = tokens
            state.reported_at = ts
        else:
            reported = set(state.reported)
            new_tokens = tuple(t for t in tokens if stable_hash64(t) & _U32 not in reported)
        state.reported = sorted(stable_hash64(t) & _U32 for t in tokens)
        state.pending_tokens = 0
        state.last_snap_n = state.n
        state.last_snap_ts = ts
        features = tuple((name, metrics[name]) for name in EVIDENCE_METRICS if name in metrics)
        out: list[AccountSnapshot | Alert | Action] = [
            AccountSnapshot(
                account_id=account_id,
                org_id=state.org_id,
                ts=ts,
                first_ts=state.first_ts,
                n_events=state.n,
                tokens=tokens,
                new_tokens=new_tokens,
                recount=recount,
                behaviour=state.behaviour(metrics),
                risk=risk,
                features=features,
            )
        ]
        out.extend(self._extraction(account_id, state, ts, metrics, suspicion, risk))
        return out

    def _extraction(
        self,
        account_id: str,
        state: AccountState,
        ts: float,
        metrics: dict[str, float],
        suspicion: dict[str, float],
        risk: float,
    ) -> list[Alert | Action]:
        """A single account whose own behaviour is extraction-like (automation AND harvesting)."""
        config = self.config
        if state.n < config.extraction_min_events or risk < config.extraction_threshold:
            return []
        automation = max(suspicion.get(name, 0.0) for name in _AUTOMATION)
        harvest = min(suspicion.get("breadth", 0.0), suspicion.get("diversity", 0.0))
        if automation < config.extraction_min_automation or harvest < config.extraction_min_harvest:
            return []
        severity = severity_for(risk, config)
        if (
            state.alerted_severity
            and SEVERITY_RANK[severity] <= SEVERITY_RANK[state.alerted_severity]
        ):
            return []
        state.alert_revision += 1
        state.alerted_severity = severity
        alert_id = alert_id_for("account_extraction", account_id)
        evidence = {
            "features": feature_evidence(metrics, self.baselines, tuple(self.baselines)),
            "shared_templates": [],
            "similar_pairs": [],
            "infrastructure": {
                "asns": sorted(state.tokens["asn"].items),
                "ip_prefixes": sorted(state.tokens["ip24"].items),
                "user_agents": sorted(state.tokens["ua"].items),
                "payment_fingerprints": sorted(state.tokens["pay"].items),
            },
            "time_span": {"first": state.first_ts, "last": state.last_ts},
        }
        alert = Alert(
            alert_id=alert_id,
            revision=state.alert_revision,
            ts=ts,
            kind="account_extraction",
            severity=severity,
            score=round(risk, 4),
            accounts=(account_id,),
            cluster_id=None,
            evidence=evidence,
        )
        action = make_action(
            account_id,
            action_kind_for(severity, config),
            "account_extraction",
            ts,
            config,
            alert_id,
        )
        return [alert, action]

    def enforce_cap(self) -> list[str]:
        """Forget accounts beyond ``max_accounts``; returns them.

        Fewest events go first, then the longest idle, then by id: a flood of one-request
        fresh accounts is what gets forgotten, not a campaign's busy accounts.  Callers run
        it when event time advances, before the event that advanced it, so the set it sees
        depends on the stream's order alone.
        """
        config = self.config
        states = self.states
        if len(states) <= config.max_accounts:
            return []
        keep = round(config.max_accounts * (1.0 - config.cap_evict_share))
        victims = heapq.nsmallest(
            len(states) - keep, ((s.n, s.last_ts, a) for a, s in states.items())
        )
        for *_, account_id in victims:
            del states[account_id]
        return [account_id for *_, account_id in victims]

    def retract_signature(self, signature_id: str) -> list[str]:
        """A tombstoned signature no longer counts as matched; returns the accounts changed."""
        return self.states.retract_signature(signature_id)

    def evict(self, watermark: float) -> int:
        """Forget accounts idle beyond the TTL; returns how many were dropped."""
        horizon = watermark - self.config.account_ttl_s
        stale = [a for a, s in self.states.items() if s.last_ts < horizon]
        for account_id in stale:
            del self.states[account_id]
        return len(stale)
