"""The command line turns any expected failure into one line on stderr and exit status 1."""

from __future__ import annotations

import pytest

from agents import cli
from agents.cli import replay
from streams.errors import DistillWatchError, TopicsFileError


def test_an_expected_failure_is_one_line(monkeypatch, tmp_path):
    def refuse(args):
        raise TopicsFileError("distillwatch.requests.v1 is not declared in topics.toml")

    monkeypatch.setattr(replay, "run", refuse)
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["replay", "--input", str(tmp_path / "events.jsonl")])
    assert exit_info.value.code == (
        "distillwatch replay: distillwatch.requests.v1 is not declared in topics.toml"
    )


def test_every_project_exception_has_the_one_root():
    import streams.errors as errors

    classes = [v for v in vars(errors).values() if isinstance(v, type) and issubclass(v, Exception)]
    assert len(classes) > 5
    assert all(issubclass(c, DistillWatchError) for c in classes)
