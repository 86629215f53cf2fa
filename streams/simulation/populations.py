"""Who calls the API and how: one generator per population, labelled with the truth.

Every account gets its own ``random.Random`` derived from the scenario seed
and the account's place in its population, so a population's traffic does not
shift when another population changes size.
"""

from __future__ import annotations

import random
from dataclasses import replace

from streams.errors import SimulationError
from streams.records import ResponseFormat
from streams.simulation import products
from streams.simulation.network import (
    COUNTRIES,
    IDE_PLUGINS,
    UNIVERSITIES,
    Address,
    address_in,
    browser_user_agent,
    carrier_address,
    cloud_addresses,
    home_address,
    ide_user_agent,
    pick_country,
    sdk_user_agent,
)
from streams.simulation.prompts import (
    Prompt,
    PromptWriter,
    Style,
    follow_up,
    ide_prompt,
    paragraph,
    sample_style,
    user_prompt,
)
from streams.simulation.traffic import (
    CHAT_COMPLETIONS,
    HUMAN_DAY,
    MESSAGES,
    MODEL_MINI,
    MODEL_PRO,
    MODEL_STANDARD,
    OFFICE_DAY,
    RPM_ESTABLISHED,
    RPM_HIGH_VOLUME,
    Client,
    mean_activity,
    poisson,
    poisson_times,
    sample_time,
)
from streams.simulation.world import (
    DAY,
    HELPFUL,
    Simulated,
    World,
    account_label,
    established,
    lognormal_median,
    new_account,
    user_created_at,
    utc_offset,
)

# --- benign ------------------------------------------------------------------------------


def ordinary_users(world: World, count: int, write: PromptWriter = user_prompt) -> list[Simulated]:
    """People using the web app or an SDK now and then: sparse, diurnal, varied (``write``
    makes each new prompt; the ``hard`` scenario mixes real text in)."""
    teams = [(world.new_id("org"), world.new_id("pm", 64)) for _ in range(max(1, count // 40))]
    weights = {
        c: share * mean_activity(HUMAN_DAY, world.start, world.end, tz)
        for c, (tz, share, _) in COUNTRIES.items()
    }
    out = []
    for i in range(count):
        rng = world.rng("user", i)
        country = pick_country(rng, weights)
        tz = utc_offset(rng, country)
        style = sample_style(rng, country)
        web = rng.random() < 0.55
        addresses = [home_address(rng, country)]
        if rng.random() < 0.15:
            addresses.append(home_address(rng, country))  # office or a second home
        if rng.random() < 0.12:
            addresses.append(carrier_address(rng, country))  # on the phone, behind CGNAT
        if web:
            agents = [browser_user_agent(rng)]
            if rng.random() < 0.25:
                agents.append(browser_user_agent(rng))
        else:
            agents = [sdk_user_agent(rng)]
            if rng.random() < 0.2:
                agents.append(sdk_user_agent(rng, rng.choice(("curl", "requests"))))
        created = user_created_at(rng, world)
        if rng.random() < 0.1:
            org, payment = rng.choice(teams)
            account = new_account(world, rng, created, True, org_id=org, payment=payment)
        else:
            account = new_account(
                world,
                rng,
                created,
                rng.random() < (0.55 if web else 0.85),
                keys=1 if web else rng.choice((1, 1, 2)),
            )
        client = Client(account, rng)
        model = rng.choices(
            (MODEL_PRO, MODEL_STANDARD, MODEL_MINI), (3, 6, 1) if web else (4, 4, 2)
        )[0]
        temperature = 1.0 if web else rng.choice((0.0, 0.2, 0.3, 0.5, 0.7, 0.7, 1.0, 1.0))
        stream = web or rng.random() < 0.3
        sessions = 1 + poisson(rng, rng.lognormvariate(-0.6, 0.9))
        engagement = rng.choice((1.5, 2.5, 4.0))
        for t0 in sorted(
            sample_time(rng, world.start, world.end, HUMAN_DAY, tz) for _ in range(sessions)
        ):
            address = rng.choice(addresses)
            agent = rng.choice(agents)
            endpoint = MESSAGES if agent.startswith("anthropic") else CHAT_COMPLETIONS
            if not web and rng.random() < 0.1:
                _script_run(
                    world, rng, client, t0, style, address, agent, endpoint, model, temperature
                )
                continue
            t, context, previous = t0, 0, None
            for _ in range(1 + int(rng.expovariate(1 / engagement))):
                if previous is not None and web and rng.random() < 0.55:
                    prompt = follow_up(rng, style, previous)
                else:
                    prompt, context = write(rng, style), 0
                fmt: ResponseFormat = "text"
                if not web and prompt.kind == "json" and rng.random() < 0.6:
                    fmt = "json_object"
                temp = temperature if rng.random() < 0.8 else rng.choice((0.0, 0.5, 1.0))
                status = client.send(
                    t,
                    prompt,
                    address=address,
                    user_agent=agent,
                    model=model,
                    endpoint=endpoint,
                    response_format=fmt,
                    temperature=temp,
                    stream=stream,
                    context_tokens=context,
                    key=rng.randrange(len(account.api_key_ids)),
                    system_prompt=None if web or rng.random() < 0.5 else HELPFUL,
                )
                last = client.events[-1]
                context += last.prompt_tokens + last.completion_tokens
                previous = prompt
                t += (
                    rng.uniform(20, 90)
                    if status == 429
                    else last.latency_ms / 1000 + lognormal_median(rng, 35 if web else 25, 0.9)
                )
                if t >= world.end:
                    break
        out.append(
            Simulated(
                account.account_id,
                account_label("benign", "ordinary_user", "web_app" if web else "sdk"),
                client.events,
            )
        )
    return out


_SCRIPT_TEMPLATES = (
    "Summarize this {0} in one sentence:\n\n{1}",
    "Translate the following {0} into {2}:\n\n{1}",
    "Give this {0} a short title.\n\n{1}",
    "List the main points of this {0}:\n{1}",
)


def _script_run(
    world: World,
    rng: random.Random,
    client: Client,
    t0: float,
    style: Style,
    address: Address,
    agent: str,
    endpoint: str,
    model: str,
    temperature: float,
) -> None:
    """A developer looping their own small template over a handful of items."""
    template = rng.choice(_SCRIPT_TEMPLATES)
    noun, genre = rng.choice(
        (
            ("customer review", "review"),
            ("article excerpt", "business"),
            ("meeting note", "notes"),
            ("abstract", "abstract"),
        )
    )
    language = rng.choice(("French", "German", "Spanish", "Japanese"))
    t = t0
    for _ in range(rng.randint(5, 40)):
        text = template.format(noun, paragraph(rng, genre), language)
        while True:
            status = client.send(
                t,
                Prompt(text, "short"),
                address=address,
                user_agent=agent,
                model=model,
                endpoint=endpoint,
                temperature=temperature,
            )
            t += rng.uniform(20, 60) if status == 429 else rng.uniform(0.5, 3.0)
            if status != 429 or t >= world.end:
                break
        if t >= world.end:
            return


def ide_developers(world: World, count: int) -> list[Simulated]:
    """Programmers whose editor plugin calls the API in bursts while they code."""
    out = []
    for i in range(count):
        rng = world.rng("ide", i)
        country = pick_country(rng)
        tz = utc_offset(rng, country)
        plugin = rng.choices(range(len(IDE_PLUGINS)), (6, 3, 1))[0]
        agent = ide_user_agent(rng, plugin)
        _, system, temperature = IDE_PLUGINS[plugin]
        style = sample_style(rng, country, "coder")
        account = new_account(world, rng, established(rng, world, 30), True)
        client = Client(account, rng)
        addresses = [home_address(rng, country)]
        model = rng.choice((MODEL_PRO, MODEL_PRO, MODEL_STANDARD))
        curve = OFFICE_DAY if rng.random() < 0.7 else HUMAN_DAY
        for t0 in sorted(
            sample_time(rng, world.start, world.end, curve, tz)
            for _ in range(1 + poisson(rng, 0.8))
        ):
            t = t0
            for _ in range(rng.randint(3, 30)):
                status = client.send(
                    t,
                    ide_prompt(rng, style),
                    address=addresses[0],
                    user_agent=agent,
                    model=model,
                    system_prompt=system,
                    temperature=temperature,
                    stream=True,
                    context_tokens=rng.randint(200, 3000),
                )
                t += rng.uniform(20, 60) if status == 429 else lognormal_median(rng, 45, 0.9)
                if t >= world.end:
                    break
        out.append(
            Simulated(
                account.account_id,
                account_label("benign", "ide_developer", "ide_plugin"),
                client.events,
            )
        )
    return out


def _end_user_prompt(rng: random.Random) -> Prompt:
    """A message from one of an app's many users, each with their own style."""
    return user_prompt(rng, sample_style(rng, rng.choice(_COUNTRY_CODES)))


_COUNTRY_CODES = tuple(COUNTRIES)
# (requests/s at peak, UTC offset of its users, model, client family, addresses)
_APP_TRAFFIC = {
    "general": (0.55, -5.0, MODEL_STANDARD, "openai-node", 6),
    "tutor": (0.18, 1.0, MODEL_STANDARD, "openai-python", 2),
    "support": (0.25, -6.0, MODEL_MINI, "openai-python", 3),
    "writer": (0.2, 0.0, MODEL_PRO, "openai-node", 4),
}


def chat_backends(world: World, apps: tuple[str, ...]) -> list[Simulated]:
    """Consumer apps relaying their end users' messages behind one fixed system prompt."""
    out = []
    for app in apps:
        rng = world.rng("app", app)
        system, temperature = products.CHAT_APPS[app]
        rate, tz, model, family, hosts = _APP_TRAFFIC[app]
        addresses = cloud_addresses(rng, hosts)
        agent = sdk_user_agent(rng, family)
        account = new_account(
            world, rng, established(rng, world, 200), True, rpm=RPM_HIGH_VOLUME, keys=3
        )
        client = Client(account, rng)
        for t in poisson_times(rng, world.start, world.end, rate, HUMAN_DAY, tz, floor=0.2):
            prompt = products.chat_app_prompt(rng, app, _end_user_prompt)
            context = 0 if rng.random() < 0.5 else int(lognormal_median(rng, 400, 0.8))
            client.send(
                t,
                prompt,
                address=rng.choice(addresses),
                user_agent=agent,
                model=model,
                system_prompt=system,
                temperature=temperature,
                stream=True,
                context_tokens=context,
                key=rng.randrange(3),
            )
        out.append(
            Simulated(
                account.account_id,
                account_label("benign", "chat_backend", f"chat_app_{app}"),
                client.events,
            )
        )
    return out


# --- hard negatives ------------------------------------------------------------------------


def template_products(world: World, kinds: tuple[str, ...]) -> list[Simulated]:
    """Products that fill one fixed template with user data, 24/7, from a cloud."""
    out = []
    for kind in kinds:
        rng = world.rng("product", kind)
        account = new_account(
            world, rng, established(rng, world, 120), True, rpm=RPM_HIGH_VOLUME, keys=2
        )
        client = Client(account, rng)
        if kind == "invoice":
            addresses = cloud_addresses(rng, 3)
            agent = sdk_user_agent(rng, "openai-python")
            switch = world.start + 0.55 * world.duration
            for t in poisson_times(rng, world.start, world.end, 0.35, OFFICE_DAY, -5.0, floor=0.5):
                client.send(
                    t,
                    products.invoice_prompt(rng, 1 if t >= switch else 0),
                    address=rng.choice(addresses),
                    user_agent=agent,
                    model=MODEL_MINI,
                    system_prompt=products.INVOICE_SYSTEM,
                    response_format="json_object",
                    temperature=0.0,
                    key=rng.randrange(2),
                )
        elif kind == "triage":
            addresses = cloud_addresses(rng, 2)
            agent = sdk_user_agent(rng, "openai-node")
            for t in poisson_times(rng, world.start, world.end, 0.2, HUMAN_DAY, 0.0, floor=0.3):
                client.send(
                    t,
                    products.triage_prompt(rng),
                    address=rng.choice(addresses),
                    user_agent=agent,
                    model=MODEL_STANDARD,
                    response_format="json_schema",
                    temperature=0.0,
                )
        elif kind == "copy":
            address = cloud_addresses(rng, 1)[0]
            agent = sdk_user_agent(rng, "requests")
            for b in range(rng.randint(2, 3)):
                t = world.start + world.duration * (b + rng.random() * 0.6) / 3
                for _ in range(rng.randint(150, 500)):
                    client.send(
                        t,
                        products.copy_prompt(rng),
                        address=address,
                        user_agent=agent,
                        model=MODEL_STANDARD,
                        temperature=0.8,
                        n=rng.choice((1, 2, 3)),
                    )
                    t += rng.uniform(0.8, 1.6)
                    if t >= world.end:
                        break
        elif kind == "review":
            addresses = cloud_addresses(rng, 2)
            for t in poisson_times(rng, world.start, world.end, 0.012, OFFICE_DAY, -8.0, floor=0.1):
                for _ in range(rng.randint(1, 8)):
                    client.send(
                        t,
                        products.review_prompt(rng),
                        address=rng.choice(addresses),
                        user_agent="Go-http-client/2.0",
                        model=MODEL_PRO,
                        system_prompt=products.REVIEW_BOT_SYSTEM,
                        response_format="json_object",
                        temperature=0.2,
                    )
                    t += rng.uniform(1.5, 6.0)
                    if t >= world.end:
                        break
        else:
            raise SimulationError(f"unknown template product {kind!r}")
        out.append(
            Simulated(
                account.account_id,
                account_label("hard_negative", "template_product", f"{kind}_template"),
                client.events,
            )
        )
    return out


def eval_harnesses(world: World, count: int) -> list[Simulated]:
    """Research groups running the same public benchmark (CoT + JSON answers) in bursts."""
    items = products.benchmark()
    out = []
    for i in range(count):
        rng = world.rng("harness", i)
        if i % 4 == 3:
            address = cloud_addresses(rng, 1)[0]
        else:
            asn, country = UNIVERSITIES[i % len(UNIVERSITIES)]
            address = address_in(rng, asn, country)
        agent = rng.choice(
            (
                "python-requests/2.31.0",
                sdk_user_agent(rng, "openai-python"),
                "lm-eval/0.4.3 python-requests/2.32.3",
            )
        )
        fmt: ResponseFormat = rng.choice(("json_object", "text"))
        account = new_account(world, rng, established(rng, world, 90), True, rpm=RPM_HIGH_VOLUME)
        client = Client(account, rng)
        for _ in range(rng.randint(2, 4)):
            rate = rng.uniform(2.0, 6.0)
            span = len(items) / rate
            t = world.start + rng.random() * max(1.0, world.duration - span)
            model = rng.choice((MODEL_PRO, MODEL_STANDARD, MODEL_MINI))
            temperature = rng.choice((0.0, 0.0, 0.7))
            samples = 1 if temperature == 0.0 else rng.choice((4, 5, 8))  # pass@k runs
            for item in items:
                client.send(
                    t,
                    item,
                    address=address,
                    user_agent=agent,
                    model=model,
                    response_format=fmt,
                    temperature=temperature,
                    n=samples,
                    cot=True,
                )
                t += rng.expovariate(rate)
                if t >= world.end:
                    break
        out.append(
            Simulated(
                account.account_id,
                account_label("hard_negative", "eval_harness", "benchmark_bursts"),
                client.events,
            )
        )
    return out


def labelling_jobs(world: World, count: int) -> list[Simulated]:
    """A batch job classifying reviews with one template at a metronome pace for hours."""
    out = []
    for i in range(count):
        rng = world.rng("labelling", i)
        address = cloud_addresses(rng, 1)[0]
        agent = sdk_user_agent(rng, "openai-python")
        account = new_account(world, rng, established(rng, world, 200), True, rpm=RPM_HIGH_VOLUME)
        client = Client(account, rng)
        period = rng.choice((1.5, 2.0, 2.5))
        t = world.start + rng.random() * 0.15 * world.duration
        stop = min(world.end, t + 4 * 3600)
        while t < stop:
            client.send(
                t,
                products.labelling_prompt(rng),
                address=address,
                user_agent=agent,
                model=MODEL_MINI,
                response_format="json_object",
                temperature=0.0,
            )
            t += period + rng.gauss(0.0, 0.02)
        out.append(
            Simulated(
                account.account_id,
                account_label("hard_negative", "batch_labelling", "regular_pacing_template"),
                client.events,
            )
        )
    return out


def nat_company(world: World, employees: int) -> list[Simulated]:
    """A company's staff: one org, one NAT address, one corporate gateway UA and system prompt."""
    rng = world.rng("company")
    org = world.new_id("org")
    payment = world.new_id("pm", 64)
    address = address_in(rng, 3320, "DE")
    rollout = world.start - rng.uniform(200, 300) * DAY
    out = []
    for i in range(employees):
        rng = world.rng("employee", i)
        created = (
            rollout + rng.uniform(0, 3) * DAY
            if rng.random() < 0.85
            else rng.uniform(rollout, world.start - 20 * DAY)
        )
        account = new_account(
            world, rng, created, True, rpm=RPM_ESTABLISHED, org_id=org, payment=payment
        )
        client = Client(account, rng)
        style = sample_style(rng, "DE", "work")
        for t0 in sorted(
            sample_time(rng, world.start, world.end, OFFICE_DAY, 1.0)
            for _ in range(1 + poisson(rng, 3.0))
        ):
            t = t0
            for _ in range(rng.randint(1, 8)):
                status = client.send(
                    t,
                    user_prompt(rng, style),
                    address=address,
                    user_agent=products.COMPANY_USER_AGENT,
                    model=MODEL_STANDARD,
                    system_prompt=products.COMPANY_SYSTEM,
                    temperature=0.7,
                    stream=True,
                )
                t += rng.uniform(20, 60) if status == 429 else lognormal_median(rng, 60, 0.8)
                if t >= world.end:
                    break
        out.append(
            Simulated(
                account.account_id,
                account_label("hard_negative", "nat_company", "shared_nat_org_gateway"),
                client.events,
            )
        )
    return out


def power_users(world: World, count: int) -> list[Simulated]:
    """Developers who habitually ask for JSON and step-by-step answers, a lot."""
    out = []
    for i in range(count):
        rng = world.rng("power", i)
        country = pick_country(rng, {"US": 3, "GB": 1, "DE": 1, "IN": 1})
        tz = utc_offset(rng, country)
        style = replace(
            sample_style(rng, country, "coder"),
            json_habit=rng.uniform(0.5, 0.8),
            cot_habit=rng.uniform(0.3, 0.6),
            language="en",
        )
        addresses = [home_address(rng, country), *cloud_addresses(rng, 1)]
        agent = sdk_user_agent(rng, rng.choice(("openai-python", "anthropic")))
        endpoint = MESSAGES if agent.startswith("anthropic") else CHAT_COMPLETIONS
        account = new_account(world, rng, established(rng, world, 300), True, keys=2)
        client = Client(account, rng)
        for t0 in sorted(
            sample_time(rng, world.start, world.end, HUMAN_DAY, tz)
            for _ in range(rng.randint(4, 10))
        ):
            t = t0
            address = rng.choice(addresses)
            for _ in range(rng.randint(5, 20)):
                prompt = user_prompt(rng, style)
                fmt: ResponseFormat = "json_object" if "json" in prompt.text.lower() else "text"
                status = client.send(
                    t,
                    prompt,
                    address=address,
                    user_agent=agent,
                    model=MODEL_PRO,
                    endpoint=endpoint,
                    response_format=fmt,
                    temperature=rng.choice((0.0, 0.3, 0.7, 1.0)),
                    cot=prompt.kind == "reasoning",
                    key=rng.randrange(2),
                )
                t += rng.uniform(20, 60) if status == 429 else lognormal_median(rng, 30, 0.8)
                if t >= world.end:
                    break
        out.append(
            Simulated(
                account.account_id,
                account_label("hard_negative", "sdk_power_user", "json_cot_habit"),
                client.events,
            )
        )
    return out
