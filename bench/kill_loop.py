"""Run the random kill test in a loop: the acceptance check of stuck-partition recovery.

``python -m bench.kill_loop --runs 20`` runs
``tests/service/test_faults.py::test_workers_killed_at_random_points_end_with_the_uninterrupted_alerts``
once per run (a pytest process each, on the development broker), cycling through four kinds
of run: the seed that reproduced the stuck partition about half the time (3583338938) and a
fresh random seed, each on an otherwise idle machine and with one CPU core kept busy by a
spinning process.  One JSON object per run, then a summary; exit status 1 if any run failed.
Not part of ``make test``: it takes about a minute a run.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import random
import re
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
TEST = (
    "tests/service/test_faults.py::"
    "test_workers_killed_at_random_points_end_with_the_uninterrupted_alerts"
)
REPRODUCING_SEED = 3583338938


def _spin() -> None:
    while True:
        pass


def run_once(seed: int, busy: bool, basetemp: Path) -> dict[str, object]:
    spinner = multiprocessing.Process(target=_spin, daemon=True) if busy else None
    if spinner is not None:
        spinner.start()
    started = time.monotonic()
    try:
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "pytest",
                TEST,
                "-q",
                "-s",
                "-p",
                "no:cacheprovider",
                f"--basetemp={basetemp}",
            ],
            cwd=REPO,
            env={**os.environ, "DISTILLWATCH_FAULT_SEED": str(seed)},
            capture_output=True,
            text=True,
            check=False,
        )
    finally:
        if spinner is not None:
            spinner.terminate()
            spinner.join()
    kills = re.findall(r"^kill \d+: .*$", result.stdout, re.M)
    failure = [line for line in result.stdout.splitlines() if line.startswith("E ")][:3]
    return {
        "seed": seed,
        "busy_core": busy,
        "passed": result.returncode == 0,
        "seconds": round(time.monotonic() - started, 1),
        "kills": kills,
        **({"failure": failure} if result.returncode else {}),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--basetemp", type=Path, default=REPO / "var" / "kill-loop")
    args = parser.parse_args()
    rng = random.SystemRandom()
    results = []
    for n in range(args.runs):
        seed = REPRODUCING_SEED if n % 2 == 0 else rng.randrange(2**32)
        busy = (n // 2) % 2 == 1
        row = {"name": "kill_loop.run", "run": n + 1, **run_once(seed, busy, args.basetemp)}
        print(json.dumps(row), flush=True)
        results.append(row)
    passed = sum(bool(r["passed"]) for r in results)
    print(json.dumps({"name": "kill_loop", "runs": len(results), "passed": passed}), flush=True)
    return 0 if passed == len(results) else 1


if __name__ == "__main__":
    sys.exit(main())
