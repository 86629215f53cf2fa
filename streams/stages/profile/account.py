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
import math
import struct
from bisect import insort
from collections.abc import Collection, Iterable
from typing import Any

import numpy as np
import orjson

from streams.config import TOKEN_FAMILY_NAMES, DetectorConfig
from streams.errors import StateError
from streams.records import RequestEvent
from streams.sketches.minhash import stable_hash64
from streams.stages.scoring import (
    ramp,
)
from streams.templates.extractor import TemplateMatch

_HOUR = 3600.0
_DAY = 86400.0
U32 = 0xFFFFFFFF
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
        h = stable_hash64(item) & U32
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
        return (self.k - 1) / ((hashes[-1] + 1) / (U32 + 1))


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
        (
            state.org_id,
            state.first_ts,
            state.last_ts,
            state.n,
            state.created_at,
            state.gap_mean,
            state.gap_var,
            hours,
            state.categories,
            counts,
            kmv,
            tokens,
            reported,
            snapshot,
            alerted,
            state.signature_hits,
        ) = row
        state.hours = _hours_from_text(hours, int(state.last_ts // _HOUR))
        (state.n_json, state.n_cot, state.n_429, state.prompt_tokens, state.completion_tokens) = (
            counts
        )
        k = config.kmv_k
        state.kmv_asn, state.kmv_ip24, state.kmv_tpl = (Kmv(k, _unb64(text)) for text in kmv)
        state.tokens = {
            family.name: BottomK(family.cap, items)
            for family, items in zip(config.token_families, tokens, strict=True)
        }
        state.reported = _unb64(reported)
        state.pending_tokens, state.last_snap_n, state.last_snap_ts, state.reported_at = snapshot
        state.alerted_severity, state.alert_revision, state.last_risk = alerted
        return state


def _hours_to_text(hours: list[int], now_hour: int) -> str:
    """Hours-of-day as one byte each: hours since last seen (255 = not within ~10 days)."""
    ages = bytes(min(now_hour - h, 255) if h else 255 for h in hours)
    return binascii.b2a_base64(ages, newline=False).decode()


def _hours_from_text(text: str, now_hour: int) -> list[int]:
    return [now_hour - age if age < 255 else 0 for age in binascii.a2b_base64(text)]
