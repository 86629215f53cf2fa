"""MinHash signatures and LSH band keys over hashed shingles.

Every hash here is an unkeyed BLAKE2b digest or fixed integer arithmetic, so a
signature computed by a gateway, a live worker and a forensic replay in
another process is bit-for-bit the same (Python's ``hash()`` is salted per
process and must never reach an id).

The arithmetic lives in the native crate (``streams/native/src/minhash.rs``), the
one implementation, which template extraction uses too.  Each input is first
scrambled by the splitmix64 finaliser (a bijection on 64 bits, so distinct inputs
stay distinct), then every permutation is a multiply-shift hash
``(a * x + b) mod 2**64 >> 32`` with odd 64-bit ``a``.  Multiply-shift alone is
only 2-universal: on structured inputs (consecutive integers, hashes differing in
a few bits) its minima are correlated across permutations and the Jaccard
estimate is biased.  The scramble makes any input look uniform, which is what the
min-wise argument needs; it costs one pass over the n inputs instead of one per
permutation.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from functools import lru_cache

import numpy as np

from streams import _native
from streams.errors import ConfigError

MAX_HASH = np.uint32(0xFFFFFFFF)
"""Sentinel value: a signature made only of it stands for the empty shingle set."""

stable_hash64 = lru_cache(maxsize=1 << 16)(_native.stable_hash64)
"""64-bit BLAKE2b of a token's UTF-8 (``surrogatepass``), read little-endian (native);
memoised because the stages hash the same vocabulary over and over (a hit costs a quarter of
than the call into the crate)."""


class MinHasher:
    """Fixed family of ``num_perm`` hash permutations, seeded deterministically.

    The coefficients are those of a seeded numpy ``Generator(PCG64(seed))`` (stable
    across platforms and numpy versions), drawn by the native crate
    (``streams/native/src/minhash.rs``), which also computes the signatures, so a
    prompt's template MinHash and this class agree bit for bit.
    """

    __slots__ = ("_core", "num_perm", "seed")

    def __init__(self, num_perm: int = 64, seed: int = 1) -> None:
        if num_perm < 1:
            raise ConfigError("num_perm must be >= 1")
        self.num_perm = num_perm
        self.seed = seed
        self._core = _native.MinHasher(num_perm, seed)

    def empty(self) -> np.ndarray:
        """The sentinel signature of an empty set."""
        return np.full(self.num_perm, MAX_HASH, dtype=np.uint32)

    def signature_from_hashes(self, hashes: np.ndarray) -> np.ndarray:
        """Signature of a set given as 64-bit hashes (duplicates are harmless)."""
        values = np.asarray(hashes, dtype=np.uint64).tolist()
        return np.asarray(self._core.signature_from_hashes(values), dtype=np.uint32)

    def signature(self, tokens: Iterable[str]) -> np.ndarray:
        """uint32 signature of a set of shingles; the empty set gives ``empty()``."""
        return self.signature_from_hashes(np.fromiter(map(stable_hash64, tokens), np.uint64))


def jaccard_estimate(a: np.ndarray, b: np.ndarray) -> float:
    """Fraction of agreeing slots, an unbiased estimate of the Jaccard index.

    Two empty-set signatures agree everywhere (1.0); an empty set against a
    non-empty one agrees nowhere in practice (0.0).
    """
    a = np.asarray(a)
    b = np.asarray(b)
    if a.shape != b.shape or a.ndim != 1 or a.size == 0:
        raise ValueError(f"signatures must be equal-length 1-d arrays, got {a.shape} and {b.shape}")
    return float(np.count_nonzero(a == b)) / a.size


def band_keys(sig: np.ndarray, bands: int, rows: int) -> list[str]:
    """LSH band keys: ``"<band:02x><16 hex digits>"``, one per band.

    Two sets share a band key with probability ``J**rows``; prefixing the band
    index keeps equal values in different bands from colliding.
    """
    sig = np.asarray(sig)
    if bands < 1 or rows < 1 or bands * rows > sig.size:
        raise ConfigError(f"{bands} bands x {rows} rows does not fit a signature of {sig.size}")
    raw = sig.astype("<u4", copy=False)
    keys = []
    for band in range(bands):
        chunk = raw[band * rows : (band + 1) * rows].tobytes()
        keys.append(f"{band:02x}{hashlib.blake2b(chunk, digest_size=8).hexdigest()}")
    return keys
