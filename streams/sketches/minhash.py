"""MinHash signatures and LSH band keys over hashed shingles.

Every hash here is an unkeyed BLAKE2b digest or fixed integer arithmetic, so a
signature computed by a gateway, a live worker and a forensic replay in
another process is bit-for-bit the same (Python's ``hash()`` is salted per
process and must never reach an id).

Each input is first scrambled by the splitmix64 finaliser (a bijection on 64
bits, so distinct inputs stay distinct), then every permutation is a
multiply-shift hash ``(a * x + b) mod 2**64 >> 32`` with odd 64-bit ``a``,
evaluated for all shingles at once with numpy (uint64 arrays wrap silently).
Multiply-shift alone is only 2-universal: on structured inputs (consecutive
integers, hashes differing in a few bits) its minima are correlated across
permutations and the Jaccard estimate is biased.  The scramble makes any
input look uniform, which is what the min-wise argument needs; it costs one
pass over the n inputs instead of one per permutation.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from functools import lru_cache

import numpy as np

from streams.errors import ConfigError

MAX_HASH = np.uint32(0xFFFFFFFF)
"""Sentinel value: a signature made only of it stands for the empty shingle set."""

_SHIFT32 = np.uint64(32)
_MAX64 = np.uint64(0xFFFFFFFF)  # the largest value a permutation (>> 32) can produce
_MIX_MULT = np.uint64(0x9E3779B97F4A7C15)
_SPLITMIX_1 = np.uint64(0xBF58476D1CE4E5B9)
_SPLITMIX_2 = np.uint64(0x94D049BB133111EB)


@lru_cache(maxsize=1 << 16)
def stable_hash64(token: str) -> int:
    """64-bit BLAKE2b of a token; cached because prompt vocabularies repeat heavily."""
    return int.from_bytes(
        hashlib.blake2b(token.encode("utf-8", "surrogatepass"), digest_size=8).digest(), "little"
    )


def hash_tokens(tokens: Iterable[str]) -> np.ndarray:
    """Stable 64-bit hashes of tokens as a uint64 array."""
    return np.fromiter((stable_hash64(t) for t in tokens), dtype=np.uint64)


def combine_ngrams(hashes: np.ndarray, n: int) -> np.ndarray:
    """Hashes of all contiguous n-grams, mixed from the token hashes without re-hashing text.

    Hashing each token once and combining with a multiply-xorshift mix keeps
    shingling vectorised; the mix is position-sensitive so ``a b`` != ``b a``.
    """
    if n < 1:
        raise ConfigError("n-gram size must be >= 1")
    count = hashes.shape[0] - n + 1
    if count <= 0:
        return np.empty(0, dtype=np.uint64)
    if n == 1:
        return hashes.copy()
    acc = hashes[:count] * _MIX_MULT  # a new array: the caller's hashes stay untouched
    acc += hashes[1 : 1 + count]
    acc ^= acc >> np.uint64(29)
    for offset in range(2, n):
        acc *= _MIX_MULT
        acc += hashes[offset : offset + count]
        acc ^= acc >> np.uint64(29)
    return acc


def scramble(hashes: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser of each value: a bijection whose outputs look uniform."""
    x = hashes.astype(np.uint64, copy=False)
    x = x ^ (x >> np.uint64(30))
    x *= _SPLITMIX_1
    x ^= x >> np.uint64(27)
    x *= _SPLITMIX_2
    x ^= x >> np.uint64(31)
    return x


class MinHasher:
    """Fixed family of ``num_perm`` hash permutations, seeded deterministically.

    The coefficients come from a seeded numpy ``Generator`` (PCG64 is stable
    across platforms and numpy versions), so the same ``(num_perm, seed)``
    always yields the same signatures.
    """

    __slots__ = ("_a", "_b", "num_perm", "seed")

    def __init__(self, num_perm: int = 64, seed: int = 1) -> None:
        if num_perm < 1:
            raise ConfigError("num_perm must be >= 1")
        self.num_perm = num_perm
        self.seed = seed
        rng = np.random.Generator(np.random.PCG64(seed))
        self._a = rng.integers(0, 1 << 64, size=(num_perm, 1), dtype=np.uint64) | np.uint64(1)
        self._b = rng.integers(0, 1 << 64, size=(num_perm, 1), dtype=np.uint64)

    def empty(self) -> np.ndarray:
        """The sentinel signature of an empty set."""
        return np.full(self.num_perm, MAX_HASH, dtype=np.uint32)

    def signature_from_hashes(self, hashes: np.ndarray) -> np.ndarray:
        """Signature of a set given as 64-bit hashes (duplicates are harmless)."""
        if hashes.size == 0:
            return self.empty()
        perm = self._a * scramble(hashes)[None, :]  # wraps mod 2**64 by design
        perm += self._b
        perm >>= _SHIFT32
        return perm.min(axis=1).astype(np.uint32)

    def signatures_of_token_hashes(
        self, token_hashes: list[np.ndarray], shingle_size: int, chunk_values: int = 8192
    ) -> np.ndarray:
        """Signatures of many token sequences' 1..``shingle_size``-gram sets, one row each.

        Row ``j`` equals ``signature_from_hashes`` of sequence ``j``'s tokens and n-grams
        (``combine_ngrams``), but the numpy work is shared by a chunk of sequences: they are
        concatenated, every n-gram of the concatenation is hashed once, windows that straddle
        two sequences are masked to the largest value (which can never lower a minimum), and
        ``minimum.reduceat`` takes each sequence's minima.  Per-call overhead, not arithmetic,
        is what dominates the per-prompt MinHash of short prompts.
        """
        out = np.empty((len(token_hashes), self.num_perm), dtype=np.uint32)
        chunk: list[int] = []
        values = 0
        for j, hashes in enumerate(token_hashes):
            if hashes.size == 0:
                out[j] = self.empty()
                continue
            chunk.append(j)
            values += hashes.size
            if values >= chunk_values:
                self._chunk_signatures(token_hashes, chunk, shingle_size, out)
                chunk, values = [], 0
        if chunk:
            self._chunk_signatures(token_hashes, chunk, shingle_size, out)
        return out

    def _chunk_signatures(
        self, token_hashes: list[np.ndarray], chunk: list[int], n_max: int, out: np.ndarray
    ) -> None:
        parts = [token_hashes[j].astype(np.uint64, copy=False) for j in chunk]
        lengths = np.fromiter((p.size for p in parts), dtype=np.int64, count=len(parts))
        starts = np.zeros(len(parts), dtype=np.int64)
        np.cumsum(lengths[:-1], out=starts[1:])
        tokens = np.concatenate(parts)
        total = tokens.size
        # room left in its own sequence after each position: an n-gram fits if room >= n - 1
        ends = np.repeat(starts + lengths, lengths)
        room = ends - np.arange(total) - 1
        sources = [tokens]
        invalid = []
        for n in range(2, n_max + 1):
            grams = np.zeros(total, dtype=np.uint64)
            grams[: total - n + 1] = combine_ngrams(tokens, n)
            sources.append(grams)
            invalid.append(room < n - 1)
        values = np.concatenate(sources) if len(sources) > 1 else tokens
        perm = self._a * scramble(values)[None, :]
        perm += self._b
        perm >>= _SHIFT32
        if invalid:
            perm = perm.reshape(self.num_perm, n_max, total)
            for k, mask in enumerate(invalid, start=1):
                perm[:, k, mask] = _MAX64
            perm = perm.min(axis=1)
        mins = np.minimum.reduceat(perm, starts, axis=1)
        out[chunk] = mins.T.astype(np.uint32)

    def signature(self, tokens: Iterable[str]) -> np.ndarray:
        """uint32 signature of a set of shingles; the empty set gives ``empty()``."""
        return self.signature_from_hashes(hash_tokens(tokens))


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
