"""MinHash signatures: accuracy against the true Jaccard index, sentinels, band keys, stability."""

from __future__ import annotations

import hashlib
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streams.sketches.minhash import (
    MAX_HASH,
    MinHasher,
    band_keys,
    jaccard_estimate,
    stable_hash64,
)

NUM_PERM = 256


@settings(max_examples=60, deadline=None)
@given(
    shared=st.integers(min_value=0, max_value=300),
    only_a=st.integers(min_value=0, max_value=300),
    only_b=st.integers(min_value=0, max_value=300),
    seed=st.integers(min_value=0, max_value=2**32 - 1),
)
def test_jaccard_estimate_is_close_to_true_jaccard(shared, only_a, only_b, seed):
    if shared + only_a == 0 or shared + only_b == 0:
        return
    a = [f"s{i}" for i in range(shared)] + [f"a{i}" for i in range(only_a)]
    b = [f"s{i}" for i in range(shared)] + [f"b{i}" for i in range(only_b)]
    true = shared / (shared + only_a + only_b)
    hasher = MinHasher(NUM_PERM, seed)
    estimate = jaccard_estimate(hasher.signature(a), hasher.signature(b))
    # Binomial standard error is at most 0.5 / sqrt(256) = 0.031; 0.16 is five of them.
    assert abs(estimate - true) <= 0.16


def test_estimator_is_unbiased_over_many_seeds():
    a = [f"t{i}" for i in range(200)]
    b = [f"t{i}" for i in range(100, 300)]
    errors = [
        jaccard_estimate(MinHasher(128, s).signature(a), MinHasher(128, s).signature(b)) - 1 / 3
        for s in range(100)
    ]
    assert abs(float(np.mean(errors))) < 0.01


def _pairs_with_jaccard(rng: np.random.Generator, kind: str, size: int, shared: int, count: int):
    """``count`` pairs of ``size``-element hash sets sharing ``shared`` elements.

    ``random`` draws uniform 64-bit values (what BLAKE2b hashes look like);
    ``consecutive`` uses runs of consecutive integers, the structured input
    on which a bare multiply-shift family gives correlated minima.
    """
    union = 2 * size - shared
    for _ in range(count):
        if kind == "random":
            values = rng.integers(0, 2**64, size=union, dtype=np.uint64)
        else:
            start = int(rng.integers(0, 2**40))
            values = np.arange(start, start + union, dtype=np.uint64)
        yield values[:size], values[size - shared :]


@pytest.mark.parametrize("kind", ["random", "consecutive"])
@pytest.mark.parametrize(("shared", "num_perm"), [(50, 64), (24, 64), (50, 32)])
def test_estimate_error_matches_binomial_theory(kind, shared, num_perm):
    """Slots agree independently with probability J: error std is sqrt(J(1-J)/num_perm).

    Correlated permutations show up as a larger spread (and bias) than the
    binomial one, and as similar pairs that share no LSH band.
    """
    size = 60
    true = shared / (2 * size - shared)
    hasher = MinHasher(num_perm, 11)
    errors = np.array(
        [
            jaccard_estimate(hasher.signature_from_hashes(a), hasher.signature_from_hashes(b))
            - true
            for a, b in _pairs_with_jaccard(np.random.default_rng(5), kind, size, shared, 1500)
        ]
    )
    theory = np.sqrt(true * (1 - true) / num_perm)
    rms = float(np.sqrt(np.mean(errors**2)))  # includes any bias
    assert abs(float(errors.mean())) < 0.25 * theory
    assert theory / 1.5 < rms < 1.5 * theory


@pytest.mark.parametrize("kind", ["random", "consecutive"])
@pytest.mark.parametrize(
    ("shared", "bands", "rows"), [(50, 16, 4), (40, 8, 4), (24, 16, 4), (50, 4, 4)]
)
def test_band_collision_rate_follows_the_s_curve(kind, shared, bands, rows):
    """Two sets share at least one band key with probability 1 - (1 - J**rows)**bands."""
    size, trials = 60, 1500
    true = shared / (2 * size - shared)
    hasher = MinHasher(64, 13)
    hits = 0
    for a, b in _pairs_with_jaccard(np.random.default_rng(6), kind, size, shared, trials):
        keys_a = set(band_keys(hasher.signature_from_hashes(a), bands, rows))
        hits += not keys_a.isdisjoint(band_keys(hasher.signature_from_hashes(b), bands, rows))
    expected = 1 - (1 - true**rows) ** bands
    # Five binomial standard errors, with a floor for rates close to 0 or 1.
    tolerance = max(5 * np.sqrt(expected * (1 - expected) / trials), 0.01)
    assert abs(hits / trials - expected) < tolerance


def test_signature_from_hashes_does_not_modify_its_input():
    hashes = np.arange(10, dtype=np.uint64)
    MinHasher(8).signature_from_hashes(hashes)
    assert np.array_equal(hashes, np.arange(10, dtype=np.uint64))


def test_identical_sets_agree_everywhere_and_order_or_duplicates_do_not_matter():
    hasher = MinHasher(64, 7)
    one = hasher.signature(["x", "y", "z"])
    assert np.array_equal(one, hasher.signature(["z", "x", "y", "x"]))
    assert jaccard_estimate(one, one) == 1.0
    assert one.dtype == np.uint32 and one.shape == (64,)


def test_empty_input_gives_the_sentinel_signature():
    hasher = MinHasher(32)
    empty = hasher.signature([])
    assert np.all(empty == MAX_HASH)
    assert jaccard_estimate(empty, hasher.empty()) == 1.0
    assert jaccard_estimate(empty, hasher.signature(["a"])) == 0.0


def test_jaccard_estimate_rejects_mismatched_signatures():
    with pytest.raises(ValueError, match="equal-length"):
        jaccard_estimate(np.zeros(4, dtype=np.uint32), np.zeros(5, dtype=np.uint32))


def test_band_keys_are_prefixed_stable_hex_and_collide_only_for_equal_bands():
    sig = MinHasher(64).signature(["a", "b", "c"])
    keys = band_keys(sig, bands=16, rows=4)
    assert len(keys) == 16
    assert [k[:2] for k in keys] == [f"{i:02x}" for i in range(16)]
    assert all(len(k) == 18 and int(k, 16) >= 0 for k in keys)
    assert keys == band_keys(tuple(int(v) for v in sig), 16, 4)  # tuples from records work too
    other = sig.copy()
    other[5] ^= 1  # band 1 changes, the others do not
    changed = [
        i for i, (x, y) in enumerate(zip(keys, band_keys(other, 16, 4), strict=True)) if x != y
    ]
    assert changed == [1]


def test_band_keys_reject_bands_that_do_not_fit():
    with pytest.raises(ValueError, match="does not fit"):
        band_keys(np.zeros(8, dtype=np.uint32), bands=3, rows=3)


@pytest.mark.parametrize("token", ["template", "", "ünïcode 日本", "lone \udc80 surrogate"])
def test_stable_hash64_is_the_little_endian_blake2b_of_the_utf8(token):
    data = token.encode("utf-8", "surrogatepass")
    want = int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), "little")
    assert stable_hash64(token) == want


def test_hashes_and_signatures_are_identical_in_a_fresh_process():
    """Ids travel between gateway, workers and replays: no per-process salt may leak in."""
    code = (
        "from streams.sketches.minhash import MinHasher, stable_hash64;"
        "print(stable_hash64('template'), MinHasher(16, 3).signature(['a', 'b']).tolist())"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONHASHSEED": "12345"},
    ).stdout.split(" ", 1)
    assert int(out[0]) == stable_hash64("template")
    assert out[1].strip() == str(MinHasher(16, 3).signature(["a", "b"]).tolist())
