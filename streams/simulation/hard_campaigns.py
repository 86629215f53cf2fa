"""The campaigns of the ``hard`` scenario: the tactics that beat the detector elsewhere.

- ``low_and_slow``: aged accounts, a handful of diurnal requests each, one static
  residential address per account, FLAN templates filled with real text under Orca-style
  system messages.
- ``perturbed``: chain-of-thought / JSON wrappers rewritten per request (synonyms, typos,
  homoglyphs, invisible characters in the trigger words, casing, chatter), some plain
  requests, organic sign-up dates, one residential address per account.
- ``mimic``: plain harvested prompts, ordinary SDK user agents, working-hours pacing, each
  prompt sent by about three accounts, ``n`` 2-4, accounts created in bursts.
- ``broad``: a broad harvest by a thousand young accounts through rotating proxies.
- ``orca_farm``: young accounts sharing one Orca-style system message over real tasks.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from streams.records import ResponseFormat
from streams.simulation.corpus import Corpus
from streams.simulation.network import (
    Address,
    home_address,
    pick_country,
    proxy_pool,
    sdk_user_agent,
)
from streams.simulation.prompts import Prompt
from streams.simulation.real_text import (
    ORCA_SYSTEM_MESSAGES,
    flan_task,
    harvested_prompt,
    wrapped_real_task,
)
from streams.simulation.traffic import (
    CHAT_COMPLETIONS,
    HUMAN_DAY,
    MESSAGES,
    MODEL_PRO,
    MODEL_STANDARD,
    OFFICE_DAY,
    Client,
    activity,
    sample_time,
)
from streams.simulation.world import (
    DAY,
    Simulated,
    World,
    account_label,
    established,
    lognormal_median,
    new_account,
    user_created_at,
    utc_offset,
)


@dataclass(frozen=True, slots=True)
class HardKind:
    population: str
    tactic: str
    tactics: tuple[str, ...]


HARD_KINDS = {
    "low_and_slow": HardKind(
        "low_slow_farm",
        "low_and_slow",
        (
            "aged_accounts",
            "few_requests",
            "diurnal",
            "static_residential_ip",
            "fresh_api_key",
            "flan_templates_real_text",
            "orca_system_messages",
        ),
    ),
    "perturbed": HardKind(
        "perturbed_wrapper_farm",
        "perturbed_wrappers",
        (
            "per_request_rewrites",
            "homoglyphs",
            "invisible_characters",
            "synonyms",
            "typos",
            "plain_requests",
            "organic_signups",
            "static_residential_ip",
        ),
    ),
    "mimic": HardKind(
        "mimic_developer_farm",
        "mimic_developers",
        (
            "harvested_real_prompts",
            "no_wrapper",
            "sdk_user_agents",
            "working_hours",
            "prompt_sent_by_three",
            "n_2_to_4",
            "creation_bursts",
        ),
    ),
    "broad": HardKind(
        "broad_harvest_farm",
        "broad_harvest",
        ("harvested_real_prompts", "rotating_proxies", "young_accounts", "many_accounts"),
    ),
    "orca_farm": HardKind(
        "orca_system_farm",
        "shared_orca_system_prompt",
        (
            "shared_system_prompt",
            "flan_templates_real_text",
            "young_accounts",
            "residential_proxy_rotation",
        ),
    ),
}


def _paced(
    rng: random.Random,
    world: World,
    begin: float,
    stop: float,
    rpm: float,
    curve: tuple[float, ...] | None,
    tz: float,
    send: Callable[[float], int],
) -> None:
    """Calls from ``begin`` to ``stop`` at about ``rpm`` in bursts, idle where ``curve`` is."""
    t = begin
    while t < min(stop, world.end):
        if curve is not None and rng.random() > activity(curve, t, tz):
            t += rng.uniform(600, 1800)
            continue
        burst_end = t + lognormal_median(rng, 1200, 0.6)
        while t < min(burst_end, stop, world.end):
            status = send(t)
            t += rng.uniform(20, 120) if status == 429 else 60.0 / rpm * rng.uniform(0.4, 1.6)
        t += lognormal_median(rng, 900, 0.8)


@dataclass(frozen=True, slots=True)
class _Fleet:
    """What one campaign's accounts share: its kind, timing, proxies, builds and queues."""

    cid: str
    kind: str
    begin: float
    ramp_s: float
    pool: list[Address]
    bursts: list[float]
    builds: list[str]
    system: str
    queues: list[list[Prompt]]


def campaign(
    world: World,
    corpus: Corpus,
    cid: str,
    kind: str,
    accounts: int,
    start_frac: float,
    ramp_s: float,
) -> list[Simulated]:
    """The accounts of one hard campaign of ``kind`` (see ``HARD_KINDS``)."""
    crng = world.rng("hard-campaign", cid)
    pool = proxy_pool(crng, max(16, accounts), 40)
    bursts = [world.start - crng.uniform(3, 20) * DAY for _ in range(3)]
    builds = [sdk_user_agent(crng, "openai-python") for _ in range(3)]
    system = crng.choice(ORCA_SYSTEM_MESSAGES)
    # mimic: every prompt of the operation's queue goes to about three accounts
    queues: list[list[Prompt]] = [[] for _ in range(accounts)]
    if kind == "mimic":
        for _ in range(accounts * 20):
            prompt = harvested_prompt(crng, corpus)
            for member in crng.sample(range(accounts), min(3, accounts)):
                queues[member].append(prompt)
    begin = world.start + start_frac * world.duration
    fleet = _Fleet(cid, kind, begin, ramp_s, pool, bursts, builds, system, queues)
    return [_member(world, corpus, fleet, i) for i in range(accounts)]


def _prompt(
    rng: random.Random, corpus: Corpus, fleet: _Fleet, queue: Iterator[Prompt]
) -> tuple[Prompt, ResponseFormat, int]:
    """One request's prompt, response format and ``n`` for a member of ``fleet``."""
    kind = fleet.kind
    if kind == "low_and_slow":
        return flan_task(rng, corpus), "text", 1
    if kind == "perturbed":
        if rng.random() < 0.15:
            return harvested_prompt(rng, corpus), "text", 1
        return wrapped_real_task(rng, corpus), rng.choice(("json_object", "text")), 1
    if kind == "mimic":
        return next(queue, None) or harvested_prompt(rng, corpus), "text", rng.choice((2, 3, 4))
    if kind == "orca_farm" and rng.random() < 0.5:
        return flan_task(rng, corpus), "text", 1
    return harvested_prompt(rng, corpus), "text", 1


def _member(world: World, corpus: Corpus, fleet: _Fleet, i: int) -> Simulated:
    kind = fleet.kind
    rng = world.rng("hard-campaign", fleet.cid, i)
    country = pick_country(rng)
    tz = utc_offset(rng, country)
    fresh_key = rng.random() < 0.5
    if kind == "low_and_slow":
        created = established(rng, world, 60, 900)
    elif kind == "perturbed":
        created = user_created_at(rng, world)
    elif kind == "mimic":
        created = rng.choice(fleet.bursts) + rng.uniform(0, 3600)
    else:
        created = world.start - rng.uniform(1, 10) * DAY
    account = new_account(world, rng, created, True, keys=2 if fresh_key else 1)
    client = Client(account, rng)
    static = home_address(rng, country)
    rotating = kind in ("broad", "orca_farm")
    agent = rng.choice(fleet.builds) if rotating else sdk_user_agent(rng)
    endpoint = MESSAGES if agent.startswith("anthropic") else CHAT_COMPLETIONS
    system = {"low_and_slow": rng.choice(ORCA_SYSTEM_MESSAGES), "orca_farm": fleet.system}.get(kind)
    temperature = rng.choice((0.0, 0.3, 0.7, 1.0))
    queue = iter(fleet.queues[i])

    def send(t: float) -> int:
        prompt, fmt, n = _prompt(rng, corpus, fleet, queue)
        return client.send(
            t,
            prompt,
            address=rng.choice(fleet.pool) if rotating else static,
            user_agent=agent,
            model=MODEL_PRO if rng.random() < 0.8 else MODEL_STANDARD,
            endpoint=endpoint,
            system_prompt=system,
            response_format=fmt,
            temperature=temperature,
            n=n,
            key=1 if fresh_key else 0,
            cot=prompt.kind == "reasoning",
        )

    start = fleet.begin + fleet.ramp_s * rng.random()
    if kind == "low_and_slow":
        for t in sorted(
            sample_time(rng, start, world.end, HUMAN_DAY, tz) for _ in range(rng.randint(5, 9))
        ):
            send(t)
    elif kind == "perturbed":
        _paced(rng, world, start, world.end, rng.uniform(0.3, 1.0), None, tz, send)
    elif kind == "mimic":
        _paced(rng, world, start, world.end, rng.uniform(0.3, 0.8), OFFICE_DAY, 1.0, send)
    elif kind == "broad":
        _paced(rng, world, start, start + rng.uniform(3600, 7200), 0.5, None, tz, send)
    else:
        _paced(rng, world, start, world.end, rng.uniform(0.5, 1.5), None, tz, send)
    spec = HARD_KINDS[kind]
    return Simulated(
        account.account_id,
        account_label("attack", spec.population, spec.tactic, fleet.cid),
        client.events,
    )
