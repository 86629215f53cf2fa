"""Prompts ordinary people send: the benign corpus.

A user has a ``Style`` (what they ask about, their language, how carefully
they type, whether they habitually ask for JSON or step-by-step answers) and
every prompt is composed from topic lexicons, phrasing patterns and pasted
payloads (code, error messages, paragraphs).  The hardest attack campaign
draws its prompts from ``user_prompt`` too, so nothing in the wording of a
single prompt separates it from a user's.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

from streams.simulation import code, localized
from streams.simulation import lexicon as lx
from streams.simulation.grammar import pick, render
from streams.simulation.phrasebook import (
    ADVICE,
    CODING,
    CREATIVE,
    DATA,
    EVERYDAY,
    FOLLOW_UPS,
    IDE_PROMPTS,
    KNOWLEDGE,
    PARAGRAPH_SENTENCES,
    TRANSLATION,
    WORK,
    WRITING,
)

CATEGORIES = (
    "coding",
    "writing",
    "knowledge",
    "math",
    "everyday",
    "advice",
    "work",
    "data",
    "translation",
    "creative",
)
_BASE_WEIGHTS = (26, 14, 16, 8, 12, 6, 8, 3, 3, 4)
_CODER_WEIGHTS = (70, 4, 10, 4, 2, 1, 4, 4, 0, 1)
_WORK_WEIGHTS = (12, 24, 14, 3, 4, 5, 28, 5, 3, 2)

# Languages people write prompts in, by country of the user.
NATIVE_LANGUAGE = {
    "DE": "de",
    "AT": "de",
    "FR": "fr",
    "ES": "es",
    "MX": "es",
    "AR": "es",
    "BR": "pt",
    "PT": "pt",
    "IT": "it",
    "JP": "ja",
    "KR": "ko",
    "TW": "zh",
    "SG": "zh",
    "UA": "ru",
}


@dataclass(frozen=True, slots=True)
class Prompt:
    """Prompt text plus the kind of task, which sets how long the answer runs."""

    text: str
    kind: str


@dataclass(frozen=True, slots=True)
class Style:
    """How one person writes prompts; stable across their requests."""

    weights: tuple[int, ...]
    language: str
    native_share: float
    typo_rate: float
    lowercase: bool
    casual: float
    verbose: float
    json_habit: float
    cot_habit: float
    role: str
    project: str
    coding_language: str


# Makes one new prompt of a person in their style.
PromptWriter = Callable[[random.Random, "Style"], Prompt]


def sample_style(rng: random.Random, country: str = "US", emphasis: str = "general") -> Style:
    """A person's prompt-writing habits; ``emphasis`` is "general", "coder" or "work"."""
    base = {"coder": _CODER_WEIGHTS, "work": _WORK_WEIGHTS}.get(emphasis, _BASE_WEIGHTS)
    weights = tuple(max(0, round(w * rng.lognormvariate(0, 0.6))) for w in base)
    if not any(weights):
        weights = base
    language = NATIVE_LANGUAGE.get(country, "en")
    if language == "en" and rng.random() < 0.04:
        language = rng.choice(("es", "zh", "fr", "hi-en"))
    return Style(
        weights=weights,
        language=language,
        native_share=rng.choice((0.15, 0.35, 0.6, 0.9)) if language != "en" else 0.0,
        typo_rate=rng.choice((0.0, 0.0, 0.005, 0.01, 0.02, 0.05)),
        lowercase=rng.random() < 0.3,
        casual=rng.random(),
        verbose=rng.random() ** 2,
        json_habit=0.0 if rng.random() < 0.93 else rng.uniform(0.1, 0.4),
        cot_habit=0.0 if rng.random() < 0.95 else rng.uniform(0.1, 0.3),
        role=rng.choice(lx.ROLES),
        project=rng.choice(lx.PROJECTS),
        coding_language=code.pick_language(rng),
    )


def _paragraph_slots(rng: random.Random) -> dict[str, object]:
    city, _country = rng.choice(lx.CITIES)
    domain = rng.choice(tuple(lx.CONCEPTS))
    return {
        "company": lx.COMPANY_NAMES,
        "pct": str(rng.randint(2, 48)),
        "num": str(rng.randint(3, 900)),
        "product": lx.PRODUCTS,
        "name": lx.FIRST_NAMES,
        "city": city,
        "concept": lx.CONCEPTS[domain],
    }


def paragraph(rng: random.Random, genre: str | None = None, sentences: int | None = None) -> str:
    """Pasted text (a report excerpt, a review, meeting notes...) of a few sentences."""
    genre = genre or rng.choice(tuple(PARAGRAPH_SENTENCES))
    count = sentences or rng.randint(2, 7)
    slots = _paragraph_slots(rng)
    lines = [pick(rng, PARAGRAPH_SENTENCES[genre], slots) for _ in range(count)]
    return ("\n" if genre == "notes" else " ").join(lines)


# --- mathematics and puzzles, shared with benchmark and attack task generators --------


def math_problem(rng: random.Random) -> str:
    """A self-contained maths problem with fresh numbers."""
    a, b, c = rng.randint(2, 19), rng.randint(1, 60), rng.randint(20, 200)
    form = rng.randrange(9)
    if form == 0:
        return f"Solve for x: {a}x + {b} = {c}"
    if form == 1:
        r1, r2 = rng.randint(-9, 9), rng.randint(-9, 9)
        return f"Find the roots of x^2 {-(r1 + r2):+d}x {r1 * r2:+d} = 0"
    if form == 2:
        expr = rng.choice(
            (
                "x^3 * sin(x)",
                "e^(2x) / x",
                "ln(x^2 + 1)",
                "sqrt(3x + 1)",
                "x * cos(x^2)",
                "(x^2 + 1)^5",
                "tan(x) / x^2",
            )
        )
        return f"Differentiate f(x) = {expr}"
    if form == 3:
        expr = rng.choice(
            (
                f"x * e^({a}x)",
                "sin(x)^2",
                f"1 / (x^2 + {a})",
                "x^2 * ln(x)",
                f"{a}x^3 - {b}x + 1",
                f"cos({a}x)",
            )
        )
        return f"Compute the integral of {expr} dx"
    if form == 4:
        nums = sorted(rng.sample(range(1, 120), rng.randint(5, 9)))
        stat = rng.choice(("mean", "median", "standard deviation", "variance"))
        return f"What is the {stat} of {', '.join(map(str, nums))}?"
    if form == 5:
        rolls = rng.randint(2, 8)
        return rng.choice(
            (
                f"What is the probability of getting at least one six in {rolls} rolls of a fair "
                "die?",
                f"If I flip a fair coin {rolls + 4} times, what is the probability of exactly "
                f"{rolls} heads?",
                f"A bag has {a} red and {b % 20 + 2} blue marbles. Two are drawn without "
                "replacement. "
                "What is the probability both are red?",
            )
        )
    if form == 6:
        amount, rate, years = (
            rng.choice((1000, 5000, 10000, 25000)),
            rng.randint(2, 9),
            rng.randint(3, 30),
        )
        return (
            f"If I invest ${amount} at {rate}% interest compounded annually, how much will I "
            f"have after {years} years?"
        )
    if form == 7:
        name, other = rng.sample(lx.FIRST_NAMES, 2)
        item = rng.choice(("apples", "books", "tickets", "stickers", "cupcakes", "marbles"))
        return (
            f"{name} has {c} {item}. {name} gives {other} {b % c} {item} and then buys "
            f"{a} packs of {rng.randint(3, 12)} {item}. How many {item} does {name} have now?"
        )
    speed1, speed2 = rng.randint(40, 90), rng.randint(50, 120)
    return (
        f"A train leaves city A at {speed1} km/h. Two hours later a second train leaves the "
        f"same station on the same track at {speed2} km/h. "
        "When and where does the second train catch up, if ever?"
    )


def puzzle(rng: random.Random) -> str:
    """A small logic or planning puzzle."""
    names = rng.sample(lx.FIRST_NAMES, 4)
    form = rng.randrange(4)
    if form == 0:
        colors = rng.sample(("red", "blue", "green", "yellow", "white"), 3)
        return (
            f"{names[0]}, {names[1]} and {names[2]} each own one car: {', '.join(colors)}. "
            f"{names[0]} does not own the {colors[0]} car. {names[1]} owns neither the "
            f"{colors[0]} nor the {colors[1]} car. Who owns which car?"
        )
    if form == 1:
        a, b = rng.choice((("cats", "animals"), ("roses", "flowers"), ("squares", "rectangles")))
        return (
            f"All {a} are {b}. Some {b} are {rng.choice(('red', 'small', 'expensive'))}. "
            f"Does it follow that some {a} are {rng.choice(('red', 'small', 'expensive'))}? "
            "Explain."
        )
    if form == 2:
        return (
            f"I have a {rng.randint(3, 9)} liter jug and a {rng.randint(10, 15)} liter jug. "
            f"How can I measure exactly {rng.randint(1, 8)} liters?"
        )
    return (
        f"{names[0]} is older than {names[1]}. {names[2]} is younger than {names[1]} but older "
        f"than {names[3]}. Who is the second oldest?"
    )


_FAMILIES = {
    "coding": (CODING, "code"),
    "writing": (WRITING, "writing"),
    "creative": (CREATIVE, "long_form"),
    "knowledge": (KNOWLEDGE, "chat"),
    "everyday": (EVERYDAY, "chat"),
    "advice": (ADVICE, "chat"),
    "work": (WORK, "writing"),
    "data": (DATA, "json"),
    "translation": (TRANSLATION, "translate"),
}
_MONTHS = ("March", "June", "October", "December", "the summer", "winter")


_MAIL_DOMAINS = ("gmail.com", "acme.io", "outlook.com", "proton.me", "yahoo.co.uk")


def _table(rng: random.Random) -> str:
    fields = rng.choice(lx.DATA_ITEMS)
    rows = []
    for _ in range(rng.randint(2, 6)):
        name = f"{rng.choice(lx.FIRST_NAMES)} {rng.choice(lx.LAST_NAMES)}"
        values = {
            "name": name,
            "email": f"{name.split()[0].lower()}@{rng.choice(_MAIL_DOMAINS)}",
            "company": rng.choice(lx.COMPANY_NAMES),
            "product": rng.choice(lx.PRODUCTS),
            "price": f"{rng.uniform(3, 400):.2f}",
            "quantity": str(rng.randint(1, 40)),
            "date": f"2024-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
            "amount": f"{rng.uniform(10, 5000):.2f}",
            "category": rng.choice(("travel", "food", "software")),
            "city": rng.choice(lx.CITIES)[0],
            "country": rng.choice(lx.CITIES)[1],
            "population": f"{rng.randint(50, 9000)}k",
            "title": rng.choice(lx.WRITING_THEMES).title(),
            "author": name,
            "year": str(rng.randint(1950, 2024)),
            "task": rng.choice(code.TASKS),
            "owner": name,
            "due date": f"{rng.randint(1, 28)}/{rng.randint(1, 12)}",
        }
        rows.append(rng.choice((", ", " | ", "\t")).join(values[f] for f in fields))
    return "\n".join(rows)


def _english_slots(rng: random.Random, style: Style) -> dict[str, object]:
    lang = style.coding_language if rng.random() < 0.75 else code.pick_language(rng)
    other = code.pick_language(rng)
    a, b = rng.choice(lx.COMPARE_PAIRS)
    city, _country = rng.choice(lx.CITIES)
    ingredients = rng.sample(lx.INGREDIENTS, 3)
    t1, t2, fk = rng.choice(code.TABLES)
    domain = rng.choice(tuple(lx.CONCEPTS))
    return {
        "Lang": code.DISPLAY[lang],
        "Lang2": code.DISPLAY[other],
        "task": code.TASKS,
        "project": style.project,
        "error": lambda r: code.error_message(r, lang),
        "snippet": lambda r: code.snippet(r, lang),
        "t1": t1,
        "t2": t2,
        "fk": fk,
        "field": code.FIELDS,
        "tone": lx.TONES,
        "recipient": lx.EMAIL_RECIPIENTS,
        "purpose": lx.EMAIL_PURPOSES,
        "name": lx.FIRST_NAMES,
        "paragraph": paragraph,
        "role": lx.ROLES,
        "a_role": lambda r: lx.with_article(r.choice(lx.ROLES)),
        "company": lx.COMPANY_NAMES,
        "years": str(rng.randint(2, 15)),
        "product": lx.PRODUCTS,
        "words": str(rng.choice((50, 80, 100, 150))),
        "hobby": lx.HOBBIES,
        "form": lx.POEM_FORMS,
        "theme": lx.WRITING_THEMES,
        "age": str(rng.randint(4, 12)),
        "story": lambda r: paragraph(r, "story", r.randint(2, 4)),
        "concept": lx.CONCEPTS[domain],
        "a": a,
        "b": b,
        "why": lx.WHY_QUESTIONS,
        "history": lx.CONCEPTS["history"],
        "i1": ingredients[0],
        "i2": ingredients[1],
        "i3": ingredients[2],
        "diet": lx.DIETS,
        "days": str(rng.randint(2, 10)),
        "city": city,
        "month": _MONTHS,
        "weeks": str(rng.choice((4, 6, 8, 12))),
        "relation": lx.RELATIONS,
        "amount": str(rng.choice((20, 50, 100, 200))),
        "household": lx.HOUSEHOLD_TASKS,
        "situation": lambda r: r.choice(lx.ADVICE_SITUATIONS).format(role=style.role, city=city),
        "business": lambda r: r.choice(lx.BUSINESS_TASKS).format(
            role=r.choice(lx.ROLES),
            relation_work=r.choice(lx.WORK_RELATIONS),
            version=r.choice(lx.VERSIONS),
        ),
        "num": str(rng.randint(4, 400)),
        "table": _table,
        "ident": code.IDENTS,
        "fields": lambda r: ", ".join(r.sample(code.FIELDS, r.randint(2, 5))),
        "mm": f"{rng.randint(1, 12):02d}",
        "dd": f"{rng.randint(1, 28):02d}",
        "port": str(rng.choice((3000, 5432, 8000, 8080, 9092))),
        "few": str(rng.randint(2, 6)),
        "lang": lx.LANGUAGES_HUMAN,
        "sentence": lx.ENGLISH_SENTENCES,
    }


# --- other languages -----------------------------------------------------------------


def _equation(rng: random.Random) -> str:
    a, b = rng.randint(2, 15), rng.randint(1, 40)
    return f"{a}x {rng.choice('+-')} {b} = {rng.randint(-50, 120)}"


def _localized(rng: random.Random, style: Style) -> Prompt:
    lang = style.coding_language
    words = localized.WORDS[style.language]
    slots: dict[str, object] = {
        "Lang": code.DISPLAY[lang],
        "error": lambda r: code.error_message(r, lang),
        "days": str(rng.randint(2, 9)),
        "city": rng.choice(lx.CITIES)[0],
        "paragraph": lambda r: paragraph(r, "story", r.randint(2, 4)),
        "equation": _equation,
    }
    slots.update(words)
    if "food" in words:
        foods = rng.sample(words["food"], rng.randint(1, 3))
        slots["food"] = words["and"][0].join(foods)
    template, kind = rng.choice(localized.TEMPLATES[style.language])
    return Prompt(render(template, rng, slots), kind)


# --- surface habits ------------------------------------------------------------------

_CASUAL_PREFIX = ("hey ", "hi, ", "ok so ", "quick question: ", "pls ", "yo ", "hello! ", "")
_POLITE_PREFIX = ("Please ", "Hi! ", "Hello, ", "Could you help me? ", "I need some help. ", "")
# First words that are instructions, not names: safe to lower-case after a greeting.
_LOWERABLE = frozenset(
    (
        "write",
        "can",
        "what",
        "what's",
        "how",
        "explain",
        "give",
        "make",
        "plan",
        "create",
        "summarize",
        "summarise",
        "rewrite",
        "polish",
        "fix",
        "proofread",
        "refactor",
        "clean",
        "convert",
        "translate",
        "compare",
        "draft",
        "help",
        "is",
        "why",
        "solve",
        "find",
        "differentiate",
        "compute",
        "if",
        "i",
        "i'm",
        "tell",
        "continue",
        "extract",
        "generate",
        "regex",
        "regular",
        "please",
        "pros",
        "best",
        "good",
        "simplify",
        "optimize",
        "the",
    )
)
_SUFFIXES = (
    " thanks",
    " Thanks!",
    " thx",
    " Please be concise.",
    " Keep it brief.",
    " Use bullet points.",
    " Give examples.",
    " ty",
    " Explain like I'm new to this.",
)
_JSON_ASKS = (
    " Respond in JSON.",
    " Return the answer as JSON.",
    " Output JSON only.",
    " Format the output as a JSON object.",
    " give me json",
    " Answer in valid JSON please.",
)
_COT_ASKS = (
    " Think step by step.",
    " Explain your reasoning step by step.",
    " Let's think step by step.",
    " Walk me through it step by step.",
    " show your work",
)


def _typo(word: str, rng: random.Random) -> str:
    i = rng.randrange(1, len(word) - 1)
    roll = rng.random()
    if roll < 0.4:
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    if roll < 0.7:
        return word[:i] + word[i + 1 :]
    return word[:i] + word[i] + word[i:]


def _surface(rng: random.Random, text: str, style: Style) -> str:
    """Apply the user's habits to the instruction line, never to pasted payloads."""
    if text.startswith("```"):
        return text
    head, sep, tail = text.partition("\n")
    if style.typo_rate:
        words = head.split(" ")
        for i, word in enumerate(words):
            if len(word) > 3 and word.isalpha() and rng.random() < style.typo_rate:
                words[i] = _typo(word, rng)
        head = " ".join(words)
    if rng.random() < style.verbose * 0.4:
        head = f"I'm {lx.with_article(style.role)} working on {style.project}. {head}"
    if rng.random() < style.casual * 0.5:
        prefix = rng.choice(_CASUAL_PREFIX)
        first = head.split(" ", 1)[0]
        if prefix and first.lower() in _LOWERABLE:
            head = prefix + head[0].lower() + head[1:]
        else:
            head = prefix + head
    elif rng.random() < (1 - style.casual) * 0.25:
        prefix = rng.choice(_POLITE_PREFIX)
        if prefix.startswith("Please") and head.split(" ", 1)[0].lower() in _LOWERABLE:
            head = head[0].lower() + head[1:]
        head = prefix + head
    if style.lowercase and head[:1].isupper():
        head = head.lower() if rng.random() < 0.5 else head[0].lower() + head[1:]
    text = head + sep + tail
    if rng.random() < 0.15:
        text += rng.choice(_SUFFIXES)
    return text


def user_prompt(rng: random.Random, style: Style) -> Prompt:
    """One prompt in ``style``: topic, phrasing, payload and habits all drawn from ``rng``."""
    if style.language != "en" and rng.random() < style.native_share:
        prompt = _localized(rng, style)
        text, kind = prompt.text, prompt.kind
    else:
        category = rng.choices(CATEGORIES, style.weights)[0]
        slots = _english_slots(rng, style)
        if category == "math":
            text = math_problem(rng) if rng.random() < 0.75 else puzzle(rng)
            kind = "math"
        else:
            templates, kind = _FAMILIES[category]
            text = pick(rng, templates, slots)
        text = _surface(rng, text, style)
    if style.json_habit and rng.random() < style.json_habit:
        text += rng.choice(_JSON_ASKS)
        kind = "json" if kind in ("chat", "short") else kind
    if style.cot_habit and rng.random() < style.cot_habit:
        text += rng.choice(_COT_ASKS)
        kind = "reasoning"
    return Prompt(text, kind)


def follow_up(rng: random.Random, style: Style, previous: Prompt) -> Prompt:
    """The next turn of a conversation about ``previous`` (short, context-dependent)."""
    family = previous.kind if previous.kind in FOLLOW_UPS else "chat"
    if previous.kind == "long_form":
        family = "writing"
    slots = _english_slots(rng, style)
    text = _surface(rng, pick(rng, FOLLOW_UPS[family], slots), style)
    return Prompt(text, "code" if family == "code" else "short")


def ide_prompt(rng: random.Random, style: Style) -> Prompt:
    """What an editor plugin sends: the selected code plus a short instruction."""
    if rng.random() < 0.3:
        return user_prompt(rng, style)
    text = _surface(rng, pick(rng, IDE_PROMPTS, _english_slots(rng, style)), style)
    return Prompt(text, "code")
