"""Cross-account similarity: LSH candidate keys and pair scoring.

``SimilarityStage`` (key = candidate key) keeps a bounded bucket of the most recent member
accounts per key; the keys and the surprise weights of a snapshot's tokens come from
``streams.stages.token_frequency``.  A new snapshot is compared only with the members of its
buckets (sub-quadratic), and a pair of accounts from different orgs becomes a
``CandidatePair`` when the surprise of what they share, blended with the cosine of their
behaviour vectors, passes the threshold.  Same-org pairs are never compared: an org is one
customer.
"""

from __future__ import annotations

import base64
import math
from typing import Any

import numpy as np
import orjson

from streams.config import DetectorConfig
from streams.messages import CandidatePair, WeightedSnapshot
from streams.sketches.minhash import stable_hash64
from streams.stages.profile.account import EVIDENCE_METRICS

_U32 = 0xFFFFFFFF


def token_hash(token: str) -> int:
    """32-bit stable token hash: bucket members store these instead of token strings."""
    return stable_hash64(token) & _U32


class Member:
    """What a bucket keeps of one account's latest snapshot: ids, weights by token hash, vectors."""

    __slots__ = (
        "account_id",
        "behaviour",
        "features",
        "first_ts",
        "norm",
        "org_id",
        "risk",
        "ts",
        "weights",
    )

    def __init__(
        self,
        account_id: str,
        org_id: str,
        ts: float,
        first_ts: float,
        risk: float,
        weights: dict[int, float],
        behaviour: np.ndarray,
        features: tuple[tuple[str, float], ...],
    ) -> None:
        self.account_id = account_id
        self.org_id = org_id
        self.ts = ts
        self.first_ts = first_ts
        self.risk = risk
        self.weights = weights
        self.behaviour = behaviour
        self.norm = float(np.linalg.norm(behaviour))
        self.features = features

    @classmethod
    def of(cls, ws: WeightedSnapshot) -> Member:
        """Quantised exactly as ``to_list`` stores it, so a restored stage scores identically."""
        snap = ws.snapshot
        hashes = [token_hash(t) for t in ws.weights]
        weights = np.asarray(list(ws.weights.values()), dtype="<f2").astype(np.float32).tolist()
        return cls(
            snap.account_id,
            snap.org_id,
            snap.ts,
            snap.first_ts,
            round(snap.risk, 5),
            dict(zip(hashes, weights, strict=True)),
            snap.behaviour.astype("<f2").astype(np.float32),
            tuple((k, round(v, 4)) for k, v in snap.features),
        )

    def to_list(self) -> list[Any]:
        hashes = np.fromiter(self.weights, dtype="<u4", count=len(self.weights))
        weights = np.fromiter(self.weights.values(), dtype="<f2", count=len(self.weights))
        return [
            self.account_id,
            self.org_id,
            self.ts,
            self.first_ts,
            self.risk,
            base64.b64encode(hashes.tobytes() + weights.tobytes()).decode(),
            base64.b64encode(self.behaviour.astype("<f2").tobytes()).decode(),
            [dict(self.features).get(name) for name in EVIDENCE_METRICS],
        ]

    @classmethod
    def from_list(cls, row: list[Any]) -> Member:
        account_id, org_id, ts, first_ts, risk, packed, behaviour_b64, features = row
        raw = base64.b64decode(packed)
        count = len(raw) // 6
        hashes = np.frombuffer(raw[: count * 4], dtype="<u4").tolist()
        weights = np.frombuffer(raw[count * 4 :], dtype="<f2").astype(np.float32).tolist()
        behaviour = np.frombuffer(base64.b64decode(behaviour_b64), dtype="<f2").astype(np.float32)
        return cls(
            account_id,
            org_id,
            ts,
            first_ts,
            risk,
            dict(zip(hashes, weights, strict=True)),
            behaviour,
            tuple((k, v) for k, v in zip(EVIDENCE_METRICS, features, strict=True) if v is not None),
        )


_CLUE_OF = {"created_day": "created"}
"""Families that are views of the same fact count as one clue for corroboration."""


def score_pair(
    new: Member,
    tokens: dict[int, str],
    other: Member,
    config: DetectorConfig,
    caps: dict[str, float],
) -> CandidatePair | None:
    """Similarity of two accounts, or None when they do not qualify as a coordinated pair.

    Evidence is the summed surprise (nats) of shared tokens, capped per family
    so that one repeated clue cannot dominate; it maps to a token similarity
    in [0, 1) and is blended with the behaviour cosine.  One clue is not
    enough unless it ties identities (a shared card): a sign-up hour, a home
    prefix that a residential proxy also uses, or an IDE's templates are
    shared by strangers, so another clue must corroborate it.
    """
    if new.org_id == other.org_id or new.account_id == other.account_id:
        return None
    new_weights, other_weights = new.weights, other.weights
    shared = new_weights.keys() & other_weights.keys()
    if not shared:
        return None
    by_family: dict[str, float] = {}
    for h in sorted(shared):  # a fixed summation order: float sums are order-sensitive
        family = tokens[h].partition(":")[0]
        a, b = new_weights[h], other_weights[h]
        by_family[family] = by_family.get(family, 0.0) + (a if a < b else b)
    capped: dict[str, float] = {}
    for family, value in by_family.items():
        clue = _CLUE_OF.get(family, family)
        capped[clue] = capped.get(clue, 0.0) + min(value, caps.get(family, value))
    evidence = sum(capped.values())
    if evidence < config.pair_min_evidence:
        return None
    strongest = max(capped, key=lambda f: (capped[f], f))
    if (
        strongest not in config.identity_families
        and evidence - capped[strongest] < config.pair_min_corroboration
    ):
        return None
    token_sim = 1.0 - math.exp(-evidence / config.evidence_scale)
    denom = new.norm * other.norm
    cosine = float(np.dot(new.behaviour, other.behaviour)) / denom if denom > 0 else 0.0
    behaviour_sim = min(max(cosine, 0.0), 1.0)
    bw = config.behaviour_weight
    similarity = (1.0 - bw) * token_sim + bw * behaviour_sim
    if similarity < config.pair_threshold:
        return None
    union = len(new.weights) + len(other.weights) - len(shared)
    first, second = (new, other) if new.account_id < other.account_id else (other, new)
    return CandidatePair(
        a=first.account_id,
        b=second.account_id,
        org_a=first.org_id,
        org_b=second.org_id,
        ts=max(new.ts, other.ts),
        similarity=round(similarity, 6),
        evidence=round(evidence, 4),
        jaccard=round(len(shared) / union, 6),
        behaviour_similarity=round(behaviour_sim, 6),
        shared=tuple(sorted(tokens[h] for h in shared)),
        risk_a=first.risk,
        risk_b=second.risk,
        first_a=first.first_ts,
        first_b=second.first_ts,
        features_a=first.features,
        features_b=second.features,
    )


class SimilarityStage:
    """Keyed stage (key = LSH band or token key): bounded buckets of recent members."""

    def __init__(self, config: DetectorConfig) -> None:
        self.config = config
        self.buckets: dict[str, list[Member]] = {}
        self.caps = {f.name: f.evidence_cap for f in config.token_families}

    def _admit(self, key: str, member: Member) -> list[Member]:
        """Insert ``member`` into the bucket of ``key``; returns the other live members."""
        config = self.config
        horizon = member.ts - config.bucket_ttl_s
        bucket = self.buckets.get(key)
        if bucket is None:
            self.buckets[key] = [member]
            return []
        others = [m for m in bucket if m.account_id != member.account_id and m.ts >= horizon]
        kept = others[-(config.bucket_cap - 1) :] if config.bucket_cap > 1 else []
        self.buckets[key] = [*kept, member]
        return others

    def process_key(self, key: str, ws: WeightedSnapshot) -> list[CandidatePair]:
        """The per-key step a partitioned topology runs: compare with this bucket only."""
        member = Member.of(ws)
        tokens = {token_hash(t): t for t in ws.weights}
        out = []
        for other in self._admit(key, member):
            pair = score_pair(member, tokens, other, self.config, self.caps)
            if pair is not None:
                out.append(pair)
        return out

    def process(self, ws: WeightedSnapshot) -> list[CandidatePair]:
        """All keys of a snapshot at once; an account met in several buckets is scored once."""
        member = Member.of(ws)
        tokens = {token_hash(t): t for t in ws.weights}
        seen: dict[str, Member] = {}
        for key in ws.keys:
            for other in self._admit(key, member):
                known = seen.get(other.account_id)
                if known is None or other.ts > known.ts:
                    seen[other.account_id] = other
        out = []
        for account_id in sorted(seen):
            pair = score_pair(member, tokens, seen[account_id], self.config, self.caps)
            if pair is not None:
                out.append(pair)
        return out

    def evict(self, watermark: float) -> int:
        horizon = watermark - self.config.bucket_ttl_s
        dropped = 0
        for key in list(self.buckets):
            bucket = [m for m in self.buckets[key] if m.ts >= horizon]
            dropped += len(self.buckets[key]) - len(bucket)
            if bucket:
                self.buckets[key] = bucket
            else:
                del self.buckets[key]
        return dropped

    def bucket_to_bytes(self, key: str) -> bytes:
        return orjson.dumps([m.to_list() for m in self.buckets.get(key, [])])

    def to_bytes(self) -> bytes:
        shared: dict[int, int] = {}
        members: list[list[Any]] = []
        index: dict[str, list[int]] = {}
        for key in sorted(self.buckets):
            refs = []
            for m in self.buckets[key]:
                ref = shared.get(id(m))
                if ref is None:
                    ref = shared[id(m)] = len(members)
                    members.append(m.to_list())
                refs.append(ref)
            index[key] = refs
        return orjson.dumps({"members": members, "buckets": index})

    @classmethod
    def from_bytes(cls, data: bytes, config: DetectorConfig) -> SimilarityStage:
        row = orjson.loads(data)
        members = [Member.from_list(m) for m in row["members"]]
        stage = cls(config)
        stage.buckets = {k: [members[i] for i in refs] for k, refs in row["buckets"].items()}
        return stage
