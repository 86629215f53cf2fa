"""Account profile math: bounded samples, distinct counts, metrics, risk and snapshots."""

from __future__ import annotations

import dataclasses
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streams.config import DetectorConfig
from streams.messages import AccountSnapshot, TemplateHit
from streams.records import RequestEvent
from streams.sketches.minhash import stable_hash64
from streams.stages.profile.account import AccountState, BottomK, Kmv, ip_prefix
from streams.stages.profile.profiler import AccountProfiler
from streams.stages.profile.store import PackedAccount
from streams.stages.scoring import ramp
from streams.stages.signatures import SignatureBook
from streams.templates.extractor import TemplateExtractor

CONFIG = DetectorConfig()
EXTRACTOR = TemplateExtractor(CONFIG.templates)
T0 = 1_767_225_600.0


def event(ts: float, **overrides: object) -> RequestEvent:
    fields: dict[str, object] = {
        "event_id": f"e{ts}",
        "ts": ts,
        "account_id": "acc",
        "org_id": "org",
        "api_key_id": "key",
        "ip": "10.1.2.3",
        "asn": 64500,
        "country": "US",
        "user_agent": "openai-python/1.52.0",
        "model": "gpt-4o",
        "endpoint": "/v1/chat/completions",
        "prompt": "What is the capital of France?",
        "system_prompt": None,
        "prompt_tokens": 10,
        "completion_tokens": 40,
        "response_format": "text",
        "temperature": 0.7,
        "n": 1,
        "stream": False,
        "status": 200,
        "latency_ms": 300.0,
        "account_created_at": T0 - 400 * 86400.0,
        "payment_fingerprint": "pay-1",
    }
    fields.update(overrides)
    return RequestEvent(**fields)  # type: ignore[arg-type]


def feed(state: AccountState, events: list[RequestEvent]) -> None:
    for e in events:
        state.update(e, EXTRACTOR.extract(e.prompt, e.system_prompt), CONFIG)


@given(st.lists(st.text(min_size=1, max_size=8), min_size=1, max_size=60), st.randoms())
def test_bottom_k_is_the_k_smallest_hashes_whatever_the_order(items, rnd):
    expected = sorted(set(items), key=stable_hash64)[:4]
    shuffled = list(items)
    rnd.shuffle(shuffled)
    sample = BottomK(4, shuffled)
    assert sorted(sample.items, key=stable_hash64) == expected


@given(st.sets(st.integers(0, 10**9), max_size=15))
def test_kmv_is_exact_below_k(values):
    kmv = Kmv(16, ())
    for v in values:
        kmv.add(str(v))
        kmv.add(str(v))
    assert kmv.estimate() == len(values)


@pytest.mark.parametrize("true_count", [100, 1000, 5000])
def test_kmv_estimates_large_sets_within_a_factor(true_count):
    kmv = Kmv(64, ())
    for i in range(true_count):
        kmv.add(f"item-{i}")
    assert true_count / 1.6 < kmv.estimate() < true_count * 1.6


@given(st.floats(-10, 10), st.floats(-5, 5), st.floats(-5, 5))
def test_ramp_is_bounded_and_monotone(x, low, high):
    value = ramp(x, low, high)
    assert 0.0 <= value <= 1.0
    if low < high:
        assert ramp(x + 1.0, low, high) >= value


def test_ip_prefix_keeps_network_part():
    assert ip_prefix("203.0.113.77") == "203.0.113"
    assert ip_prefix("2001:db8:abcd:12::1") == "2001:db8:abcd"


def test_metrics_rate_regularity_and_diurnal_coverage():
    state = AccountState("org", T0, CONFIG)
    # one request a minute, perfectly regular, for 30 minutes
    feed(state, [event(T0 + 60.0 * i) for i in range(30)])
    m = state.metrics()
    assert m["rate_per_hour"] == pytest.approx(60.0, rel=0.01)
    assert m["gap_cv"] < 0.01
    assert m["active_hours"] == 1
    # one request every hour for a day covers all 24 hours
    state = AccountState("org", T0, CONFIG)
    feed(state, [event(T0 + 3600.0 * i) for i in range(25)])
    assert state.metrics()["active_hours"] == 24


def test_metrics_structured_share_categories_and_rotation():
    state = AccountState("org", T0, CONFIG)
    prompts = [
        "Write a Python function that parses a CSV file.",
        "Solve the equation 3x + 4 = 19.",
        "Write a short poem about the sea.",
        "Why do cells need energy from photosynthesis?",
    ]
    events = [
        event(
            T0 + 30.0 * i,
            prompt=prompts[i % 4] + f" ({i})",
            response_format="json_object" if i % 2 else "text",
            ip=f"198.51.{i}.9",
            asn=64500 + i,
        )
        for i in range(8)
    ]
    feed(state, events)
    m = state.metrics()
    assert m["structured_share"] == pytest.approx(0.5)
    assert m["distinct_categories"] >= 3
    assert m["asn_distinct"] == 8
    assert m["ip24_distinct"] == 8


def test_risk_separates_a_young_rotating_sweeper_from_an_old_steady_user():
    rng = random.Random(3)
    sweeper = AccountState("org-a", T0, CONFIG)
    steady = AccountState("org-b", T0, CONFIG)
    topics = [
        "Write a Python class for a bank account.",
        "Prove that the sum of two even integers is even.",
        "Explain how enzymes speed up a reaction.",
        "Translate into French: good morning.",
        "Write a haiku about snow.",
        "Which of the following is a logic puzzle?",
    ]
    feed(
        sweeper,
        [
            event(
                T0 + 40.0 * i,
                prompt=f"{topics[i % 6]} variant {rng.random()}",
                ip=f"45.{i}.{i}.1",
                asn=60000 + i,
                account_created_at=T0 - 3600.0,
                response_format="json_object",
            )
            for i in range(20)
        ],
    )
    feed(steady, [event(T0 + 300.0 * i, prompt=f"{topics[0]} {i}") for i in range(20)])
    for state in (sweeper, steady):
        state.last_snap_n = state.n
    risk_sweeper = sweeper.risk(sweeper.suspicion(sweeper.metrics(), CONFIG), CONFIG)
    risk_steady = steady.risk(steady.suspicion(steady.metrics(), CONFIG), CONFIG)
    assert risk_sweeper > 0.7
    assert risk_steady < 0.2


def test_state_round_trips_through_bytes():
    state = AccountState("org", T0, CONFIG)
    feed(
        state,
        [
            event(T0 + 17.0 * i, ip=f"192.0.{i % 5}.1", system_prompt="You are terse.")
            for i in range(12)
        ],
    )
    data = state.to_bytes()
    again = AccountState.from_bytes(data, CONFIG)
    assert again.to_bytes() == data
    assert again.metrics() == state.metrics()
    assert again.token_list() == state.token_list()
    assert len(data) < 1024


def test_profiler_emits_hits_every_event_and_snapshots_on_a_doubling_schedule():
    profiler = AccountProfiler(CONFIG, SignatureBook(CONFIG))
    snapshot_at = []
    hits = 0
    for i in range(60):
        e = event(T0 + 20.0 * i)
        for msg in profiler.process(e, EXTRACTOR.extract(e.prompt)):
            if isinstance(msg, TemplateHit):
                hits += 1
            elif isinstance(msg, AccountSnapshot):
                snapshot_at.append(msg.n_events)
    assert hits == 60
    assert snapshot_at == [3, 6, 12, 24, 48]


def test_snapshot_lists_coordination_tokens_and_new_ones_once():
    profiler = AccountProfiler(CONFIG, SignatureBook(CONFIG))
    snaps = []
    for i in range(6):
        e = event(T0 + 20.0 * i, ip="203.0.113.5" if i < 3 else "198.51.100.5")
        snaps += [
            m
            for m in profiler.process(e, EXTRACTOR.extract(e.prompt))
            if isinstance(m, AccountSnapshot)
        ]
    first, second = snaps
    assert first.recount and not second.recount
    assert "pay:pay-1" in first.tokens and "ip24:203.0.113" in first.tokens
    assert set(first.new_tokens) == set(first.tokens)
    assert second.new_tokens == ("ip24:198.51.100",)


def test_idle_account_is_forgotten_after_the_ttl():
    config = dataclasses.replace(CONFIG, account_ttl_s=600.0)
    profiler = AccountProfiler(config, SignatureBook(config))
    e = event(T0)
    profiler.process(e, EXTRACTOR.extract(e.prompt))
    e = event(T0 + 601.0)
    profiler.process(e, EXTRACTOR.extract(e.prompt))
    assert profiler.states["acc"].n == 1
    assert profiler.evict(T0 + 2000.0) == 1
    assert not profiler.states


@settings(max_examples=30, deadline=None)
@given(st.lists(st.floats(0, 600), min_size=3, max_size=40))
def test_metrics_are_finite_and_shares_bounded(gaps):
    state = AccountState("org", T0, CONFIG)
    ts = T0
    events = []
    for g in gaps:
        ts += g
        events.append(event(ts, status=429 if g < 1 else 200))
    feed(state, events)
    m = state.metrics()
    for name in ("structured_share", "cot_share", "throttle_share", "template_diversity"):
        assert 0.0 <= m[name] <= 1.0
    assert all(v == v and abs(v) != float("inf") for v in m.values())
    assert 0.0 <= state.risk(state.suspicion(m, CONFIG), CONFIG) <= 1.0


def interleaved(accounts: int, rounds: int) -> list[RequestEvent]:
    """Round-robin traffic of ``accounts`` accounts, busier ones (lower index) staying longer."""
    return [
        event(
            T0 + 30.0 * r + i,
            account_id=f"acc{i}",
            org_id=f"org{i % 3}",
            ip=f"198.51.{i}.{r % 7}",
            asn=64500 + r % (i + 1),
            prompt=f"Return JSON listing {r} facts about topic {i}.",
            event_id=f"e{i}-{r}",
        )
        for r in range(rounds)
        for i in range(accounts)
        if r < rounds - i
    ]


def run(config: DetectorConfig, events: list[RequestEvent]) -> tuple[AccountProfiler, list]:
    profiler = AccountProfiler(config, SignatureBook(config))
    out = []
    for e in events:
        out += profiler.process(e, EXTRACTOR.extract(e.prompt, e.system_prompt))
    return profiler, out


def exact(messages: list) -> list[str]:
    """Messages compared in full (an array's repr rounds)."""
    return [
        repr(m) + (m.behaviour.tobytes().hex() if isinstance(m, AccountSnapshot) else "")
        for m in messages
    ]


def test_packed_accounts_give_the_same_outputs_and_bytes_as_decoded_ones():
    events = interleaved(accounts=7, rounds=12)
    roomy, out_roomy = run(CONFIG, events)
    tight, out_tight = run(dataclasses.replace(CONFIG, hot_accounts=2), events)
    assert sum(isinstance(m, AccountSnapshot) for m in out_roomy) >= 7
    assert exact(out_tight) == exact(out_roomy)
    # Same accounts, same insertion order (snapshots list them in it), same bytes.
    assert [(a, s.to_bytes()) for a, s in tight.states.items()] == [
        (a, s.to_bytes()) for a, s in roomy.states.items()
    ]
    assert roomy.states.decoded() == 7
    assert tight.states.decoded() == 2


def test_only_the_most_recently_used_accounts_stay_decoded():
    config = dataclasses.replace(CONFIG, hot_accounts=3)
    order = [f"acc{i}" for i in (0, 1, 2, 3, 4, 5, 0, 1, 2, 3)]
    events = [event(T0 + j, account_id=a, event_id=f"e{j}") for j, a in enumerate(order)]
    profiler, _ = run(config, events)
    states = profiler.states
    kinds = {a: type(states.peek(a)) for a in states}
    assert kinds == {
        "acc0": PackedAccount,
        "acc1": AccountState,
        "acc2": AccountState,
        "acc3": AccountState,
        "acc4": PackedAccount,
        "acc5": PackedAccount,
    }
    packed = states.peek("acc0")
    assert isinstance(packed, PackedAccount)
    assert (packed.n, packed.last_ts) == (2, T0 + 6)
    assert states["acc0"].to_bytes() == packed.to_bytes()  # decoding uses it ...
    assert isinstance(states.peek("acc0"), AccountState)
    assert isinstance(states.peek("acc1"), PackedAccount)  # ... and packs the least recent
    assert states.decoded() == 3


def test_caps_and_ttl_evict_packed_accounts_in_the_same_order_without_decoding_them():
    events = interleaved(accounts=12, rounds=14)
    for hot in (1, 4, 100):
        config = dataclasses.replace(CONFIG, hot_accounts=hot, max_accounts=8, cap_evict_share=0.5)
        profiler, _ = run(config, events)
        packed = [a for a in profiler.states if isinstance(profiler.states.peek(a), PackedAccount)]
        # Fewest events first (the accounts that left earliest), then the longest idle.
        assert profiler.enforce_cap() == [
            "acc11",
            "acc10",
            "acc9",
            "acc8",
            "acc7",
            "acc6",
            "acc5",
            "acc4",
        ]
        assert all(
            isinstance(profiler.states.peek(a), PackedAccount)
            for a in packed
            if a in profiler.states
        )
        assert profiler.states.decoded() == min(hot, 4)
        assert profiler.evict(T0 + 340.0 + CONFIG.account_ttl_s) == 2
        assert list(profiler.states) == ["acc0", "acc1"]


def test_a_retracted_signature_leaves_packed_accounts_packed():
    config = dataclasses.replace(CONFIG, hot_accounts=1)
    profiler, _ = run(config, interleaved(accounts=3, rounds=3))
    for account in ("acc0", "acc2"):
        profiler.states[account].signature_hits.extend(["sig-a", "sig-b"])
    assert isinstance(profiler.states.peek("acc0"), PackedAccount)
    assert profiler.retract_signature("sig-a") == ["acc0", "acc2"]
    assert isinstance(profiler.states.peek("acc0"), PackedAccount)
    assert profiler.states["acc0"].signature_hits == ["sig-b"]
    assert profiler.retract_signature("sig-a") == []


def test_hot_accounts_must_be_positive():
    with pytest.raises(ValueError, match="hot_accounts"):
        dataclasses.replace(CONFIG, hot_accounts=0)
