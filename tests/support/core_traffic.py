"""A small, hand-written traffic generator for the detection-core tests.

Deliberately simple and independent of the project's simulator: a few
populations with known labels, each with the traits the core must tell apart
(ordinary users, one org behind a NAT, an SDK power user, a heavy single-app
developer, research accounts sharing a benchmark, a wrapped-prompt campaign
and a harvested-prompt campaign without any wrapper).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from streams.records import RequestEvent

T0 = 1_767_225_600.0  # 2026-01-01T00:00:00Z
DAY = 86400.0

TOPICS = {
    "coding": [
        "How do I reverse a linked list in {lang}?",
        "Why does my {lang} loop throw an index error when the array is empty?",
        "Write a {lang} function that parses dates from log lines.",
        "What is the difference between a process and a thread in {lang}?",
        "Refactor this {lang} class so the database query runs once.",
    ],
    "math": [
        "What is the derivative of x^{n} times sin x?",
        "Solve the equation {n}x + 3 = 2x - 7.",
        "How many primes are there below {n}00?",
        "Compute the area of a triangle with sides {n}, 7 and 9.",
        "Is {n}1 divisible by 7? Explain why.",
    ],
    "science": [
        "Why is the sky blue? Explain like I am {n}.",
        "How does photosynthesis store energy in glucose?",
        "What force keeps electrons bound to the nucleus?",
        "Explain how a vaccine trains the immune cells.",
        "What happens to the velocity of a falling object after {n} seconds?",
    ],
    "writing": [
        "Write a short poem about autumn leaves and a cat named {name}.",
        "Draft a polite email to my landlord about the broken heater.",
        "Rewrite this paragraph in a friendlier tone for {name}.",
        "Give me a slogan for a bakery called {name}'s Bread.",
        "Write a cover letter for a junior analyst position.",
    ],
    "general": [
        "What are good things to do in {city} on a rainy day?",
        "How long should I boil an egg for a soft yolk?",
        "Recommend three board games for {n} players.",
        "What is a healthy breakfast that takes five minutes?",
        "How do I get rid of fruit flies in the kitchen?",
    ],
    "translation": [
        "Translate into French: where is the train station in {city}?",
        "Translate into Spanish: my friend {name} arrives tomorrow.",
        "Translate into German: the meeting is moved to Friday.",
    ],
}
LANGS = ["Python", "Java", "Rust", "Go", "JavaScript"]
NAMES = ["Alice", "Bob", "Chen", "Dana", "Eve", "Farid", "Greta", "Hiro"]
CITIES = ["Lisbon", "Oslo", "Lima", "Osaka", "Denver", "Nairobi", "Krakow"]
POPULAR_UAS = ["openai-python/1.52.0", "OpenAI/NodeJS/4.67.1", "python-requests/2.31.0"]
CLOUD_ASNS = [16509, 15169, 8075]
ISP_ASNS = list(range(7000, 7060))


def ordinary_prompt(rng: random.Random, category: str | None = None) -> tuple[str, str]:
    category = category or rng.choice(sorted(TOPICS))
    text = rng.choice(TOPICS[category]).format(
        lang=rng.choice(LANGS),
        n=rng.randint(2, 9),
        name=rng.choice(NAMES),
        city=rng.choice(CITIES),
    )
    # A tail keeps harvested prompts distinct, as real user prompts are.
    tail = rng.choice(["", " Thanks!", " Please keep it short.", " I am a beginner.", ""])
    return category, f"{text}{tail} (#{rng.randint(1, 10**6)})"


@dataclass
class Account:
    account_id: str
    org_id: str
    label: str
    created_at: float
    user_agent: str
    payment: str | None
    ips: list[tuple[str, int]]
    rate_per_min: float
    hours: tuple[int, int] = (0, 24)
    model: str = "gpt-4o"
    temperature: float = 0.7
    response_format: str = "text"
    prompt: str = "ordinary"
    system_prompt: str | None = None
    start: float = T0
    end: float = T0 + 3600.0
    extra: dict = field(default_factory=dict)


def _ip(rng: random.Random, a: int, b: int) -> str:
    return f"{a}.{b}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"


@dataclass
class Traffic:
    events: list[RequestEvent]
    labels: dict[str, str]
    campaign_start: dict[str, float]


def _prompt_for(acc: Account, rng: random.Random) -> tuple[str, str]:
    if acc.prompt == "wrapper":
        _, question = ordinary_prompt(rng)
        return "x", (
            "Solve the following problem step by step and return JSON with the fields "
            f"reasoning and final_answer:\n\n{question}"
        )
    if acc.prompt == "json_power":
        _, question = ordinary_prompt(rng, rng.choice(["coding", "math", "science"]))
        return "x", f"{question} Think step by step and answer in JSON."
    if acc.prompt == "app":
        review = rng.choice(["great value", "arrived late", "broke after a week", "love it"])
        return "x", (
            "Classify the sentiment of the following customer review and return JSON with the "
            f"fields sentiment and topics:\n\nReview: {review} {rng.randint(1, 10**6)}"
        )
    if acc.prompt == "labelling":
        item = rng.randint(1, 10**6)
        return "x", f"Label the following product title with one category only:\n\nItem {item}"
    if acc.prompt.startswith("bench:"):
        index = rng.randrange(40)
        return "x", f"Benchmark question {index}: which of the following is a prime: 4, 6, 7, 9?"
    return ordinary_prompt(rng)


def generate(
    seed: int = 1, duration: float = 3600.0, benign: int = 150, campaign_size: int = 30
) -> Traffic:
    rng = random.Random(seed)
    accounts: list[Account] = []
    for i in range(benign):
        asn = rng.choice(CLOUD_ASNS + ISP_ASNS)
        accounts.append(
            Account(
                account_id=f"u{i:04d}",
                org_id=f"org-u{i // 2:04d}",
                label="benign",
                created_at=T0 - rng.uniform(30, 900) * DAY,
                user_agent=rng.choice(POPULAR_UAS),
                payment=f"pay-u{i // 2}",
                ips=[(_ip(rng, 20 + asn % 200, rng.randint(0, 255)), asn)],
                rate_per_min=rng.uniform(0.05, 1.0),
                temperature=rng.choice([0.0, 0.7, 1.0]),
            )
        )
    nat = (_ip(rng, 81, 2), 3320)
    for i in range(60):
        accounts.append(
            Account(
                f"corp{i:03d}",
                "org-corp",
                "benign",
                T0 - 400 * DAY,
                "openai-python/1.52.0",
                "pay-corp",
                [nat],
                rng.uniform(0.1, 0.6),
            )
        )
    accounts.append(
        Account(
            "power-user",
            "org-power",
            "hard_negative",
            T0 - 200 * DAY,
            "openai-python/1.52.0",
            "pay-power",
            [(_ip(rng, 90, 1), 7001)],
            3.0,
            response_format="json_object",
            prompt="json_power",
        )
    )
    accounts.append(
        Account(
            "heavy-dev",
            "org-heavy",
            "hard_negative",
            T0 - 30 * DAY,
            "OpenAI/NodeJS/4.67.1",
            "pay-heavy",
            [(_ip(rng, 52, 3), 16509), (_ip(rng, 52, 4), 16509)],
            12.0,
            response_format="json_object",
            prompt="app",
            temperature=0.0,
        )
    )
    accounts.append(
        Account(
            "labeller",
            "org-label",
            "hard_negative",
            T0 - 90 * DAY,
            "python-requests/2.31.0",
            "pay-label",
            [(_ip(rng, 34, 5), 15169)],
            6.0,
            prompt="labelling",
            temperature=0.0,
        )
    )
    for i in range(5):
        asn = 9000 + i
        accounts.append(
            Account(
                f"research{i}",
                f"org-uni{i}",
                "hard_negative",
                T0 - rng.uniform(100, 900) * DAY,
                "openai-python/1.52.0",
                f"pay-uni{i}",
                [(_ip(rng, 130 + i, 7), asn)],
                4.0,
                temperature=0.0,
                prompt="bench:mmlu",
            )
        )
    starts: dict[str, float] = {}
    proxies = [(_ip(rng, 100 + p % 50, p), ISP_ASNS[p % 40]) for p in range(80)]
    for name, prompt, ua, fmt, temp in (
        ("wrap", "wrapper", "python-httpx/0.27.0 harvest/1.3", "json_object", 0.7),
        ("harv", "ordinary", "python-requests/2.31.0", "text", 1.0),
    ):
        start = T0 + rng.uniform(300, 900)
        starts[name] = start
        burst = T0 - rng.uniform(1, 3) * DAY
        for i in range(campaign_size):
            accounts.append(
                Account(
                    f"{name}{i:02d}",
                    f"org-{name}{i:02d}",
                    "attack",
                    burst + rng.uniform(0, 1800),
                    ua,
                    f"pay-{name}-{i % 4}",
                    proxies,
                    rng.uniform(1.0, 3.0),
                    temperature=temp,
                    response_format=fmt,
                    prompt=prompt,
                    start=start + i * rng.uniform(5, 40),
                )
            )
    events: list[RequestEvent] = []
    for acc in accounts:
        t = max(acc.start, T0) + rng.expovariate(acc.rate_per_min / 60.0)
        end = min(acc.end, T0 + duration)
        seq = 0
        while t < end:
            _, prompt = _prompt_for(acc, rng)
            ip, asn = rng.choice(acc.ips)
            seq += 1
            events.append(
                RequestEvent(
                    event_id=f"{acc.account_id}-{seq}",
                    ts=round(t, 3),
                    account_id=acc.account_id,
                    org_id=acc.org_id,
                    api_key_id=f"key-{acc.account_id}",
                    ip=ip,
                    asn=asn,
                    country="US",
                    user_agent=acc.user_agent,
                    model=acc.model,
                    endpoint="/v1/chat/completions",
                    prompt=prompt,
                    system_prompt=acc.system_prompt,
                    prompt_tokens=len(prompt) // 4,
                    completion_tokens=rng.randint(50, 600),
                    response_format=acc.response_format,  # type: ignore[arg-type]
                    temperature=acc.temperature,
                    n=1,
                    stream=False,
                    status=200,
                    latency_ms=400.0,
                    account_created_at=acc.created_at,
                    payment_fingerprint=acc.payment,
                )
            )
            t += rng.expovariate(acc.rate_per_min / 60.0)
    events.sort(key=lambda e: (e.ts, e.event_id))
    return Traffic(events, {a.account_id: a.label for a in accounts}, starts)
