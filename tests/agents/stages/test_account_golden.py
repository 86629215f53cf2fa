"""The native account stage gives the former Python stage's bytes: envelopes, dead letters,
alerts, actions, counters and checkpoints, with caps, signatures, hostile records and a
restart (``account_golden.py`` says how the golden file was made)."""

from __future__ import annotations

import gzip
from pathlib import Path

from tests.agents.stages.account_golden import run, values_of

GOLDEN = Path(__file__).parent / "data" / "account_golden.jsonl.gz"


def test_the_native_stage_reproduces_the_python_stage_byte_for_byte(tmp_path):
    out = tmp_path / "golden.jsonl"
    run(values_of(None, 2000), out)
    want = gzip.decompress(GOLDEN.read_bytes()).splitlines()
    got = out.read_bytes().splitlines()
    assert len(got) == len(want)
    for number, (line, expected) in enumerate(zip(got, want, strict=True)):
        assert line == expected, f"batch line {number} differs"
