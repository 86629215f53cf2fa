"""The gateway's side of a simulated call: rate limits, status, tokens and latency.

Populations decide *when* an account calls and *what* it sends; ``Client``
plays the API: it enforces the account's per-minute limit (answering 429, which
clients then back off from), fails a small share of calls, and bills tokens and
latency consistent with the prompt, the task and the model.
"""

from __future__ import annotations

import math
import random
import uuid
from collections import deque
from dataclasses import dataclass

from streams.records import RequestEvent, ResponseFormat
from streams.simulation.network import Address
from streams.simulation.prompts import Prompt

CHAT_COMPLETIONS = "/v1/chat/completions"
MESSAGES = "/v1/messages"
MODEL_PRO = "frontier-pro-2025-01"
MODEL_STANDARD = "frontier-2025-01"
MODEL_MINI = "frontier-mini-2024-11"
MODELS = (MODEL_PRO, MODEL_STANDARD, MODEL_MINI)

# Requests per minute by tier.  New and unpaid accounts get the low tier, which
# is why a harvesting operation needs so many accounts.
RPM_NEW_OR_FREE = 3
RPM_ESTABLISHED = 60
RPM_HIGH_VOLUME = 6000
NEW_ACCOUNT_S = 30 * 86400

# completion length by task kind: (median tokens, log-normal sigma)
_COMPLETION = {
    "code": (380, 0.6),
    "chat": (230, 0.6),
    "writing": (320, 0.5),
    "long_form": (650, 0.45),
    "math": (280, 0.6),
    "reasoning": (420, 0.5),
    "json": (140, 0.6),
    "translate": (45, 0.5),
    "classify": (14, 0.35),
    "extract": (75, 0.35),
    "short": (110, 0.7),
    "review": (260, 0.5),
}
# (time to first token ms, ms per generated token) by model
_SPEED = {MODEL_PRO: (520.0, 31.0), MODEL_STANDARD: (330.0, 17.0), MODEL_MINI: (190.0, 7.5)}
_ERROR_SHARE = 0.003


def rate_limit_for(created_at: float | None, paid: bool, now: float) -> int:
    """Per-minute limit the API grants an ordinary self-serve account."""
    if not paid or created_at is None or now - created_at < NEW_ACCOUNT_S:
        return RPM_NEW_OR_FREE
    return RPM_ESTABLISHED


@dataclass(frozen=True, slots=True)
class Account:
    """Static facts the gateway knows about an account."""

    account_id: str
    org_id: str
    api_key_ids: tuple[str, ...]
    created_at: float | None
    payment_fingerprint: str | None
    rpm_limit: int


def count_tokens(text: str) -> int:
    """Approximate tokenizer: ~4 characters per token for Latin text, ~1 per CJK character."""
    extra = len(text.encode()) - len(text)
    wide = extra // 2
    return max(1, round((len(text) - wide) / 4 + wide * 0.9))


class Client:
    """One account's calls as the gateway records them, appended to ``events``."""

    __slots__ = ("_recent", "account", "events", "rng")

    def __init__(self, account: Account, rng: random.Random) -> None:
        self.account = account
        self.rng = rng
        self.events: list[RequestEvent] = []
        self._recent: deque[float] = deque()

    def send(
        self,
        ts: float,
        prompt: Prompt,
        *,
        address: Address,
        user_agent: str,
        model: str,
        endpoint: str = CHAT_COMPLETIONS,
        system_prompt: str | None = None,
        response_format: ResponseFormat = "text",
        temperature: float = 1.0,
        stream: bool = False,
        n: int = 1,
        context_tokens: int = 0,
        key: int = 0,
        cot: bool = False,
    ) -> int:
        """Record one call at event time ``ts`` and return the HTTP status it got."""
        rng = self.rng
        ts = round(ts, 3)
        recent = self._recent
        while recent and recent[0] <= ts - 60.0:
            recent.popleft()
        if len(recent) >= self.account.rpm_limit:
            status = 429
        else:
            recent.append(ts)
            status = 500 if rng.random() < _ERROR_SHARE else 200
        if status == 200:
            prompt_tokens = count_tokens(prompt.text) + context_tokens + 8
            if system_prompt:
                prompt_tokens += count_tokens(system_prompt) + 4
            median, sigma = _COMPLETION.get(prompt.kind, _COMPLETION["chat"])
            if cot:
                median *= 1.9
            if response_format != "text" and not cot:
                median *= 0.75
            completion = min(8192, n * max(1, round(median * rng.lognormvariate(0, sigma))))
            ttft, per_token = _SPEED[model]
            latency = (ttft + 0.05 * prompt_tokens) * rng.lognormvariate(0, 0.35) + (
                completion * per_token * rng.lognormvariate(0, 0.2)
            )
        elif status == 429:
            prompt_tokens, completion, latency = 0, 0, rng.uniform(4.0, 30.0)
        else:
            prompt_tokens, completion = 0, 0
            latency = min(60000.0, 1500.0 * rng.lognormvariate(0, 1.0))
        self.events.append(
            RequestEvent(
                event_id=str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                ts=ts,
                account_id=self.account.account_id,
                org_id=self.account.org_id,
                api_key_id=self.account.api_key_ids[key % len(self.account.api_key_ids)],
                ip=address.ip,
                asn=address.asn,
                country=address.country,
                user_agent=user_agent,
                model=model,
                endpoint=endpoint,
                prompt=prompt.text,
                system_prompt=system_prompt,
                prompt_tokens=prompt_tokens,
                completion_tokens=completion,
                response_format=response_format,
                temperature=temperature,
                n=n,
                stream=stream,
                status=status,
                latency_ms=round(latency, 1),
                account_created_at=self.account.created_at,
                payment_fingerprint=self.account.payment_fingerprint,
            )
        )
        return status


# Relative activity of people by local hour of day (0-23).
HUMAN_DAY = (
    0.12,
    0.07,
    0.04,
    0.03,
    0.03,
    0.05,
    0.12,
    0.3,
    0.55,
    0.8,
    0.95,
    1.0,
    0.9,
    0.92,
    0.98,
    1.0,
    0.95,
    0.85,
    0.7,
    0.68,
    0.72,
    0.66,
    0.48,
    0.25,
)
# Activity of people at work by local hour (weekday office hours with a lunch dip).
OFFICE_DAY = (
    0.0,
    0.0,
    0.0,
    0.0,
    0.0,
    0.0,
    0.02,
    0.15,
    0.7,
    1.0,
    1.0,
    0.95,
    0.55,
    0.85,
    1.0,
    0.95,
    0.85,
    0.5,
    0.15,
    0.05,
    0.03,
    0.02,
    0.0,
    0.0,
)


def activity(curve: tuple[float, ...], ts: float, utc_offset_h: float) -> float:
    """Value of a daily curve at event time ``ts`` for people at ``utc_offset_h``, interpolated."""
    hour = ((ts / 3600.0) + utc_offset_h) % 24.0
    low = int(hour)
    frac = hour - low
    return curve[low] * (1 - frac) + curve[(low + 1) % 24] * frac


def mean_activity(curve: tuple[float, ...], start: float, end: float, utc_offset_h: float) -> float:
    """Average of ``curve`` over [start, end), sampled every ten minutes."""
    steps = max(1, math.ceil((end - start) / 600.0))
    return sum(activity(curve, start + i * 600.0, utc_offset_h) for i in range(steps)) / steps


def sample_time(
    rng: random.Random, start: float, end: float, curve: tuple[float, ...], utc_offset_h: float
) -> float:
    """A time in [start, end) drawn with density proportional to the daily curve."""
    peak = max(
        activity(curve, start + i * 600.0, utc_offset_h)
        for i in range(max(1, math.ceil((end - start) / 600.0)) + 1)
    )
    if peak <= 0.0:
        return rng.uniform(start, end)
    while True:
        t = rng.uniform(start, end)
        if rng.random() * peak <= activity(curve, t, utc_offset_h):
            return t


def poisson_times(
    rng: random.Random,
    start: float,
    end: float,
    rate_per_s: float,
    curve: tuple[float, ...] | None = None,
    utc_offset_h: float = 0.0,
    floor: float = 0.0,
) -> list[float]:
    """Arrival times of a Poisson process at peak rate ``rate_per_s``, thinned by a daily curve.

    ``floor`` is the share of the peak rate that persists at the curve's lowest point
    (a product with customers in every timezone never goes quiet).
    """
    times: list[float] = []
    t = start
    while True:
        t += rng.expovariate(rate_per_s)
        if t >= end:
            return times
        if curve is None or rng.random() <= floor + (1 - floor) * activity(curve, t, utc_offset_h):
            times.append(t)


def poisson(rng: random.Random, mean: float) -> int:
    """A Poisson variate (Knuth's method; the means used here are small)."""
    limit, k, p = math.exp(-mean), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1
