"""The traffic simulator: determinism, label consistency and the threat model it encodes."""

from __future__ import annotations

import argparse
import gzip
import itertools
import random
import statistics
from collections import defaultdict
from pathlib import Path

import orjson
import pytest

from agents.cli import simulate as simulate_cli
from streams.errors import GrammarError
from streams.records import RequestEvent
from streams.simulation import SCENARIOS, Simulation, campaigns, populations, simulate
from streams.simulation.grammar import render
from streams.simulation.prompts import Prompt
from streams.simulation.world import World
from streams.timeparse import parse_timestamp
from streams.wire.codecs import decode_request

DAY = 86400.0


@pytest.fixture(scope="module")
def small() -> Simulation:
    return simulate("small", seed=7)


def _by_account(sim: Simulation) -> dict[str, list[RequestEvent]]:
    out: dict[str, list[RequestEvent]] = defaultdict(list)
    for event in sim.events:
        out[event.account_id].append(event)
    return out


def _accounts_of(sim: Simulation, population: str) -> list[str]:
    return [a for a, e in sim.labels["accounts"].items() if e["population"] == population]


def _cli(out: Path, seed: int, *extra: str) -> None:
    parser = argparse.ArgumentParser()
    simulate_cli.add_arguments(parser)
    args = parser.parse_args(
        ["--out", str(out), "--seed", str(seed), "--scenario", "small", *extra]
    )
    assert simulate_cli.run(args) == 0


def _world(seed: int = 3, hours: float = 2.0) -> World:
    start = parse_timestamp("2025-03-04T12:00:00Z")
    return World(seed=seed, start=start, end=start + hours * 3600)


# --- determinism -----------------------------------------------------------------------


def test_same_seed_writes_identical_bytes(tmp_path: Path) -> None:
    _cli(tmp_path / "a", 11)
    _cli(tmp_path / "b", 11)
    for name in ("events.jsonl", "labels.json"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


def test_gzip_output_is_identical_and_holds_the_same_events(tmp_path: Path) -> None:
    _cli(tmp_path / "plain", 5)
    _cli(tmp_path / "gz1", 5, "--gzip")
    _cli(tmp_path / "gz2", 5, "--gzip")
    first = (tmp_path / "gz1" / "events.jsonl.gz").read_bytes()
    assert first == (tmp_path / "gz2" / "events.jsonl.gz").read_bytes()
    assert gzip.decompress(first) == (tmp_path / "plain" / "events.jsonl").read_bytes()


def test_different_seeds_give_different_traffic(small: Simulation) -> None:
    other = simulate("small", seed=8)
    assert {e.event_id for e in small.events}.isdisjoint({e.event_id for e in other.events})
    assert [e.prompt for e in small.events[:50]] != [e.prompt for e in other.events[:50]]


def test_written_events_decode_to_the_simulated_records(tmp_path: Path) -> None:
    _cli(tmp_path, 7)
    lines = (tmp_path / "events.jsonl").read_bytes().splitlines()
    sim = simulate("small", seed=7)
    assert len(lines) == len(sim.events)
    assert [decode_request(line) for line in lines] == sim.events
    assert orjson.loads((tmp_path / "labels.json").read_bytes()) == sim.labels


def test_unknown_scenario_and_bad_hours_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown scenario"):
        simulate("nope", 1)
    with pytest.raises(ValueError, match="hours"):
        simulate("small", 1, hours=0)


# --- labels and events agree -------------------------------------------------------------


def test_events_are_in_event_time_order_inside_the_window(small: Simulation) -> None:
    keys = [(e.ts, e.event_id) for e in small.events]
    assert keys == sorted(keys)
    start = parse_timestamp(small.labels["start"])
    assert start <= small.events[0].ts
    assert small.events[-1].ts < start + small.labels["hours"] * 3600


def test_every_account_is_labelled_and_every_label_has_traffic(small: Simulation) -> None:
    labels = small.labels["accounts"]
    assert set(_by_account(small)) == set(labels)
    assert {e["label"] for e in labels.values()} == {"benign", "hard_negative", "attack"}
    assert len({e.event_id for e in small.events}) == len(small.events)


def test_campaigns_list_their_accounts(small: Simulation) -> None:
    labels = small.labels["accounts"]
    members: dict[str, int] = defaultdict(int)
    for entry in labels.values():
        if entry["label"] == "attack":
            assert entry["campaign"] in small.labels["campaigns"]
            members[entry["campaign"]] += 1
        else:
            assert entry["campaign"] is None
    plans = {p.cid: p.accounts for p in SCENARIOS["small"].campaigns}
    assert {cid: c["accounts"] for cid, c in small.labels["campaigns"].items()} == members
    assert members == plans


def test_campaigns_start_late_and_ramp_up(small: Simulation) -> None:
    start = parse_timestamp(small.labels["start"])
    accounts = _by_account(small)
    for cid, campaign in small.labels["campaigns"].items():
        begin = parse_timestamp(campaign["start"])
        assert begin > start
        firsts = sorted(
            evs[0].ts
            for a, evs in accounts.items()
            if small.labels["accounts"][a]["campaign"] == cid
        )
        assert firsts[0] >= begin
        assert firsts[-1] - firsts[0] > 60  # accounts join over minutes, not at once


def test_hours_override_keeps_every_campaign() -> None:
    short = simulate("small", seed=2, hours=0.15)
    assert short.labels["hours"] == 0.15
    assert set(short.labels["campaigns"]) == {"A", "B", "C"}
    assert all(c["accounts"] > 0 for c in short.labels["campaigns"].values())


# --- populations follow the threat model ---------------------------------------------------


def test_attack_accounts_are_young_and_users_are_not(small: Simulation) -> None:
    start = parse_timestamp(small.labels["start"])
    age: dict[str, list[float]] = defaultdict(list)
    for account, evs in _by_account(small).items():
        age[small.labels["accounts"][account]["label"]].append(
            (start - evs[0].account_created_at) / DAY
        )
    assert max(age["attack"]) < 30
    assert statistics.median(age["benign"]) > 180


def test_campaign_accounts_share_payment_and_client_builds(small: Simulation) -> None:
    accounts = _by_account(small)
    for cid in small.labels["campaigns"]:
        members = [a for a, e in small.labels["accounts"].items() if e["campaign"] == cid]
        payments = {accounts[a][0].payment_fingerprint for a in members} - {None}
        agents = {accounts[a][0].user_agent for a in members}
        orgs = {accounts[a][0].org_id for a in members}
        assert len(payments) <= 8 < len(members)
        assert len(agents) <= 4
        assert len(orgs) == len(members)  # each fake account poses as its own developer


def test_campaign_rotates_residential_proxies_shared_across_accounts() -> None:
    world = _world()
    members = campaigns.campaign(world, "X", "wrappers", 30, 0.05, 600)
    ip_accounts: dict[str, set[str]] = defaultdict(set)
    asns = set()
    for member in members:
        for event in member.events:
            ip_accounts[event.ip].add(member.account_id)
            asns.add(event.asn)
    per_account_ips = [len({e.ip for e in m.events}) for m in members]
    assert statistics.mean(per_account_ips) >= 3
    assert max(len(accounts) for accounts in ip_accounts.values()) >= 2
    assert len(asns) >= 10
    assert {e.asn for m in members for e in m.events}.isdisjoint({16509, 15169, 8075, 14061})


def test_campaign_accounts_are_far_busier_than_users_and_stay_under_the_limit() -> None:
    world = _world()
    members = campaigns.campaign(world, "X", "harvested", 20, 0.0, 300)
    users = populations.ordinary_users(world, 60)
    attack_volume = statistics.median(len(m.events) for m in members)
    user_volume = statistics.median(len(u.events) for u in users)
    assert attack_volume > 10 * user_volume
    for member in members:
        ok = [e.ts for e in member.events if e.status != 429]
        assert all(b >= a for a, b in itertools.pairwise(ok))
        for i in range(3, len(ok)):
            assert ok[i] - ok[i - 3] >= 60  # at most 3 accepted calls in any minute
        rejected = sum(e.status == 429 for e in member.events)
        assert rejected < 0.3 * len(member.events)


def test_nat_company_shares_one_address_org_and_gateway(small: Simulation) -> None:
    members = set(_accounts_of(small, "nat_company"))
    events = [e for e in small.events if e.account_id in members]
    assert len(members) > 5
    assert len({e.ip for e in events}) == 1
    assert len({e.org_id for e in events}) == 1
    assert len({e.user_agent for e in events}) == 1
    assert len({e.system_prompt for e in events}) == 1


def test_eval_harnesses_send_the_same_prompt_set(small: Simulation) -> None:
    harnesses = _accounts_of(small, "eval_harness")
    prompt_sets = [{e.prompt for e in small.events if e.account_id == a} for a in harnesses]
    assert len(harnesses) >= 2
    assert len(prompt_sets[0] & prompt_sets[1]) > 100


def test_harvested_campaign_prompts_come_from_the_user_generator(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    produced: set[str] = set()
    real = campaigns.user_prompt

    def recording(rng: random.Random, style: object) -> Prompt:
        prompt = real(rng, style)
        produced.add(prompt.text)
        return prompt

    monkeypatch.setattr(campaigns, "user_prompt", recording)
    members = campaigns.campaign(_world(hours=1.0), "X", "harvested", 10, 0.0, 120)
    events = [e for m in members for e in m.events]
    assert events
    assert all(e.prompt in produced for e in events)
    assert sum(e.response_format == "text" for e in events) > 0.8 * len(events)


def test_benign_prompts_are_varied(small: Simulation) -> None:
    users = set(_accounts_of(small, "ordinary_user"))
    prompts = [e.prompt for e in small.events if e.account_id in users]
    assert len(set(prompts)) > 0.8 * len(prompts)
    lengths = sorted(len(p) for p in prompts)
    assert lengths[len(lengths) // 10] < 60 < 400 < lengths[-1]
    assert any("```" in p for p in prompts)
    assert any(not p.isascii() for p in prompts)


def test_wrapper_campaign_asks_for_structure_and_reasoning(small: Simulation) -> None:
    members = set(_accounts_of(small, "wrapper_farm"))
    events = [e for e in small.events if e.account_id in members and e.status == 200]
    structured = sum(e.response_format != "text" for e in events)
    assert structured > 0.8 * len(events)
    assert len({e.prompt for e in events}) == len(events)


def test_tokens_and_latency_are_consistent(small: Simulation) -> None:
    ok = [e for e in small.events if e.status == 200]
    limited = [e for e in small.events if e.status == 429]
    assert ok and limited
    assert all(e.prompt_tokens > 0 and e.completion_tokens > 0 for e in ok)
    assert all(e.completion_tokens == 0 for e in limited)
    long = statistics.median(e.latency_ms for e in ok if e.completion_tokens > 800)
    short = statistics.median(e.latency_ms for e in ok if e.completion_tokens < 100)
    assert long > 3 * short


# --- grammar -----------------------------------------------------------------------------


def test_grammar_expands_alternatives_slots_and_escapes() -> None:
    rng = random.Random(1)
    seen = {render("{a|b{c|d}} [[x]] \\{\\|\\}", rng, {"x": ("X", "Y")}) for _ in range(200)}
    assert seen == {f"{w} {s} {{|}}" for w in ("a", "bc", "bd") for s in ("X", "Y")}


@pytest.mark.parametrize("template", ["{a|b", "a}b", "[[slot"])
def test_grammar_refuses_malformed_templates(template: str) -> None:
    with pytest.raises(GrammarError):
        render(template, random.Random(0))


@pytest.mark.kafka
def test_kafka_mode_produces_every_event_keyed_by_account(
    tmp_path: Path, make_topic: object, kafka_bootstrap: str
) -> None:
    from agents.kafka.clients import make_consumer

    topic = make_topic(partitions=3)  # type: ignore[operator]
    _cli(tmp_path, 3, "--hours", "0.05", "--kafka", "--topic", topic, "--rate", "5000")
    expected = (tmp_path / "events.jsonl").read_bytes().splitlines()
    consumer = make_consumer(
        kafka_bootstrap,
        f"sim-test-{topic}",
        **{"auto.offset.reset": "earliest", "enable.auto.commit": False},
    )
    consumer.subscribe([topic])
    received = []
    try:
        while len(received) < len(expected):
            message = consumer.poll(10.0)
            assert message is not None, f"only {len(received)} of {len(expected)} events arrived"
            assert message.error() is None
            received.append(message)
    finally:
        consumer.close()
    assert sorted(m.value() for m in received) == sorted(expected)
    last_ts: dict[str, float] = {}
    for message in received:
        event = decode_request(message.value())
        assert message.key() == event.account_id.encode()
        assert event.ts >= last_ts.get(event.account_id, 0.0)  # per-account order survives
        last_ts[event.account_id] = event.ts
