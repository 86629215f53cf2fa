"""Where traffic comes from: countries, autonomous systems, addresses and user agents.

Residential proxies sit in the same consumer ISPs as real users, so neither an
ASN nor a country separates an attacker from a user; only how addresses are
used over time and across accounts does.  Every address is drawn inside its
ASN's prefixes, so an IP always maps to one ASN and country.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from functools import cache

# country -> (UTC offset in hours of its main population, share of users, consumer ISP ASNs)
COUNTRIES: dict[str, tuple[float, int, tuple[int, ...]]] = {
    "US": (-6, 30, (7922, 701, 7018, 20115, 22773, 209)),
    "CA": (-5, 3, (812, 577, 852)),
    "MX": (-6, 2, (8151, 28548)),
    "BR": (-3, 5, (28573, 18881, 26599)),
    "AR": (-3, 1, (7303, 22927)),
    "GB": (0, 6, (2856, 5089, 5607)),
    "DE": (1, 6, (3320, 3209, 6805)),
    "FR": (1, 5, (3215, 12322, 5410)),
    "ES": (1, 3, (3352, 12479)),
    "IT": (1, 2, (3269, 30722)),
    "NL": (1, 2, (1136, 33915)),
    "PL": (1, 2, (5617, 12912)),
    "SE": (1, 1, (3301, 8473)),
    "UA": (2, 1, (15895, 13188)),
    "TR": (3, 1, (9121, 34984)),
    "NG": (1, 1, (29465, 36873)),
    "ZA": (2, 1, (5713, 37457)),
    "IN": (5.5, 10, (55836, 24560, 9829)),
    "VN": (7, 1, (7552, 45899)),
    "ID": (7, 2, (7713, 17974)),
    "SG": (8, 1, (9506, 4773)),
    "TW": (8, 1, (3462, 9924)),
    "JP": (9, 5, (2516, 4713, 17676)),
    "KR": (9, 3, (4766, 9318)),
    "AU": (10, 2, (1221, 4804)),
}
# Hosting providers (ASN, country) where backends, bots and batch jobs run.
CLOUDS: tuple[tuple[int, str], ...] = (
    (16509, "US"),
    (16509, "IE"),
    (16509, "DE"),
    (15169, "US"),
    (15169, "NL"),
    (8075, "US"),
    (8075, "NL"),
    (14061, "US"),
    (14061, "DE"),
    (24940, "DE"),
    (24940, "FI"),
    (16276, "FR"),
    (63949, "US"),
    (20473, "US"),
)
# Research and education networks (ASN, country).
UNIVERSITIES: tuple[tuple[int, str], ...] = ((3, "US"), (32, "US"), (786, "GB"), (680, "DE"))


@dataclass(frozen=True, slots=True)
class Address:
    """A client address as the gateway sees it."""

    ip: str
    asn: int
    country: str


_FIRST_OCTETS = tuple(o for o in range(2, 224) if o not in (10, 100, 127, 169, 172, 192, 198, 203))


@cache
def _prefixes() -> dict[tuple[int, str], tuple[tuple[int, int], ...]]:
    """A fixed allocation of distinct /16 prefixes (and one IPv6 /32) to every (ASN, country)."""
    plan = random.Random("distillwatch-address-plan")
    keys = sorted(
        {(asn, country) for country, (_, _, asns) in COUNTRIES.items() for asn in asns}
        | set(CLOUDS)
        | set(UNIVERSITIES)
    )
    pool = [(a, b) for a in _FIRST_OCTETS for b in range(256)]
    plan.shuffle(pool)
    out: dict[tuple[int, str], tuple[tuple[int, int], ...]] = {}
    for key in keys:
        out[key] = tuple(pool.pop() for _ in range(4))
    return out


def address_in(rng: random.Random, asn: int, country: str, v6_share: float = 0.0) -> Address:
    """A random address inside the prefixes of ``(asn, country)``."""
    prefixes = _prefixes()[(asn, country)]
    if v6_share and rng.random() < v6_share:
        a, b = prefixes[0]
        host = ":".join(f"{rng.getrandbits(16):x}" for _ in range(3))
        return Address(f"2a0{a % 10}:{a:02x}{b:02x}:{host}::{rng.getrandbits(16):x}", asn, country)
    a, b = rng.choice(prefixes)
    return Address(f"{a}.{b}.{rng.randrange(256)}.{rng.randrange(1, 255)}", asn, country)


def pick_country(rng: random.Random, weights: dict[str, float] | None = None) -> str:
    """A country, by share of users unless ``weights`` says otherwise."""
    names = tuple(COUNTRIES)
    w = [weights.get(c, 0.0) for c in names] if weights else [COUNTRIES[c][1] for c in names]
    return rng.choices(names, w)[0]


def home_address(rng: random.Random, country: str) -> Address:
    """A consumer connection in ``country``; some ISPs hand out IPv6."""
    return address_in(rng, rng.choice(COUNTRIES[country][2]), country, v6_share=0.12)


def carrier_address(rng: random.Random, country: str) -> Address:
    """A mobile carrier's CGNAT exit: a small fixed pool that unrelated subscribers share."""
    slot = rng.randrange(16)
    return address_in(random.Random(f"cgnat/{country}/{slot}"), COUNTRIES[country][2][0], country)


def cloud_addresses(rng: random.Random, count: int) -> list[Address]:
    """``count`` server addresses in one hosting provider region."""
    asn, country = rng.choice(CLOUDS)
    return [address_in(rng, asn, country) for _ in range(count)]


def proxy_pool(rng: random.Random, size: int, asn_count: int) -> list[Address]:
    """Exit nodes of a residential proxy service: consumer ISPs across many countries."""
    every = [(asn, c) for c, (_, _, asns) in COUNTRIES.items() for asn in asns]
    chosen = rng.sample(every, min(asn_count, len(every)))
    weights = [COUNTRIES[c][1] ** 0.5 for _, c in chosen]
    return [address_in(rng, *rng.choices(chosen, weights)[0], v6_share=0.05) for _ in range(size)]


# --- user agents -----------------------------------------------------------------------

_PLATFORMS = (
    ("Linux", "x86_64"),
    ("Linux", "x86_64"),
    ("MacOS", "arm64"),
    ("MacOS", "x86_64"),
    ("Windows", "AMD64"),
    ("Linux", "aarch64"),
)
_PYTHONS = ("3.9.18", "3.10.12", "3.10.14", "3.11.4", "3.11.9", "3.12.3", "3.12.7", "3.13.0")


def _recent(rng: random.Random, low: int, high: int) -> int:
    """A version number skewed to recent releases, as installed bases are."""
    return high - int((high - low + 1) * rng.random() ** 2)


def python_platform(rng: random.Random) -> str:
    os_name, arch = rng.choice(_PLATFORMS)
    return f"({os_name}; {arch}; CPython {rng.choice(_PYTHONS)})"


def sdk_user_agent(rng: random.Random, family: str | None = None) -> str:
    """The User-Agent of an API client library, with the platform suffix SDKs send."""
    family = (
        family
        or rng.choices(
            (
                "openai-python",
                "anthropic",
                "openai-node",
                "langchain",
                "curl",
                "requests",
                "go",
                "axios",
            ),
            (38, 18, 14, 9, 8, 7, 3, 3),
        )[0]
    )
    if family == "openai-python":
        return f"openai-python/1.{_recent(rng, 12, 58)}.{rng.randint(0, 9)} {python_platform(rng)}"
    if family == "anthropic":
        version = f"0.{_recent(rng, 18, 42)}.{rng.randint(0, 2)}"
        return f"anthropic-sdk-python/{version} {python_platform(rng)}"
    if family == "openai-node":
        node = f"v{rng.choice((18, 20, 22))}.{rng.randint(0, 18)}.0"
        return f"openai-node/4.{_recent(rng, 20, 73)}.{rng.randint(0, 3)} (node {node})"
    if family == "langchain":
        return f"langchain/0.{rng.choice((1, 2, 3))}.{rng.randint(0, 24)} {python_platform(rng)}"
    if family == "curl":
        return rng.choice(
            (
                "curl/7.68.0",
                "curl/7.81.0",
                "curl/7.88.1",
                "curl/8.1.2",
                "curl/8.4.0",
                "curl/8.5.0",
                "curl/8.7.1",
                "curl/8.10.1",
            )
        )
    if family == "requests":
        return f"python-requests/2.{_recent(rng, 25, 32)}.{rng.randint(0, 3)}"
    if family == "go":
        return "Go-http-client/2.0"
    return f"axios/1.{_recent(rng, 3, 7)}.{rng.randint(0, 9)}"


def browser_user_agent(rng: random.Random) -> str:
    """A desktop or mobile browser of someone using the web app."""
    roll = rng.random()
    chrome = f"{_recent(rng, 118, 131)}.0.{rng.randint(5900, 6800)}.{rng.randint(0, 220)}"
    if roll < 0.35:
        return (
            f"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
            f"Chrome/{chrome} Safari/537.36"
        )
    if roll < 0.6:
        return (
            f"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like "
            f"Gecko) Chrome/{chrome} Safari/537.36"
        )
    if roll < 0.72:
        return (
            f"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like "
            f"Gecko) Version/17.{rng.randint(0, 6)} Safari/605.1.15"
        )
    if roll < 0.82:
        v = _recent(rng, 115, 132)
        return f"Mozilla/5.0 (X11; Linux x86_64; rv:{v}.0) Gecko/20100101 Firefox/{v}.0"
    if roll < 0.92:
        return (
            f"Mozilla/5.0 (iPhone; CPU iPhone OS 17_{rng.randint(0, 6)} like Mac OS X) "
            f"AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.{rng.randint(0, 6)} "
            f"Mobile/15E148 Safari/604.1"
        )
    return (
        f"Mozilla/5.0 (Linux; Android 14; Pixel {rng.randint(6, 9)}) AppleWebKit/537.36 "
        f"(KHTML, like Gecko) Chrome/{chrome} Mobile Safari/537.36"
    )


# IDE plugins: (user agent family, system prompt the plugin always sends, temperature)
IDE_PLUGINS: tuple[tuple[str, str, float], ...] = (
    (
        "codepilot-vscode/1.{minor}.{patch} (vscode 1.{host}.0)",
        "You are an expert programming assistant embedded in the user's editor. Answer with "
        "concise explanations and complete, runnable code. Use the file context provided.",
        0.2,
    ),
    (
        "devassist-jetbrains/2024.{minor}.{patch} (IntelliJ IDEA 2024.{ide})",
        "You are DevAssist, a coding assistant inside a JetBrains IDE. Prefer minimal diffs and "
        "explain changes briefly.",
        0.1,
    ),
    (
        "nvim-llm/0.{minor}.{patch}",
        "You are a helpful coding assistant. Reply in markdown.",
        0.0,
    ),
)


def ide_user_agent(rng: random.Random, plugin: int) -> str:
    return IDE_PLUGINS[plugin][0].format(
        minor=rng.randint(1, 9),
        patch=rng.randint(0, 12),
        host=rng.randint(85, 95),
        ide=rng.randint(1, 3),
    )
