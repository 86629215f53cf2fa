"""`distillwatch topics` on the real broker: create, converge, repair drift, never shrink."""

from __future__ import annotations

import json

import pytest
from confluent_kafka.admin import (
    AlterConfigOpType,
    ConfigEntry,
    ConfigResource,
    ResourceType,
)

from agents.cli import main

pytestmark = pytest.mark.kafka


@pytest.fixture
def declared(kafka_admin, run_id, tmp_path):
    """A declarations file with two fresh topics; ``write`` rewrites it with other partitions."""
    events, registry = f"test.apply.events.{run_id}", f"test.apply.registry.{run_id}"
    path = tmp_path / "topics.toml"

    def write(events_partitions: int = 2) -> None:
        path.write_text(
            f"""
[[topics]]
name = "{events}"
partitions = {events_partitions}
replication_factor = 1
[topics.config]
"cleanup.policy" = "delete"
"retention.ms" = 3600000

[[topics]]
name = "{registry}"
partitions = 1
replication_factor = 1
[topics.config]
"cleanup.policy" = "compact"
"min.cleanable.dirty.ratio" = 0.2
"""
        )

    write()
    yield path, write, events, registry
    existing = kafka_admin.list_topics(timeout=10).topics
    doomed = [name for name in (events, registry) if name in existing]
    if doomed:
        for future in kafka_admin.delete_topics(doomed, operation_timeout=30).values():
            future.result()


def apply(path, capsys, *extra: str) -> tuple[int, dict]:
    code = main(["topics", "--file", str(path), "--json", *extra])
    return code, json.loads(capsys.readouterr().out)


def broker_config(admin, topic: str, key: str) -> str:
    resource = ConfigResource(ResourceType.TOPIC, topic)
    return admin.describe_configs([resource])[resource].result()[key].value


def partition_count(admin, topic: str) -> int:
    return len(admin.list_topics(topic, timeout=10).topics[topic].partitions)


def test_apply_creates_then_changes_nothing(kafka_admin, declared, capsys):
    path, _, events, registry = declared

    code, first = apply(path, capsys)
    assert code == 0
    assert [(change["action"], change["topic"]) for change in first["changes"]] == [
        ("create", events),
        ("create", registry),
    ]
    assert partition_count(kafka_admin, events) == 2
    assert broker_config(kafka_admin, events, "retention.ms") == "3600000"
    assert broker_config(kafka_admin, registry, "cleanup.policy") == "compact"
    assert broker_config(kafka_admin, registry, "min.cleanable.dirty.ratio") == "0.2"

    code, second = apply(path, capsys)
    assert code == 0
    assert second["changes"] == [] and second["errors"] == []
    assert second["unchanged"] == [events, registry]


def test_config_drift_is_altered_back(kafka_admin, declared, capsys):
    path, _, events, _ = declared
    apply(path, capsys)
    drift = ConfigResource(
        ResourceType.TOPIC,
        events,
        incremental_configs=[
            ConfigEntry("retention.ms", "60000", incremental_operation=AlterConfigOpType.SET)
        ],
    )
    kafka_admin.incremental_alter_configs([drift])[drift].result()

    code, report = apply(path, capsys)

    assert code == 0
    assert report["changes"] == [
        {
            "action": "alter_config",
            "topic": events,
            "changes": {"retention.ms": {"from": "60000", "to": "3600000"}},
        }
    ]
    assert broker_config(kafka_admin, events, "retention.ms") == "3600000"
    assert apply(path, capsys)[1]["changes"] == []


def test_partitions_grow_but_never_shrink(kafka_admin, declared, capsys):
    path, write, events, _ = declared
    apply(path, capsys)

    write(events_partitions=4)
    code, grown = apply(path, capsys)
    assert code == 0
    assert grown["changes"] == [{"action": "add_partitions", "topic": events, "from": 2, "to": 4}]
    assert partition_count(kafka_admin, events) == 4

    write(events_partitions=3)
    code, refused = apply(path, capsys)
    assert code == 1
    assert [error["topic"] for error in refused["errors"]] == [events]
    assert "cannot remove partitions" in refused["errors"][0]["reason"]
    assert partition_count(kafka_admin, events) == 4


def test_dry_run_reports_without_creating(kafka_admin, declared, capsys):
    path, _, events, registry = declared

    code, report = apply(path, capsys, "--dry-run")

    assert code == 0 and report["dry_run"] is True
    assert [change["topic"] for change in report["changes"]] == [events, registry]
    assert events not in kafka_admin.list_topics(timeout=10).topics


def test_project_declarations_apply_cleanly(capsys):
    code, report = apply("infra/topics.toml", capsys, "--dry-run")
    assert code == 0, report["errors"]
