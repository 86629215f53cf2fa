"""The command line turns any expected failure into one line on stderr and an exit status of
its kind (``tests/agents/cli/test_failures.py`` runs every command against a dead broker)."""

from __future__ import annotations

import pytest

from agents import cli
from agents.cli import replay
from streams.errors import (
    DeliveryError,
    DistillWatchError,
    InputFileError,
    KafkaConnectionError,
    KafkaRequestError,
    TopicReadError,
    TopicsFileError,
)


def test_an_expected_failure_is_one_line(monkeypatch, tmp_path, capsys):
    def refuse(args):
        raise TopicsFileError("distillwatch.requests.v1 is not declared in topics.toml")

    monkeypatch.setattr(replay, "run", refuse)
    assert cli.main(["replay", "--input", str(tmp_path / "events.jsonl")]) == cli.EXIT_INPUT
    assert capsys.readouterr().err == (
        "distillwatch replay: distillwatch.requests.v1 is not declared in topics.toml\n"
    )


def test_a_programming_error_is_not_hidden(monkeypatch, tmp_path):
    def broken(args):
        raise KeyError("a bug")

    monkeypatch.setattr(replay, "run", broken)
    with pytest.raises(KeyError):
        cli.main(["replay", "--input", str(tmp_path / "events.jsonl")])


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (KafkaConnectionError("cannot reach Kafka"), cli.EXIT_KAFKA),
        (TopicsFileError("bad file"), cli.EXIT_INPUT),
        (InputFileError("not JSON"), cli.EXIT_INPUT),
        (FileNotFoundError(2, "No such file or directory", "x.jsonl"), cli.EXIT_INPUT),
        (TopicReadError("topic 'x' does not exist"), cli.EXIT_FAILED),
        (DeliveryError("not all records reached t"), cli.EXIT_FAILED),
        (TimeoutError("t[0] before offset 3 stalled"), cli.EXIT_FAILED),
    ],
)
def test_exit_status_by_kind_of_failure(error, code):
    assert cli.exit_code(error) == code


def test_invalid_settings_name_the_variable_and_never_the_value(monkeypatch, capsys):
    from agents.settings import get_settings

    get_settings.cache_clear()
    monkeypatch.setenv("DISTILLWATCH_KAFKA__SECURITY_PROTOCOL", "SASL_PLAINTEXT")
    monkeypatch.setenv("DISTILLWATCH_KAFKA__SASL_PASSWORD", "hunter2-secret")
    try:
        assert cli.main(["alerts", "tail", "--no-follow"]) == cli.EXIT_INPUT
    finally:
        get_settings.cache_clear()
    err = capsys.readouterr().err
    assert err.startswith("distillwatch alerts tail: invalid settings: DISTILLWATCH_KAFKA: ")
    assert err.count("\n") == 1 and "hunter2-secret" not in err


def test_a_kafka_exception_becomes_one_line_naming_broker_and_protocol():
    from confluent_kafka import KafkaError, KafkaException

    from agents.kafka.clients import kafka_failure
    from agents.settings import KafkaSecurity

    down = kafka_failure(
        "b:9092", KafkaException(KafkaError(KafkaError._TRANSPORT, "broker gone")), KafkaSecurity()
    )
    assert isinstance(down, KafkaConnectionError)
    assert str(down) == "cannot reach Kafka at b:9092 (PLAINTEXT): broker gone"
    denied = kafka_failure(
        "b:9092",
        KafkaException(KafkaError(KafkaError.TOPIC_AUTHORIZATION_FAILED, "not allowed")),
        KafkaSecurity(),
    )
    assert isinstance(denied, KafkaRequestError) and cli.exit_code(denied) == cli.EXIT_FAILED
    assert str(denied) == "Kafka at b:9092 (PLAINTEXT) refused a request: not allowed"


def test_every_command_says_whether_it_talks_to_kafka():
    import importlib

    for module_name, _help in cli.COMMANDS.values():
        assert callable(importlib.import_module(module_name).kafka_servers), module_name


def test_every_project_exception_has_the_one_root():
    import streams.errors as errors

    classes = [v for v in vars(errors).values() if isinstance(v, type) and issubclass(v, Exception)]
    assert len(classes) > 5
    assert all(issubclass(c, DistillWatchError) for c in classes)
