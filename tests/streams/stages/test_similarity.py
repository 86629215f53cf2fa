"""Token surprise, LSH candidate recall and pair scoring."""

from __future__ import annotations

import dataclasses
import random

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from streams.config import DetectorConfig
from streams.messages import AccountSnapshot
from streams.sketches.minhash import MinHasher, band_keys, jaccard_estimate
from streams.stages.similarity import SimilarityStage
from streams.stages.token_frequency import TokenFrequencyStage

CONFIG = DetectorConfig()
T0 = 1_767_225_600.0


def snapshot(
    account: str, org: str, tokens: list[str], ts: float = T0, behaviour: float = 0.5
) -> AccountSnapshot:
    toks = tuple(sorted(set(tokens)))
    return AccountSnapshot(
        account_id=account,
        org_id=org,
        ts=ts,
        first_ts=ts - 60.0,
        n_events=10,
        tokens=toks,
        new_tokens=toks,
        recount=True,
        behaviour=np.full(10, behaviour, dtype=np.float32),
        risk=0.5,
        features=(("asn_distinct", 3.0),),
    )


def background(freq: TokenFrequencyStage, n: int) -> None:
    """A population where a popular user agent and a cloud ASN are everywhere."""
    for i in range(n):
        freq.process(
            snapshot(
                f"bg{i}",
                f"org-bg{i}",
                [
                    "ua:openai-python/1.52.0",
                    "asn:16509",
                    f"ip24:10.{i // 250}.{i % 250}",
                    f"pay:card-{i}",
                    "params:gpt-4o|0.75|1|text",
                ],
            )
        )


def test_common_tokens_weigh_little_and_rare_ones_a_lot():
    freq = TokenFrequencyStage(CONFIG)
    background(freq, 500)
    ws = freq.process(
        snapshot("x", "org-x", ["ua:openai-python/1.52.0", "asn:16509", "pay:card-new"])
    )
    assert ws.weights["ua:openai-python/1.52.0"] < 0.1
    assert ws.weights["asn:16509"] < 0.1
    assert ws.weights["pay:card-new"] > 5.0
    # common tokens are not candidate keys; the rare payment card is
    assert "t:pay:card-new" in ws.keys
    assert not any("openai-python" in k for k in ws.keys)


def test_weights_decay_with_the_frequency_windows():
    config = dataclasses.replace(CONFIG, df_window_s=3600.0)
    freq = TokenFrequencyStage(config)
    background(freq, 200)
    assert freq.frequency("asn:16509") >= 200
    freq.process(snapshot("late", "org-late", ["asn:1"], ts=T0 + 3 * 3600.0))
    assert freq.frequency("asn:16509") == 0


def test_stage_state_round_trips():
    freq = TokenFrequencyStage(CONFIG)
    background(freq, 50)
    again = TokenFrequencyStage.from_bytes(freq.to_bytes(), CONFIG)
    probe = snapshot("p", "org-p", ["asn:16509", "pay:card-3", "ua:zzz"])
    assert again.process(probe).weights == freq.process(probe).weights


@settings(max_examples=25, deadline=None)
@given(st.floats(0.0, 1.0))
def test_minhash_estimates_jaccard(target):
    rng = random.Random(int(target * 1000))
    shared = int(200 * target)
    common = [f"c{i}" for i in range(shared)]
    a = common + [f"a{i}" for i in range(200 - shared)]
    b = common + [f"b{i}" for i in range(200 - shared)]
    rng.shuffle(a)
    true = shared / (400 - shared)
    hasher = MinHasher(256, 3)
    est = jaccard_estimate(hasher.signature(a), hasher.signature(b))
    assert abs(est - true) < 0.12


def test_lsh_recall_and_selectivity_on_sets_with_known_overlap():
    """Band keys catch near-identical profiles and almost never unrelated ones (the S-curve)."""
    hasher = MinHasher(CONFIG.num_perm, CONFIG.minhash_seed)
    bands, rows = CONFIG.lsh_bands, CONFIG.lsh_rows
    high = low = 0
    trials = 300
    for t in range(trials):
        base = [f"t{t}-{i}" for i in range(12)]
        similar = [*base, f"s{t}"]  # J = 12/13
        unrelated = [f"u{t}-{i}" for i in range(11)] + base[:1]  # J = 1/23
        keys = set(band_keys(hasher.signature(base), bands, rows))
        high += bool(keys & set(band_keys(hasher.signature(similar), bands, rows)))
        low += bool(keys & set(band_keys(hasher.signature(unrelated), bands, rows)))
    expected_high = 1 - (1 - (12 / 13) ** rows) ** bands
    assert high / trials > expected_high - 0.1
    assert low / trials < 0.05


def _coordinated(freq: TokenFrequencyStage, stage: SimilarityStage, n: int) -> list:
    pairs = []
    for i in range(n):
        tokens = [
            "ua:openai-python/1.52.0",
            "pay:shared-card",
            "created:491000",
            f"ip24:45.{i % 3}.7",
            "params:gpt-4o|0.75|1|json_object",
        ]
        pairs += stage.process(freq.process(snapshot(f"atk{i}", f"org-atk{i}", tokens, ts=T0 + i)))
    return pairs


def test_accounts_sharing_rare_infrastructure_pair_up_across_orgs():
    freq = TokenFrequencyStage(CONFIG)
    background(freq, 400)
    stage = SimilarityStage(CONFIG)
    pairs = _coordinated(freq, stage, 6)
    linked = {p.a for p in pairs} | {p.b for p in pairs}
    assert linked == {f"atk{i}" for i in range(6)}
    pair = pairs[0]
    assert pair.a < pair.b
    assert "pay:shared-card" in pair.shared
    assert 0.0 <= pair.similarity <= 1.0 and pair.evidence >= CONFIG.pair_min_evidence


def test_same_org_and_common_only_overlaps_are_not_pairs():
    freq = TokenFrequencyStage(CONFIG)
    background(freq, 400)
    stage = SimilarityStage(CONFIG)
    tokens = ["pay:corp-card", "ip24:81.2.3", "ua:openai-python/1.52.0"]
    assert not stage.process(freq.process(snapshot("e1", "org-corp", tokens)))
    assert not stage.process(freq.process(snapshot("e2", "org-corp", tokens)))
    common = ["ua:openai-python/1.52.0", "asn:16509", "params:gpt-4o|0.75|1|text"]
    stage.process(freq.process(snapshot("d1", "org-d1", [*common, "pay:d1"])))
    assert not stage.process(freq.process(snapshot("d2", "org-d2", [*common, "pay:d2"])))


def test_buckets_are_capped():
    config = dataclasses.replace(CONFIG, bucket_cap=4)
    freq = TokenFrequencyStage(config)
    background(freq, 400)
    stage = SimilarityStage(config)
    _coordinated(freq, stage, 12)
    assert max(len(b) for b in stage.buckets.values()) <= 4


def test_similarity_state_round_trip_scores_identically():
    freq = TokenFrequencyStage(CONFIG)
    background(freq, 300)
    stage = SimilarityStage(CONFIG)
    _coordinated(freq, stage, 5)
    again = SimilarityStage.from_bytes(stage.to_bytes(), CONFIG)
    assert again.to_bytes() == stage.to_bytes()
    probe = freq.process(
        snapshot(
            "atk9", "org-atk9", ["pay:shared-card", "created:491000", "ip24:45.1.7"], ts=T0 + 9
        )
    )
    assert again.process(probe) == stage.process(probe)


def test_expired_members_are_not_compared():
    config = dataclasses.replace(CONFIG, bucket_ttl_s=100.0)
    freq = TokenFrequencyStage(config)
    background(freq, 300)
    stage = SimilarityStage(config)
    tokens = ["pay:shared-card", "created:491000", "ip24:45.1.7"]
    stage.process(freq.process(snapshot("old", "org-old", tokens, ts=T0)))
    assert not stage.process(freq.process(snapshot("new", "org-new", tokens, ts=T0 + 500)))
    assert stage.evict(T0 + 1000) >= 1


def test_per_key_processing_finds_the_same_pairs_as_the_in_process_shortcut():
    """A partitioned topology runs ``process_key`` per candidate key; duplicates aside, the
    pairs equal those of ``process``, which scores an account met in several buckets once."""
    freq = TokenFrequencyStage(CONFIG)
    background(freq, 300)
    whole, keyed = SimilarityStage(CONFIG), SimilarityStage(CONFIG)
    found_whole, found_keyed = set(), set()
    for i in range(6):
        tokens = ["pay:shared-card", "created:491000", f"ip24:45.{i % 2}.7", "ua:tool/1.0"]
        ws = freq.process(snapshot(f"atk{i}", f"org-atk{i}", tokens, ts=T0 + i))
        found_whole |= {(p.a, p.b, p.similarity) for p in whole.process(ws)}
        for key in ws.keys:
            found_keyed |= {(p.a, p.b, p.similarity) for p in keyed.process_key(key, ws)}
    assert found_whole and found_keyed == found_whole


def test_one_clue_needs_corroboration_unless_it_ties_identities():
    """Strangers share a sign-up hour or a residential prefix; they do not share a card."""
    freq = TokenFrequencyStage(CONFIG)
    background(freq, 2000)
    stage = SimilarityStage(CONFIG)
    signup = ["created:491000", "created_day:20400"]
    stage.process(freq.process(snapshot("s1", "org-s1", [*signup, "pay:own-1"])))
    assert not stage.process(freq.process(snapshot("s2", "org-s2", [*signup, "pay:own-2"])))
    stage.process(freq.process(snapshot("c1", "org-c1", ["pay:one-card"], ts=T0 + 1)))
    pairs = stage.process(freq.process(snapshot("c2", "org-c2", ["pay:one-card"], ts=T0 + 2)))
    assert [(p.a, p.b) for p in pairs] == [("c1", "c2")]
