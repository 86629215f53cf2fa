"""A cheap, seeded generator of many accounts' privacy-mode events, for the size benchmarks.

The simulator models a few thousand accounts in detail; memory and scaling need 10^5-10^6.
This generator gives each account ``events_per_account`` events over ``span_s`` of event time:
most accounts are ordinary (popular SDK user agents and cloud ASNs, their own IP, card and a
plain or popular template), and ``campaign_share`` of them belong to campaigns of
``campaign_size`` accounts in different orgs that share a proxy pool, an SDK build, a card pool,
a wrapper template and a sign-up burst.  Prompts are producer-side fingerprints of a small
pool of real prompts, so the events are what a privacy-mode gateway publishes.
"""

from __future__ import annotations

import random
from collections.abc import Iterator

from streams.records import PromptFingerprint, RequestEvent
from streams.wire.fingerprint import prompt_fingerprint

_START = 1_767_225_600.0  # 2026-01-01T00:00:00Z
_UAS = [f"openai-python/1.{i}.0" for i in range(30)] + [f"openai-node/4.{i}.0" for i in range(20)]
_ASNS = [16509, 15169, 8075, 13335, 14061, 24940, 7922, 3320, 701, 2856, 3215, 6830]
_MODELS = ("frontier-2025-01", "frontier-pro-2025-01", "frontier-mini-2025-01")


def _pool(rng: random.Random) -> tuple[list[PromptFingerprint], list[PromptFingerprint]]:
    topics = ["sorting", "graphs", "tax law", "photosynthesis", "sonnets", "SQL joins", "Rust"]
    plain = [
        prompt_fingerprint(f"how do I {rng.choice(['fix', 'explain', 'test'])} {t} case {i}")
        for i, t in enumerate(topics * 20)
    ]
    wrappers = [
        prompt_fingerprint(
            f"You are an expert tutor #{i}. Solve the following problem step by step and "
            f"return JSON with the fields reasoning and final_answer.\n\nProblem: {t} {i}"
        )
        for i, t in enumerate(topics * 3)
    ]
    return plain, wrappers


def accounts_events(
    accounts: int,
    seed: int = 5,
    events_per_account: int = 3,
    span_s: float = 3600.0,
    campaign_share: float = 0.05,
    campaign_size: int = 200,
) -> Iterator[RequestEvent]:
    """Events of ``accounts`` accounts in event-time order (generated per time slice)."""
    rng = random.Random(seed)
    plain, wrappers = _pool(rng)
    campaign_accounts = int(accounts * campaign_share)
    profiles = []
    for a in range(accounts):
        group = a // campaign_size if a < campaign_accounts else -1
        g = random.Random(seed * 1_000_003 + group) if group >= 0 else rng
        profiles.append(
            {
                "account_id": f"acct-{a:07d}",
                "org_id": f"org-{a:07d}" if group >= 0 else f"org-{rng.randrange(accounts):07d}",
                "group": group,
                "ua": g.choice(_UAS) if group < 0 else f"python-httpx/0.{group % 40}.{group}",
                "asns": [g.choice(_ASNS)] if group < 0 else g.sample(_ASNS, 4),
                "ip_base": rng.randrange(1 << 24) if group < 0 else g.randrange(1 << 16),
                "pay": f"pm_{a:012x}" if group < 0 else f"pm_c{group:04d}{rng.randrange(8)}",
                "created": _START - rng.uniform(30, 900) * 86400
                if group < 0
                else _START - 86400 - g.uniform(0, 1800),
                "fp": (rng.choice(plain) if rng.random() < 0.7 else rng.choice(wrappers))
                if group < 0
                else wrappers[group % len(wrappers)],
            }
        )
    slots = [
        (rng.uniform(0, span_s), a) for a in range(accounts) for _ in range(events_per_account)
    ]
    slots.sort()
    for i, (offset, a) in enumerate(slots):
        p = profiles[a]
        campaign = p["group"] >= 0
        ip_base = p["ip_base"] if not campaign else (p["ip_base"] << 8) + rng.randrange(24)
        ip = f"{(ip_base >> 16) % 223 + 1}.{(ip_base >> 8) & 255}.{ip_base & 255}"
        yield RequestEvent(
            event_id=f"evt-{i:09d}",
            ts=round(_START + offset, 3),
            account_id=p["account_id"],
            org_id=p["org_id"],
            api_key_id=f"key-{a:07d}",
            ip=f"{ip}.{rng.randrange(1, 255)}",
            asn=rng.choice(p["asns"]),
            country="US",
            user_agent=p["ua"],
            model=_MODELS[a % 3] if not campaign else _MODELS[1],
            endpoint="/v1/chat/completions",
            prompt=None,
            system_prompt=None,
            prompt_tokens=rng.randrange(20, 800),
            completion_tokens=rng.randrange(50, 3000) if campaign else rng.randrange(20, 600),
            response_format="json_object" if campaign else "text",
            temperature=0.7 if campaign else round(rng.uniform(0, 1), 1),
            n=1,
            stream=not campaign,
            status=200,
            latency_ms=900.0,
            account_created_at=p["created"],
            payment_fingerprint=p["pay"],
            prompt_fingerprint=p["fp"],
        )
