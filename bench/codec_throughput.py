"""Throughput of the request-event codec against bare ``orjson.loads`` in the same run.

Run from the repository root:  .venv/bin/python -m bench.codec_throughput [--events N]

Prints one JSON object.  The events imitate gateway traffic: prompts from a few
words to several kilobytes, some system prompts, a share of privacy-mode events
carrying a MinHash fingerprint instead of text, and a share with unknown extra
fields.  Each measurement is the best of ``--repeat`` passes, which removes
most scheduler noise on a shared machine.
"""

from __future__ import annotations

import argparse
import platform
import random
import sys
import time
from collections.abc import Callable
from importlib.metadata import version

import orjson

from streams.records import PromptFingerprint, RequestEvent
from streams.wire.codecs import decode_request, decode_requests, encode

_WORDS = (
    "explain",
    "translate",
    "summarise",
    "classify",
    "answer",
    "reason",
    "step",
    "carefully",
    "json",
    "schema",
    "output",
    "python",
    "function",
    "error",
    "proof",
    "theorem",
    "derive",
    "list",
    "table",
    "compare",
    "history",
    "physics",
    "chemistry",
    "biology",
    "law",
    "contract",
    "poem",
    "story",
    "dialogue",
    "persona",
    "customer",
    "support",
    "code",
    "review",
    "refactor",
)
_MODELS = ("frontier-large", "frontier-medium", "frontier-small")
_FORMATS = ("text", "text", "json_object", "json_schema")


def realistic_events(count: int, seed: int) -> list[RequestEvent]:
    rng = random.Random(seed)
    start = 1_740_830_400.0
    events = []
    for index in range(count):
        words = max(3, int(rng.lognormvariate(4.0, 1.0)))
        prompt = " ".join(rng.choice(_WORDS) for _ in range(min(words, 1500)))
        private = rng.random() < 0.1
        events.append(
            RequestEvent(
                event_id=f"evt-{seed}-{index:08d}",
                ts=start + index * 0.01,
                account_id=f"acct-{rng.randrange(5000):05d}",
                org_id=f"org-{rng.randrange(800):04d}",
                api_key_id=f"key-{rng.randrange(9000):05d}",
                ip=f"198.51.{rng.randrange(256)}.{rng.randrange(256)}",
                asn=rng.choice((64512, 13335, 16509, 14061, 24940)),
                country=rng.choice(("US", "DE", "SG", "BR", "IN", "ZZ")),
                user_agent=rng.choice(("python-httpx/0.27.0", "OpenAI/Python 1.40.0", "curl/8.5")),
                model=rng.choice(_MODELS),
                endpoint="/v1/chat/completions",
                prompt=None if private else prompt,
                system_prompt=(
                    "You are a helpful assistant. Answer concisely."
                    if not private and rng.random() < 0.4
                    else None
                ),
                prompt_tokens=words * 4 // 3,
                completion_tokens=rng.randrange(20, 2000),
                response_format=rng.choice(_FORMATS),
                temperature=round(rng.uniform(0, 1.2), 2),
                n=rng.choice((1, 1, 1, 2, 4)),
                stream=rng.random() < 0.5,
                status=rng.choice((200,) * 19 + (429,)),
                latency_ms=round(rng.uniform(80, 9000), 1),
                account_created_at=start - rng.uniform(0, 400 * 86400),
                payment_fingerprint=f"pf-{rng.randrange(3000):04d}" if rng.random() < 0.8 else None,
                prompt_fingerprint=(
                    PromptFingerprint(
                        template_id=f"tpl-{rng.randrange(500)}",
                        minhash=tuple(rng.getrandbits(64) for _ in range(128)),
                    )
                    if private
                    else None
                ),
                extra={"gateway_region": "eu-west-1"} if rng.random() < 0.2 else {},
            )
        )
    return events


def best_seconds(run: Callable[[], object], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - started)
    return best


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)

    events = realistic_events(args.events, args.seed)
    raws = [encode(event) for event in events]
    with_coordinates = [
        (raw, "distillwatch.requests.v1", 0, offset) for offset, raw in enumerate(raws)
    ]
    decoded = decode_requests(raws)
    rejected = sum(not isinstance(result, RequestEvent) for result in decoded)

    def per_second(seconds: float) -> float:
        return round(args.events / seconds)

    loads = per_second(best_seconds(lambda: [orjson.loads(raw) for raw in raws], args.repeat))
    batch = per_second(best_seconds(lambda: decode_requests(raws), args.repeat))
    batch_coords = per_second(best_seconds(lambda: decode_requests(with_coordinates), args.repeat))
    single = per_second(best_seconds(lambda: [decode_request(raw) for raw in raws], args.repeat))
    encoded = per_second(best_seconds(lambda: [encode(event) for event in events], args.repeat))

    report = {
        "name": "codec_throughput",
        "python": platform.python_version(),
        "orjson": version("orjson"),
        "fastjsonschema": version("fastjsonschema"),
        "events": args.events,
        "repeat": args.repeat,
        "seed": args.seed,
        "mean_event_bytes": round(sum(map(len, raws)) / len(raws)),
        "dead_letters": rejected,
        "events_per_s": {
            "orjson_loads_baseline": loads,
            "decode_requests_batch": batch,
            "decode_requests_batch_with_coordinates": batch_coords,
            "decode_request_single": single,
            "encode": encoded,
        },
        "decode_cost_vs_orjson_loads": round(loads / batch, 1),
    }
    sys.stdout.write(orjson.dumps(report).decode() + "\n")
    return 0 if rejected == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
