"""Account profile math (native): bounded samples, distinct counts, metrics, risk, snapshots."""

from __future__ import annotations

import dataclasses
import random
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streams.config import DetectorConfig
from streams.errors import StateError
from streams.messages import AccountSnapshot, TemplateHit
from streams.records import RequestEvent, Signature
from streams.sketches.minhash import stable_hash64
from streams.stages.profile.profiler import AccountProfiler
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


def profiler_of(config: DetectorConfig = CONFIG) -> AccountProfiler:
    return AccountProfiler(config, SignatureBook(config))


def feed(profiler: AccountProfiler, events: list[RequestEvent]) -> list:
    out: list = []
    for e in events:
        out += profiler.process(e, EXTRACTOR.extract(e.prompt, e.system_prompt))
    return out


def judged(events: list[RequestEvent], account: str = "acc") -> tuple[dict, dict, float]:
    """Metrics, suspicion and risk of an account after ``events``."""
    profiler = profiler_of()
    feed(profiler, events)
    return profiler.native.judge(account)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(0, 255), min_size=1, max_size=60), st.randoms())
def test_bottom_k_is_the_k_smallest_hashes_whatever_the_order(octets, rnd):
    cap = CONFIG.token_families[3].cap  # ip24
    expected = sorted({f"10.0.{o}" for o in octets}, key=stable_hash64)[:cap]
    shuffled = list(octets)
    rnd.shuffle(shuffled)
    profiler = profiler_of()
    feed(profiler, [event(T0 + i, ip=f"10.0.{o}.1") for i, o in enumerate(shuffled)])
    assert sorted(profiler.states["acc"].tokens["ip24"], key=stable_hash64) == expected


@settings(max_examples=30, deadline=None)
@given(st.sets(st.integers(0, 10**9), min_size=1, max_size=11))
def test_kmv_is_exact_below_k(values):
    events = [event(T0 + i, asn=v) for i, v in enumerate(sorted(values) * 2)]
    metrics, _, _ = judged(events)
    assert metrics["asn_distinct"] == len(values)


@pytest.mark.parametrize("true_count", [100, 1000])
def test_kmv_estimates_large_sets_within_a_factor(true_count):
    metrics, _, _ = judged([event(T0 + i, asn=i) for i in range(true_count)])
    assert true_count / 2.0 < metrics["asn_distinct"] < true_count * 2.0


@given(st.floats(-10, 10), st.floats(-5, 5), st.floats(-5, 5))
def test_ramp_is_bounded_and_monotone(x, low, high):
    value = ramp(x, low, high)
    assert 0.0 <= value <= 1.0
    if low < high:
        assert ramp(x + 1.0, low, high) >= value


def test_ip_prefix_keeps_network_part():
    profiler = profiler_of()
    feed(profiler, [event(T0, ip="203.0.113.77"), event(T0 + 1, ip="2001:db8:abcd:12::1")])
    assert profiler.states["acc"].tokens["ip24"] == ["203.0.113", "2001:db8:abcd"]


def test_metrics_rate_regularity_and_diurnal_coverage():
    # one request a minute, perfectly regular, for 30 minutes
    m, _, _ = judged([event(T0 + 60.0 * i) for i in range(30)])
    assert m["rate_per_hour"] == pytest.approx(60.0, rel=0.01)
    assert m["gap_cv"] < 0.01
    assert m["active_hours"] == 1
    # one request every hour for a day covers all 24 hours
    m, _, _ = judged([event(T0 + 3600.0 * i) for i in range(25)])
    assert m["active_hours"] == 24


def test_metrics_structured_share_categories_and_rotation():
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
    m, _, _ = judged(events)
    assert m["structured_share"] == pytest.approx(0.5)
    assert m["distinct_categories"] >= 3
    assert m["asn_distinct"] == 8
    assert m["ip24_distinct"] == 8


def test_risk_separates_a_young_rotating_sweeper_from_an_old_steady_user():
    rng = random.Random(3)
    topics = [
        "Write a Python class for a bank account.",
        "Prove that the sum of two even integers is even.",
        "Explain how enzymes speed up a reaction.",
        "Translate into French: good morning.",
        "Write a haiku about snow.",
        "Which of the following is a logic puzzle?",
    ]
    sweeper = [
        event(
            T0 + 40.0 * i,
            account_id="sweeper",
            prompt=f"{topics[i % 6]} variant {rng.random()}",
            ip=f"45.{i}.{i}.1",
            asn=60000 + i,
            account_created_at=T0 - 3600.0,
            response_format="json_object",
        )
        for i in range(20)
    ]
    steady = [
        event(T0 + 300.0 * i, account_id="steady", prompt=f"{topics[0]} {i}") for i in range(20)
    ]
    _, suspicion, risk_sweeper = judged(sweeper, "sweeper")
    _, _, risk_steady = judged(steady, "steady")
    assert risk_sweeper > 0.7 and suspicion["young"] == 1.0
    assert risk_steady < 0.2


def test_state_round_trips_through_bytes():
    profiler = profiler_of()
    feed(
        profiler,
        [
            event(T0 + 17.0 * i, ip=f"192.0.{i % 5}.1", system_prompt="You are terse.")
            for i in range(12)
        ],
    )
    data = profiler.native.state("acc")
    again = profiler_of()
    again.load("acc", data)
    assert again.native.state("acc") == data
    assert again.native.judge("acc") == profiler.native.judge("acc")
    assert len(data) < 1024
    # both continue identically
    more = [event(T0 + 500.0 + i, ip="192.0.9.1", event_id=f"m{i}") for i in range(30)]
    assert exact(feed(again, more)) == exact(feed(profiler, more))


def test_a_corrupt_state_is_a_state_error():
    with pytest.raises(StateError, match="account 'acc'"):
        profiler_of().load("acc", b'["org", 1.0]')


def test_profiler_emits_hits_every_event_and_snapshots_on_a_doubling_schedule():
    profiler = profiler_of()
    snapshot_at = []
    hits = 0
    for msg in feed(profiler, [event(T0 + 20.0 * i) for i in range(60)]):
        if isinstance(msg, TemplateHit):
            hits += 1
        elif isinstance(msg, AccountSnapshot):
            snapshot_at.append(msg.n_events)
    assert hits == 60
    assert snapshot_at == [3, 6, 12, 24, 48]


def test_snapshot_lists_coordination_tokens_and_new_ones_once():
    events = [event(T0 + 20.0 * i, ip="203.0.113.5" if i < 3 else "198.51.100.5") for i in range(6)]
    snaps = [m for m in feed(profiler_of(), events) if isinstance(m, AccountSnapshot)]
    first, second = snaps
    assert first.recount and not second.recount
    assert "pay:pay-1" in first.tokens and "ip24:203.0.113" in first.tokens
    assert set(first.new_tokens) == set(first.tokens)
    assert second.new_tokens == ("ip24:198.51.100",)


def test_idle_account_is_forgotten_after_the_ttl():
    config = dataclasses.replace(CONFIG, account_ttl_s=600.0)
    profiler = profiler_of(config)
    feed(profiler, [event(T0), event(T0 + 601.0)])
    assert profiler.states["acc"].n == 1
    assert profiler.evict(T0 + 2000.0) == 1
    assert not profiler.states


@settings(max_examples=30, deadline=None)
@given(st.lists(st.floats(0, 600), min_size=3, max_size=40))
def test_metrics_are_finite_and_shares_bounded(gaps):
    ts = T0
    events = []
    for g in gaps:
        ts += g
        events.append(event(ts, status=429 if g < 1 else 200))
    m, _, risk = judged(events)
    for name in ("structured_share", "cot_share", "throttle_share", "template_diversity"):
        assert 0.0 <= m[name] <= 1.0
    assert all(v == v and abs(v) != float("inf") for v in m.values())
    assert 0.0 <= risk <= 1.0


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


def exact(messages: list) -> list[str]:
    """Messages compared in full (an array's repr rounds)."""
    return [
        repr(m) + (m.behaviour.tobytes().hex() if isinstance(m, AccountSnapshot) else "")
        for m in messages
    ]


def test_packed_accounts_give_the_same_outputs_and_bytes_as_decoded_ones():
    events = interleaved(accounts=7, rounds=12)
    roomy, tight = profiler_of(), profiler_of(dataclasses.replace(CONFIG, hot_accounts=2))
    out_roomy = feed(roomy, events)
    out_tight = []
    for start in range(0, len(events), 5):  # trims between chunks of the stream
        out_tight += feed(tight, events[start : start + 5])
        tight.native.trim()
    assert sum(isinstance(m, AccountSnapshot) for m in out_roomy) >= 7
    assert exact(out_tight) == exact(out_roomy)
    # Same accounts, same insertion order (snapshots list them in it), same bytes.
    assert list(tight.states) == list(roomy.states)
    assert all(tight.native.state(a) == roomy.native.state(a) for a in roomy.states)
    assert roomy.native.decoded() == 7
    assert tight.native.decoded() == 2
    tight.retract_signature("none")
    assert tight.native.decoded() == 2  # a packed account without the id stays packed


def test_caps_evict_the_fewest_events_then_the_longest_idle_and_the_ttl_the_idle():
    config = dataclasses.replace(CONFIG, max_accounts=8, cap_evict_share=0.5)
    profiler = profiler_of(config)
    feed(profiler, interleaved(accounts=12, rounds=14))
    assert profiler.enforce_cap() == [f"acc{i}" for i in range(11, 3, -1)]
    assert profiler.enforce_cap() == []  # under the cap: nothing more
    assert profiler.evict(T0 + 340.0 + CONFIG.account_ttl_s) == 2
    assert list(profiler.states) == ["acc0", "acc1"]


def test_accounts_keep_their_first_place_when_a_stale_one_restarts():
    config = dataclasses.replace(CONFIG, account_ttl_s=100.0)
    profiler = profiler_of(config)
    feed(profiler, [event(T0, account_id="a"), event(T0 + 1, account_id="b")])
    feed(profiler, [event(T0 + 500, account_id="a", org_id="new-org")])
    assert list(profiler.states) == ["a", "b"]
    assert profiler.states["a"].org_id == "new-org" and profiler.states["a"].n == 1


def test_a_retracted_signature_no_longer_counts_as_matched():
    det_book = SignatureBook(CONFIG)
    det_book.apply(Signature("sig-a", "lab", 0.7, infrastructure={"asn": ("64500",)}))
    det_book.apply(Signature("sig-b", "lab", 0.7, infrastructure={"country": ("US",)}))
    profiler = AccountProfiler(CONFIG, det_book)
    feed(profiler, interleaved(accounts=3, rounds=3))
    assert profiler.states["acc0"].signature_hits == ["sig-a", "sig-b"]
    assert profiler.retract_signature("sig-a") == ["acc0", "acc1", "acc2"]
    assert profiler.states["acc0"].signature_hits == ["sig-b"]
    assert profiler.retract_signature("sig-a") == []


def test_checkpoint_bytes_are_the_documented_array():
    profiler = profiler_of()
    feed(profiler, [event(T0 + 17.0 * i, event_id=f"x{i}") for i in range(4)])
    row: list[Any] = orjson.loads(profiler.native.state("acc"))
    assert len(row) == 16
    assert row[0] == "org" and row[1] == T0 and row[3] == 4
    assert orjson.dumps(row) == profiler.native.state("acc")  # orjson's own bytes
