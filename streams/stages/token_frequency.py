"""Token frequency: how many accounts hold each coordination token (one key).

A windowed count-min sketch of how many accounts hold each coordination token.  It turns a
snapshot's tokens into *surprise* weights (``-ln`` of the share of accounts holding the
token) so a popular SDK user agent or a big cloud ASN weighs almost nothing while a payment
card shared by accounts of different orgs weighs a lot, and it picks the snapshot's
candidate keys: MinHash LSH bands over its informative tokens plus the uncommon tokens of
strongly identifying families (``TokenFamily.keyed``).
"""

from __future__ import annotations

import base64
import math

import datasketches
import orjson

from streams.config import DetectorConfig
from streams.messages import AccountSnapshot, WeightedSnapshot
from streams.sketches.minhash import MinHasher, band_keys

_CMS_SEED = 9001


class TokenFrequencyStage:
    """Global stage: document frequency of coordination tokens over two event-time windows."""

    def __init__(self, config: DetectorConfig) -> None:
        self.config = config
        self.hasher = MinHasher(config.num_perm, config.minhash_seed)
        self.family_weight = {f.name: f.weight for f in config.token_families}
        self.keyed = frozenset(f.name for f in config.token_families if f.keyed)
        self.window_start = 0.0
        self.current = self._sketch()
        self.previous = self._sketch()
        self.docs_current = 0
        self.docs_previous = 0

    def _sketch(self) -> datasketches.count_min_sketch:
        return datasketches.count_min_sketch(
            self.config.df_sketch_depth, self.config.df_sketch_width, _CMS_SEED
        )

    def _roll(self, ts: float) -> None:
        window = self.config.df_window_s
        start = math.floor(ts / window) * window
        if start <= self.window_start:
            return
        if start - self.window_start >= 2 * window:
            self.previous, self.docs_previous = self._sketch(), 0
        else:
            self.previous, self.docs_previous = self.current, self.docs_current
        self.current, self.docs_current = self._sketch(), 0
        self.window_start = start

    def population(self) -> float:
        """Accounts counted over the two windows (plus one, so a lone token is not certain)."""
        return float(self.docs_current + self.docs_previous + 1)

    def frequency(self, token: str) -> float:
        """Estimated number of accounts holding ``token`` over the last two windows."""
        return self.current.get_estimate(token) + self.previous.get_estimate(token)

    def process(self, snapshot: AccountSnapshot) -> WeightedSnapshot:
        config = self.config
        self._roll(snapshot.ts)
        if snapshot.recount:
            self.docs_current += 1
        for token in snapshot.new_tokens:
            self.current.update(token)
        population = self.population()
        common = config.df_common_fraction * population
        weights: dict[str, float] = {}
        informative: list[str] = []
        keys: list[str] = []
        keyed = self.keyed
        for token in snapshot.tokens:
            family = token.split(":", 1)[0]
            df = min(self.frequency(token) + 1.0, population)
            weights[token] = self.family_weight.get(family, 1.0) * math.log(population / df)
            if df <= common:
                informative.append(token)
                if family in keyed:
                    keys.append(f"t:{token}")
        signature = self.hasher.signature(informative)
        if informative:
            keys = [
                *(f"b:{k}" for k in band_keys(signature, config.lsh_bands, config.lsh_rows)),
                *keys,
            ]
        return WeightedSnapshot(snapshot, weights, signature, tuple(keys))

    def to_bytes(self) -> bytes:
        return orjson.dumps(
            [
                self.window_start,
                self.docs_current,
                self.docs_previous,
                base64.b64encode(self.current.serialize()).decode(),
                base64.b64encode(self.previous.serialize()).decode(),
            ]
        )

    @classmethod
    def from_bytes(cls, data: bytes, config: DetectorConfig) -> TokenFrequencyStage:
        row = orjson.loads(data)
        stage = cls(config)
        stage.window_start, stage.docs_current, stage.docs_previous, current, previous = row
        stage.current = datasketches.count_min_sketch.deserialize(base64.b64decode(current))
        stage.previous = datasketches.count_min_sketch.deserialize(base64.b64decode(previous))
        return stage
