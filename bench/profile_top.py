"""Top functions of a py-spy ``--format raw`` (folded stacks) profile, as JSON.

Usage: ``.venv/bin/python -m bench.profile_top FILE.folded [--top 15]``

Self share is where the interpreter was when sampled; inclusive share counts a function once
per sample wherever it is on the stack.  Line numbers are dropped so a function is one row.
"""

from __future__ import annotations

import argparse
import re
from collections import Counter
from pathlib import Path

from bench.common import emit

_LINE = re.compile(r":\d+\)$")


def top_functions(path: Path, top: int) -> dict:
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack:
            continue
        n = int(count)
        total += n
        frames = [_LINE.sub(")", f) for f in stack.split(";")]
        own[frames[-1]] += n
        for frame in set(frames):
            inclusive[frame] += n

    def shares(counter: Counter[str]) -> list[list]:
        return [[name, round(100 * n / total, 1)] for name, n in counter.most_common(top)]

    return {"samples": total, "self_pct": shares(own), "inclusive_pct": shares(inclusive)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folded", type=Path)
    parser.add_argument("--top", type=int, default=15)
    args = parser.parse_args()
    emit("profile", file=str(args.folded), **top_functions(args.folded, args.top))


if __name__ == "__main__":
    main()
