"""infra/topics.toml parsing and the pure planning step of `distillwatch topics`."""

from __future__ import annotations

import tomllib

import pytest

from agents.kafka.topics import TopicSpec, TopicState, load_topics, parse_topics, plan
from agents.settings import INTERNAL_TOPICS, REPO_ROOT, ServiceSettings, TopicNames
from streams.errors import TopicsFileError

SPEC = TopicSpec(
    "events", partitions=4, replication_factor=1, config={"cleanup.policy": "compact,delete"}
)


def test_project_file_declares_every_topic_the_service_uses():
    declared = {spec.name: spec for spec in load_topics(REPO_ROOT / "infra" / "topics.toml")}
    names = {*TopicNames().model_dump().values(), *INTERNAL_TOPICS.values()}
    assert set(declared) == names
    service = ServiceSettings()
    assert {
        service.coordination_topic,
        service.account_state_topic,
        service.coordination_state_topic,
    } == set(INTERNAL_TOPICS.values())
    assert declared["distillwatch.signatures.v1"].config["cleanup.policy"] == "compact"
    assert declared["distillwatch.requests.v1"].partitions >= 4


def test_config_values_become_broker_strings():
    document = tomllib.loads(
        """
[[topics]]
name = "t"
partitions = 1
replication_factor = 1
[topics.config]
"retention.ms" = 3600000
"min.cleanable.dirty.ratio" = 0.5
"unclean.leader.election.enable" = false
"cleanup.policy" = "delete"
"""
    )
    (spec,) = parse_topics(document)
    assert spec.config == {
        "retention.ms": "3600000",
        "min.cleanable.dirty.ratio": "0.5",
        "unclean.leader.election.enable": "false",
        "cleanup.policy": "delete",
    }


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({}, "at least one"),
        ({"topics": [], "extra": 1}, "unknown top-level"),
        ({"topics": [{"name": "a b", "partitions": 1, "replication_factor": 1}]}, "name must"),
        ({"topics": [{"name": "a", "partitions": 0, "replication_factor": 1}]}, "partitions"),
        ({"topics": [{"name": "a", "partitions": True, "replication_factor": 1}]}, "partitions"),
        ({"topics": [{"name": "a", "partitions": 1}]}, "replication_factor"),
        ({"topics": [{"name": "a", "partitions": 1, "replication_factor": 1, "x": 1}]}, "unknown"),
        (
            {"topics": [{"name": "a", "partitions": 1, "replication_factor": 1, "config": 3}]},
            "config must be a table",
        ),
        (
            {
                "topics": [
                    {"name": "a", "partitions": 1, "replication_factor": 1},
                    {"name": "a", "partitions": 2, "replication_factor": 1},
                ]
            },
            "declared twice",
        ),
    ],
)
def test_malformed_declarations_are_rejected(document, message):
    with pytest.raises(TopicsFileError, match=message):
        parse_topics(document)


def test_unreadable_file_is_a_topics_file_error(tmp_path):
    broken = tmp_path / "topics.toml"
    broken.write_text("[[topics]\n")
    with pytest.raises(TopicsFileError, match=str(broken)):
        load_topics(broken)


def test_missing_topic_is_created_with_its_config():
    (change,) = plan([SPEC], {})
    assert change.as_dict() == {
        "action": "create",
        "topic": "events",
        "partitions": 4,
        "replication_factor": 1,
        "config": {"cleanup.policy": "compact,delete"},
    }


def test_matching_topic_needs_nothing_even_with_spacing_differences():
    spaced = TopicSpec("events", 4, 1, {"cleanup.policy": "compact, delete"})
    assert plan([spaced], {"events": TopicState(4, 1, {"cleanup.policy": "compact,delete"})}) == []


def test_more_declared_partitions_are_added_and_drift_is_reported():
    state = TopicState(partitions=2, replication_factor=1, config={"cleanup.policy": "delete"})
    changes = [change.as_dict() for change in plan([SPEC], {"events": state})]
    assert changes == [
        {"action": "add_partitions", "topic": "events", "from": 2, "to": 4},
        {
            "action": "alter_config",
            "topic": "events",
            "changes": {"cleanup.policy": {"from": "delete", "to": "compact,delete"}},
        },
    ]


def test_fewer_declared_partitions_or_other_replication_is_an_error():
    state = TopicState(
        partitions=8, replication_factor=3, config={"cleanup.policy": "compact,delete"}
    )
    changes = plan([SPEC], {"events": state})
    assert [change.action for change in changes] == ["error", "error"]
    assert "cannot remove partitions" in changes[0].describe()
    assert "replication factor 3" in changes[1].describe()
