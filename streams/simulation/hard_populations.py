"""Benign people and hard negatives of the ``hard`` scenario, made of real text.

Each hard negative shares a surface with one of the hard campaigns: habitual JSON and
step-by-step users (the wrappers' trigger words), research labs running the public FLAN
templates under Orca-style system messages (the low-and-slow campaign's text), eval
harnesses sending the same public items (shared prompts), a tool whose many users share
one system prompt and client build (shared tokens across orgs), and students provisioned
by campus SSO in one burst behind one NAT (a creation cohort on one address).
"""

from __future__ import annotations

import random
from collections.abc import Callable

from streams.records import ResponseFormat
from streams.simulation.corpus import Corpus
from streams.simulation.network import (
    UNIVERSITIES,
    Address,
    address_in,
    browser_user_agent,
    cloud_addresses,
    home_address,
    pick_country,
    sdk_user_agent,
)
from streams.simulation.prompts import _COT_ASKS, _JSON_ASKS, Prompt, Style, user_prompt
from streams.simulation.real_text import (
    ORCA_SYSTEM_MESSAGES,
    flan_task,
    question_text,
    real_prompt,
)
from streams.simulation.traffic import (
    CHAT_COMPLETIONS,
    HUMAN_DAY,
    MESSAGES,
    MODEL_MINI,
    MODEL_PRO,
    MODEL_STANDARD,
    OFFICE_DAY,
    RPM_HIGH_VOLUME,
    Client,
    poisson,
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


def mixed_writer(corpus: Corpus, share: float) -> Callable[[random.Random, Style], Prompt]:
    """An ordinary user's prompt: real text others wrote with probability ``share``."""

    def write(rng: random.Random, style: Style) -> Prompt:
        if rng.random() < share:
            prompt = real_prompt(rng, corpus)
            # Text pasted from documents carries no-break spaces now and then.
            if rng.random() < 0.05:
                return Prompt(prompt.text.replace(" ", "\u00a0", rng.randint(1, 4)), prompt.kind)
            return prompt
        return user_prompt(rng, style)

    return write


def _sessions(
    rng: random.Random,
    world: World,
    client: Client,
    count: int,
    per_session: tuple[int, int],
    curve: tuple[float, ...],
    tz: float,
    gap_s: float,
    send: Callable[[float], int],
) -> None:
    """``count`` sessions at times drawn from ``curve``, each a run of paced calls."""
    for t0 in sorted(sample_time(rng, world.start, world.end, curve, tz) for _ in range(count)):
        t = t0
        for _ in range(rng.randint(*per_session)):
            status = send(t)
            t += rng.uniform(20, 60) if status == 429 else lognormal_median(rng, gap_s, 0.8)
            if t >= world.end:
                break


def structured_habit_users(world: World, corpus: Corpus, count: int) -> list[Simulated]:
    """Developers who habitually ask for JSON and step-by-step answers on real prompts."""
    return [_habit_user(world, corpus, i) for i in range(count)]


def _habit_user(world: World, corpus: Corpus, i: int) -> Simulated:
    rng = world.rng("habit", i)
    country = pick_country(rng, {"US": 4, "GB": 1, "DE": 1, "IN": 2, "BR": 1})
    tz = utc_offset(rng, country)
    address = home_address(rng, country)
    agent = sdk_user_agent(rng, rng.choice(("openai-python", "anthropic", "openai-node")))
    endpoint = MESSAGES if agent.startswith("anthropic") else CHAT_COMPLETIONS
    account = new_account(world, rng, established(rng, world, 60), True)
    client = Client(account, rng)
    json_share, cot_share = rng.uniform(0.3, 0.9), rng.uniform(0.2, 0.7)
    system = rng.choice(ORCA_SYSTEM_MESSAGES) if rng.random() < 0.15 else None

    def send(t: float) -> int:
        prompt = real_prompt(rng, corpus)
        text, fmt = prompt.text, "text"
        if rng.random() < json_share:
            text, fmt = text + rng.choice(_JSON_ASKS), "json_object"
        cot = rng.random() < cot_share
        if cot:
            text += rng.choice(_COT_ASKS)
        return client.send(
            t,
            Prompt(text, "reasoning" if cot else prompt.kind),
            address=address,
            user_agent=agent,
            model=MODEL_PRO,
            endpoint=endpoint,
            system_prompt=system,
            response_format=fmt,
            temperature=rng.choice((0.0, 0.2, 0.7)),
            cot=cot,
        )

    _sessions(rng, world, client, rng.randint(2, 6), (3, 15), HUMAN_DAY, tz, 40, send)
    return Simulated(
        account.account_id,
        account_label("hard_negative", "structured_habit_user", "json_cot_habit_real"),
        client.events,
    )


def research_labs(world: World, corpus: Corpus, labs: int, members: int) -> list[Simulated]:
    """Lab members (personal accounts, one campus network) running the public FLAN templates
    under Orca-style system messages, in evaluation bursts."""
    out = []
    for lab in range(labs):
        lrng = world.rng("lab", lab)
        asn, country = UNIVERSITIES[lab % len(UNIVERSITIES)]
        exits = [address_in(lrng, asn, country) for _ in range(2)]
        system = lrng.choice(ORCA_SYSTEM_MESSAGES)
        agent = "lm-eval/0.4.3 python-requests/2.32.3" if lab % 2 else sdk_user_agent(lrng)
        for m in range(members):
            rng = world.rng("lab", lab, m)
            account = new_account(world, rng, established(rng, world, 30), True, rpm=600)
            client = Client(account, rng)
            for _ in range(rng.randint(1, 3)):
                t = world.start + rng.random() * 0.9 * world.duration
                rate = rng.uniform(0.3, 1.5)
                for _ in range(rng.randint(40, 200)):
                    client.send(
                        t,
                        flan_task(rng, corpus),
                        address=rng.choice(exits),
                        user_agent=agent,
                        model=rng.choice((MODEL_PRO, MODEL_STANDARD)),
                        system_prompt=system,
                        temperature=0.0,
                        cot=True,
                    )
                    t += rng.expovariate(rate)
                    if t >= world.end:
                        break
            out.append(
                Simulated(
                    account.account_id,
                    account_label("hard_negative", "research_lab", "public_templates_orca"),
                    client.events,
                )
            )
    return out


def real_eval_harnesses(world: World, corpus: Corpus, count: int) -> list[Simulated]:
    """Eval harnesses of different groups sending the very same public benchmark items."""
    suites: tuple[tuple[str, tuple[Prompt, ...]], ...] = (
        ("ifbench", tuple(Prompt(text, "writing") for text in corpus.chat)),
        (
            "mmlu",
            tuple(Prompt(f"{q.stem}\n{q.options}\nAnswer:", "classify") for q in corpus.questions),
        ),
        ("humaneval", tuple(Prompt(text, "code") for text in corpus.code)),
    )
    out = []
    for i in range(count):
        rng = world.rng("real-harness", i)
        address = (
            cloud_addresses(rng, 1)[0]
            if i % 3 == 2
            else address_in(rng, *UNIVERSITIES[i % len(UNIVERSITIES)])
        )
        agent = rng.choice(("lm-eval/0.4.3 python-requests/2.32.3", sdk_user_agent(rng)))
        fmt: ResponseFormat = rng.choice(("json_object", "text"))
        account = new_account(world, rng, established(rng, world, 90), True, rpm=RPM_HIGH_VOLUME)
        client = Client(account, rng)
        name, items = suites[i % len(suites)]
        for _ in range(rng.randint(1, 3)):
            rate = rng.uniform(1.0, 4.0)
            t = world.start + rng.random() * max(1.0, world.duration - len(items) / rate)
            samples = rng.choice((1, 1, 5))
            for item in items:
                client.send(
                    t,
                    item,
                    address=address,
                    user_agent=agent,
                    model=rng.choice((MODEL_PRO, MODEL_MINI)),
                    response_format=fmt,
                    temperature=0.0 if samples == 1 else 0.8,
                    n=samples,
                    cot=True,
                )
                t += rng.expovariate(rate)
                if t >= world.end:
                    break
        out.append(
            Simulated(
                account.account_id,
                account_label("hard_negative", "eval_harness_real", f"{name}_runs"),
                client.events,
            )
        )
    return out


TOOL_SYSTEM = (
    "You are Quillmate, a writing assistant inside the user's browser. Improve clarity and "
    "flow, keep the author's voice, and answer questions about the selected text concisely."
)
TOOL_USER_AGENT = "quillmate-extension/3.2.0 openai-node/4.52.0 (node v20.11.0)"


def shared_prompt_tool(world: World, corpus: Corpus, users: int) -> list[Simulated]:
    """A bring-your-own-key tool: many unrelated users, one system prompt, one client build
    and one set of request parameters, each user on their own account and network."""
    return [_tool_user(world, corpus, i) for i in range(users)]


def _tool_user(world: World, corpus: Corpus, i: int) -> Simulated:
    rng = world.rng("tool-user", i)
    country = pick_country(rng)
    tz = utc_offset(rng, country)
    address = home_address(rng, country)
    account = new_account(world, rng, user_created_at(rng, world), True)
    client = Client(account, rng)

    def send(t: float) -> int:
        return client.send(
            t,
            real_prompt(rng, corpus),
            address=address,
            user_agent=TOOL_USER_AGENT,
            model=MODEL_STANDARD,
            system_prompt=TOOL_SYSTEM,
            temperature=0.7,
            stream=True,
        )

    _sessions(rng, world, client, 1 + poisson(rng, 1.0), (1, 6), HUMAN_DAY, tz, 45, send)
    return Simulated(
        account.account_id,
        account_label("hard_negative", "shared_prompt_tool", "one_system_prompt_many_orgs"),
        client.events,
    )


def sso_campus(world: World, corpus: Corpus, students: int) -> list[Simulated]:
    """Students whose personal accounts campus SSO created in one burst, behind one NAT,
    working through the same course questions in office hours."""
    crng = world.rng("campus")
    nat: list[Address] = [address_in(crng, 786, "GB") for _ in range(2)]
    burst = world.start - crng.uniform(2, 6) * DAY
    assignment = [question_text(crng, corpus) for _ in range(25)]
    return [_student(world, corpus, i, nat, burst, assignment) for i in range(students)]


def _student(
    world: World, corpus: Corpus, i: int, nat: list[Address], burst: float, assignment: list[str]
) -> Simulated:
    rng = world.rng("student", i)
    account = new_account(world, rng, burst + rng.uniform(0, 5400), rng.random() < 0.3)
    client = Client(account, rng)
    agent = browser_user_agent(rng)

    def send(t: float) -> int:
        text = rng.choice(assignment) if rng.random() < 0.6 else real_prompt(rng, corpus).text
        return client.send(
            t,
            Prompt(text, "reasoning"),
            address=rng.choice(nat),
            user_agent=agent,
            model=MODEL_STANDARD,
            temperature=1.0,
            stream=True,
        )

    _sessions(rng, world, client, 1 + poisson(rng, 1.2), (2, 8), OFFICE_DAY, 0.0, 70, send)
    return Simulated(
        account.account_id,
        account_label("hard_negative", "sso_campus", "sso_burst_one_nat"),
        client.events,
    )
