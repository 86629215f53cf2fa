"""The declared topics of infra/topics.toml, planned against the broker and applied
(``distillwatch topics``), and where Kafka puts a key.

Topics are declared, never auto-created, so a deployment's topic layout is reviewed like code.
Applying is idempotent: a second run changes nothing.  Partition counts only grow, because
shrinking would remap keys to other partitions behind the back of every keyed table; a topic
with more partitions than declared is reported as an error for a human to resolve.

Planning (:func:`plan`) is pure so it can be tested without a broker; :func:`apply` is the
thin shell that talks to Kafka with confluent-kafka's AdminClient.
"""

from __future__ import annotations

import re
import time
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from streams.errors import TopicsFileError

if TYPE_CHECKING:
    from confluent_kafka.admin import AdminClient

# Kafka's own rule for topic names (kafka.common.internals.Topic).
_LEGAL_NAME = re.compile(r"[a-zA-Z0-9._-]{1,249}")
_TOPIC_KEYS = frozenset({"name", "partitions", "replication_factor", "config"})


@dataclass(frozen=True, slots=True)
class TopicSpec:
    """One declared topic; config values are strings, as the broker reports them."""

    name: str
    partitions: int
    replication_factor: int
    config: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class TopicState:
    """What the broker has for a topic, restricted to the config keys that are declared."""

    partitions: int
    replication_factor: int
    config: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Change:
    """One step towards the declared state, or an error that needs a human.

    ``action`` is ``create``, ``add_partitions``, ``alter_config`` or ``error``; ``detail``
    holds what the step does and is what ``--json`` prints next to it.
    """

    action: str
    topic: str
    detail: Mapping[str, Any]

    def as_dict(self) -> dict[str, Any]:
        return {"action": self.action, "topic": self.topic, **self.detail}

    def describe(self) -> str:
        detail = self.detail
        if self.action == "create":
            config = "".join(f" {key}={value}" for key, value in detail["config"].items())
            return (
                f"create {self.topic} partitions={detail['partitions']} "
                f"replication_factor={detail['replication_factor']}{config}"
            )
        if self.action == "add_partitions":
            return f"add_partitions {self.topic} {detail['from']} -> {detail['to']}"
        if self.action == "alter_config":
            changes = ", ".join(
                f"{key}: {values['from']} -> {values['to']}"
                for key, values in detail["changes"].items()
            )
            return f"alter_config {self.topic} {changes}"
        return f"error {self.topic}: {detail['reason']}"


def _config_value(value: object, where: str) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | str):
        return str(value)
    raise TopicsFileError(f"{where}: config values must be strings, numbers or booleans")


def _positive_int(entry: Mapping[str, Any], key: str, where: str) -> int:
    value = entry.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise TopicsFileError(f"{where}: {key} must be a positive integer, got {value!r}")
    return value


def parse_topics(document: Mapping[str, Any], source: str = "topics file") -> list[TopicSpec]:
    """Validate a parsed declarations document; errors name the offending entry."""
    unknown = set(document) - {"topics"}
    if unknown:
        raise TopicsFileError(f"{source}: unknown top-level keys {sorted(unknown)}")
    entries = document.get("topics")
    if not isinstance(entries, list) or not entries:
        raise TopicsFileError(f"{source}: declare at least one [[topics]] table")
    specs: list[TopicSpec] = []
    seen: set[str] = set()
    for index, entry in enumerate(entries):
        name = entry.get("name")
        where = f"{source}: topic #{index + 1} ({name!r})"
        unknown = set(entry) - _TOPIC_KEYS
        if unknown:
            raise TopicsFileError(f"{where}: unknown keys {sorted(unknown)}")
        if not isinstance(name, str) or not _LEGAL_NAME.fullmatch(name) or name in {".", ".."}:
            raise TopicsFileError(f"{where}: name must be 1-249 characters of [a-zA-Z0-9._-]")
        if name in seen:
            raise TopicsFileError(f"{where}: declared twice")
        seen.add(name)
        config = entry.get("config", {})
        if not isinstance(config, dict):
            raise TopicsFileError(f"{where}: config must be a table")
        specs.append(
            TopicSpec(
                name=name,
                partitions=_positive_int(entry, "partitions", where),
                replication_factor=_positive_int(entry, "replication_factor", where),
                config={key: _config_value(value, where) for key, value in config.items()},
            )
        )
    return specs


def load_topics(path: Path) -> list[TopicSpec]:
    """Read and validate a declarations file (TOML)."""
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise TopicsFileError(f"{path}: {error}") from error
    return parse_topics(document, source=str(path))


def _normalise(value: str | None) -> str | None:
    """Compare list configs ("compact, delete") the way the broker stores them."""
    return None if value is None else ",".join(part.strip() for part in value.split(","))


def plan(specs: Sequence[TopicSpec], existing: Mapping[str, TopicState]) -> list[Change]:
    """The changes that bring ``existing`` to ``specs``, in declaration order."""
    changes: list[Change] = []
    for spec in specs:
        state = existing.get(spec.name)
        if state is None:
            changes.append(
                Change(
                    "create",
                    spec.name,
                    {
                        "partitions": spec.partitions,
                        "replication_factor": spec.replication_factor,
                        "config": dict(spec.config),
                    },
                )
            )
            continue
        if state.partitions > spec.partitions:
            reason = (
                f"has {state.partitions} partitions but {spec.partitions} are declared; Kafka "
                "cannot remove partitions: raise the declaration or recreate the topic"
            )
            changes.append(Change("error", spec.name, {"reason": reason}))
        elif state.partitions < spec.partitions:
            changes.append(
                Change(
                    "add_partitions", spec.name, {"from": state.partitions, "to": spec.partitions}
                )
            )
        if state.replication_factor != spec.replication_factor:
            reason = (
                f"has replication factor {state.replication_factor} but "
                f"{spec.replication_factor} is declared; change it with a partition reassignment"
            )
            changes.append(Change("error", spec.name, {"reason": reason}))
        drift = {
            key: {"from": state.config.get(key), "to": value}
            for key, value in spec.config.items()
            if _normalise(state.config.get(key)) != _normalise(value)
        }
        if drift:
            changes.append(Change("alter_config", spec.name, {"changes": drift}))
    return changes


# --- the shell: talking to the broker ----------------------------------------------------


def admin_client(bootstrap_servers: str) -> AdminClient:
    from agents.kafka.clients import make_admin

    return make_admin(bootstrap_servers, **{"client.id": "distillwatch-topics"})


def describe(
    admin: AdminClient, specs: Sequence[TopicSpec], timeout: float
) -> dict[str, TopicState]:
    """The broker's state of the declared topics that exist."""
    from confluent_kafka.admin import ConfigResource, ResourceType

    metadata = admin.list_topics(timeout=timeout).topics
    present = [spec for spec in specs if spec.name in metadata]
    if not present:
        return {}
    resources = [ConfigResource(ResourceType.TOPIC, spec.name) for spec in present]
    futures = admin.describe_configs(resources, request_timeout=timeout)
    states: dict[str, TopicState] = {}
    for spec, resource in zip(present, resources, strict=True):
        entries = futures[resource].result()
        partitions = metadata[spec.name].partitions
        replicas = len(partitions[0].replicas) if partitions else 0
        states[spec.name] = TopicState(
            partitions=len(partitions),
            replication_factor=replicas,
            config={key: entries[key].value for key in spec.config if key in entries},
        )
    return states


def _wait_for_leaders(admin: AdminClient, topics: Sequence[str], deadline: float) -> None:
    """Return once every new topic has a leader for each partition, so clients can use it."""
    pending = set(topics)
    while pending and time.monotonic() < deadline:
        metadata = admin.list_topics(timeout=max(deadline - time.monotonic(), 0.1)).topics
        pending = {
            name
            for name in pending
            if name not in metadata
            or metadata[name].error is not None
            or any(partition.leader < 0 for partition in metadata[name].partitions.values())
        }
        if pending:
            time.sleep(0.1)


def apply(admin: AdminClient, changes: Sequence[Change], timeout: float) -> list[Change]:
    """Carry out ``changes``; returns them with every failed step turned into an error."""
    from confluent_kafka.admin import (
        AlterConfigOpType,
        ConfigEntry,
        ConfigResource,
        NewPartitions,
        NewTopic,
        ResourceType,
    )

    futures: dict[int, Any] = {}
    for index, change in enumerate(changes):
        detail = change.detail
        if change.action == "create":
            new = NewTopic(
                change.topic,
                num_partitions=detail["partitions"],
                replication_factor=detail["replication_factor"],
                config=detail["config"],
            )
            futures[index] = admin.create_topics([new], operation_timeout=timeout)[change.topic]
        elif change.action == "add_partitions":
            new_partitions = NewPartitions(change.topic, detail["to"])
            result = admin.create_partitions([new_partitions], operation_timeout=timeout)
            futures[index] = result[change.topic]
        elif change.action == "alter_config":
            entries = [
                ConfigEntry(key, values["to"], incremental_operation=AlterConfigOpType.SET)
                for key, values in detail["changes"].items()
            ]
            resource = ConfigResource(ResourceType.TOPIC, change.topic, incremental_configs=entries)
            futures[index] = admin.incremental_alter_configs([resource])[resource]
    done: list[Change] = []
    for index, change in enumerate(changes):
        future = futures.get(index)
        try:
            if future is not None:
                future.result()
        except Exception as error:  # a KafkaException per failed topic, reported not raised
            reason = f"{change.action} failed: {error}"
            done.append(Change("error", change.topic, {"reason": reason}))
        else:
            done.append(change)
    created = [change.topic for change in done if change.action == "create"]
    _wait_for_leaders(admin, created, time.monotonic() + timeout)
    return done


def reconcile(
    bootstrap_servers: str, specs: Sequence[TopicSpec], timeout: float, dry_run: bool = False
) -> tuple[list[Change], list[str]]:
    """Plan and (unless ``dry_run``) apply; returns the changes and the untouched topics."""
    admin = admin_client(bootstrap_servers)
    changes = plan(specs, describe(admin, specs, timeout))
    if not dry_run:
        changes = apply(admin, changes, timeout)
    touched = {change.topic for change in changes}
    return changes, [spec.name for spec in specs if spec.name not in touched]


def partition_for(key: str, partitions: int) -> int:
    """The partition Kafka's default partitioner (and Faust) gives ``key``: forensic replay
    places the records of a file where the requests topic would put their account, as the
    gateways' producers do."""
    from aiokafka.partitioner import murmur2

    return (murmur2(key.encode()) & 0x7FFFFFFF) % partitions
