"""Distillation campaigns of the simulator: their kinds and the accounts that run them."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

from streams.records import ResponseFormat
from streams.simulation import harvest
from streams.simulation.network import (
    pick_country,
    proxy_pool,
    sdk_user_agent,
)
from streams.simulation.prompts import (
    Prompt,
    sample_style,
    user_prompt,
)
from streams.simulation.traffic import (
    CHAT_COMPLETIONS,
    MESSAGES,
    MODEL_MINI,
    MODEL_PRO,
    MODEL_STANDARD,
    Client,
)
from streams.simulation.world import (
    DAY,
    HELPFUL,
    Simulated,
    World,
    account_label,
    lognormal_median,
    new_account,
)

# --- attack campaigns --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CampaignKind:
    """How one kind of distillation operation behaves (the threat model, parameterised)."""

    population: str
    tactic: str
    tactics: tuple[str, ...]
    user_agents: tuple[tuple[str, int], ...]  # (client family, weight): one build per family
    endpoint: str
    models: tuple[tuple[str, int], ...]
    proxies_per_account: float
    proxy_asns: int
    sticky_s: tuple[float, float]
    payment_instruments: int
    unpaid_share: float
    created_days_ago: tuple[float, float]
    creation_bursts: int
    rpm: tuple[float, float]
    hugger_share: float
    burst_median_s: float
    pause_median_s: float
    formats: tuple[tuple[ResponseFormat, int], ...]
    stream_share: float


CAMPAIGN_KINDS = {
    "wrappers": CampaignKind(
        population="wrapper_farm",
        tactic="paraphrased_wrappers",
        tactics=(
            "paraphrased_wrappers",
            "json_schema_output",
            "cot_elicitation",
            "capability_spread",
            "residential_proxy_rotation",
            "low_and_slow",
            "shared_payment",
            "shared_ua_build",
            "young_accounts",
        ),
        user_agents=(
            ("openai-python", 40),
            ("openai-python", 25),
            ("openai-python", 20),
            ("langchain", 15),
        ),
        endpoint=CHAT_COMPLETIONS,
        models=((MODEL_PRO, 85), (MODEL_STANDARD, 15)),
        proxies_per_account=1.4,
        proxy_asns=40,
        sticky_s=(300, 1800),
        payment_instruments=8,
        unpaid_share=0.1,
        created_days_ago=(2, 12),
        creation_bursts=4,
        rpm=(0.6, 2.0),
        hugger_share=0.15,
        burst_median_s=900,
        pause_median_s=720,
        formats=(("json_schema", 65), ("json_object", 25), ("text", 10)),
        stream_share=0.1,
    ),
    "system_prompt": CampaignKind(
        population="system_prompt_farm",
        tactic="shared_system_prompt",
        tactics=(
            "shared_system_prompt",
            "cot_elicitation",
            "json_object_output",
            "capability_spread",
            "residential_proxy_rotation",
            "limit_hugging",
            "shared_payment",
            "shared_ua_build",
            "young_accounts",
        ),
        user_agents=(("anthropic", 45), ("anthropic", 35), ("langchain", 20)),
        endpoint=MESSAGES,
        models=((MODEL_PRO, 100),),
        proxies_per_account=1.3,
        proxy_asns=32,
        sticky_s=(600, 2400),
        payment_instruments=5,
        unpaid_share=0.2,
        created_days_ago=(1, 7),
        creation_bursts=3,
        rpm=(0.6, 2.2),
        hugger_share=0.3,
        burst_median_s=1200,
        pause_median_s=600,
        formats=(("json_object", 55), ("text", 45)),
        stream_share=0.0,
    ),
    "harvested": CampaignKind(
        population="harvest_farm",
        tactic="harvested_prompts",
        tactics=(
            "harvested_user_prompts",
            "no_wrapper",
            "text_output",
            "residential_proxy_rotation",
            "always_on",
            "shared_payment",
            "shared_ua_build",
            "young_accounts",
        ),
        user_agents=(
            ("openai-python", 35),
            ("openai-python", 25),
            ("openai-node", 25),
            ("requests", 15),
        ),
        endpoint=CHAT_COMPLETIONS,
        models=((MODEL_PRO, 65), (MODEL_STANDARD, 30), (MODEL_MINI, 5)),
        proxies_per_account=1.6,
        proxy_asns=28,
        sticky_s=(180, 1200),
        payment_instruments=4,
        unpaid_share=0.15,
        created_days_ago=(5, 20),
        creation_bursts=2,
        rpm=(0.8, 2.2),
        hugger_share=0.1,
        burst_median_s=1500,
        pause_median_s=360,
        formats=(("text", 90), ("json_object", 10)),
        stream_share=0.25,
    ),
}

PromptMaker = Callable[[random.Random], tuple[Prompt, str | None, bool]]


def _campaign_prompts(kind: str, rng: random.Random, country: str) -> PromptMaker:
    """The per-account source of (prompt, system prompt, elicits reasoning)."""
    if kind == "wrappers":
        system = HELPFUL if rng.random() < 0.2 else None

        def wrapped(r: random.Random) -> tuple[Prompt, str | None, bool]:
            text, task_kind = harvest.wrapped_task(r)
            return Prompt(text, task_kind), system, True

        return wrapped
    if kind == "system_prompt":
        system = rng.choice(harvest.OPERATOR_SYSTEM_PROMPTS)

        def bare(r: random.Random) -> tuple[Prompt, str | None, bool]:
            text, task_kind = harvest.bare_task(r)
            return Prompt(text, task_kind), system, True

        return bare
    # Harvested prompts come from the very generator ordinary users are drawn from.
    style = sample_style(rng, country)
    system = HELPFUL if rng.random() < 0.3 else None

    def harvested(r: random.Random) -> tuple[Prompt, str | None, bool]:
        prompt = user_prompt(r, style)
        return prompt, system, prompt.kind == "reasoning"

    return harvested


def campaign(
    world: World, cid: str, kind_name: str, accounts: int, start_frac: float, ramp_s: float
) -> list[Simulated]:
    """A fleet of fake developer accounts harvesting outputs through residential proxies."""
    kind = CAMPAIGN_KINDS[kind_name]
    crng = world.rng("campaign", cid)
    begin = world.start + start_frac * world.duration
    pool = proxy_pool(crng, max(16, round(accounts * kind.proxies_per_account)), kind.proxy_asns)
    payments = [world.new_id("pm", 64) for _ in range(kind.payment_instruments)]
    payment_weights = [1.0 / (i + 1) for i in range(len(payments))]
    agents = [sdk_user_agent(crng, family) for family, _ in kind.user_agents]
    agent_weights = [w for _, w in kind.user_agents]
    bursts = [
        world.start - crng.uniform(*kind.created_days_ago) * DAY
        for _ in range(kind.creation_bursts)
    ]
    out = []
    for i in range(accounts):
        rng = world.rng("campaign", cid, i)
        created = min(rng.choice(bursts) + rng.expovariate(1 / 2400.0), world.start - 3600.0)
        payment = (
            None if rng.random() < kind.unpaid_share else rng.choices(payments, payment_weights)[0]
        )
        account = new_account(world, rng, created, payment is not None, payment=payment)
        client = Client(account, rng)
        agent = rng.choices(agents, agent_weights)[0]
        endpoint = MESSAGES if agent.startswith("anthropic") else kind.endpoint
        models, model_weights = zip(*kind.models, strict=True)
        formats, format_weights = zip(*kind.formats, strict=True)
        make = _campaign_prompts(kind_name, rng, pick_country(rng))
        hugger = rng.random() < kind.hugger_share
        rpm = account.rpm_limit * rng.uniform(0.95, 1.1) if hugger else rng.uniform(*kind.rpm)
        temperature = rng.choice((0.3, 0.5, 0.7, 1.0))
        t = begin + ramp_s * rng.random()
        address, rotate_at = rng.choice(pool), t + rng.uniform(*kind.sticky_s)
        while t < world.end:
            burst_end = min(world.end, t + lognormal_median(rng, kind.burst_median_s, 0.6))
            while t < burst_end:
                if t >= rotate_at:
                    address, rotate_at = rng.choice(pool), t + rng.uniform(*kind.sticky_s)
                prompt, system, cot = make(rng)
                fmt = rng.choices(formats, format_weights)[0]
                temp = (
                    rng.choice((0.0, 0.3, 0.5, 0.7, 0.8, 1.0))
                    if kind_name == "wrappers"
                    else temperature
                )
                n = rng.choice((2, 3, 4)) if kind_name == "wrappers" and rng.random() < 0.06 else 1
                status = client.send(
                    t,
                    prompt,
                    address=address,
                    user_agent=agent,
                    model=rng.choices(models, model_weights)[0],
                    endpoint=endpoint,
                    system_prompt=system,
                    response_format=fmt,
                    temperature=temp,
                    stream=rng.random() < kind.stream_share,
                    n=n,
                    cot=cot,
                )
                # Paced, not Poisson: operators space calls to stay under the limit.
                if status == 429:
                    t += rng.uniform(20, 120)
                else:
                    t += 60.0 / rpm * rng.uniform(*((0.85, 1.15) if hugger else (0.4, 1.6)))
            pause = lognormal_median(rng, kind.pause_median_s, 0.8)
            if rng.random() < 0.05:
                pause += rng.uniform(1800, 5400)
            t += pause
        out.append(
            Simulated(
                account.account_id,
                account_label("attack", kind.population, kind.tactic, cid),
                client.events,
            )
        )
    return out
