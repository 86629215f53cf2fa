"""docker-compose.yml cannot run here, so it is kept consistent with infra/ by these checks.

The local broker (infra/kafka) is the reference: the compose file must run the same Kafka
version, expose the same client port and carry the same broker settings, and its services must
apply the same topic declarations the local tooling applies (infra/topics.toml, whose
contents tests/agents/test_topics_file.py checks against the topic names of the settings).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ElementTree

import pytest
import yaml

from agents.settings import REPO_ROOT

KAFKA_DIR = REPO_ROOT / "infra" / "kafka"
# Settings that legitimately differ in containers: addresses and the storage path.
CONTAINER_SPECIFIC = {
    "listeners",
    "advertised.listeners",
    "controller.quorum.voters",
    "inter.broker.listener.name",
    "listener.security.protocol.map",
    "log.dirs",
}
# The local broker's SASL_PLAINTEXT (SCRAM user created by kafkactl) and SSL (certificate of
# kafkactl's development CA) listeners test the clients' security settings; the compose
# broker serves PLAINTEXT only.
LOCAL_SECURED_LISTENERS = {
    "sasl.enabled.mechanisms",
    "listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config",
    "ssl.keystore.type",
    "ssl.keystore.location",
}


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((REPO_ROOT / "docker-compose.yml").read_text())


@pytest.fixture(scope="module")
def server_properties() -> dict[str, str]:
    properties = {}
    for line in (KAFKA_DIR / "server.properties").read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            properties[key.strip()] = value.strip()
    return properties


def listener_ports(listeners: str) -> dict[str, int]:
    return {name: int(port) for name, port in re.findall(r"([A-Z_]+)://[^:,]*:(\d+)", listeners)}


def broker_env(compose: dict) -> dict[str, str]:
    return {key: str(value) for key, value in compose["services"]["kafka"]["environment"].items()}


def test_kafka_image_is_the_version_maven_resolves(compose):
    pom = ElementTree.parse(KAFKA_DIR / "pom.xml").getroot()
    namespace = {"m": "http://maven.apache.org/POM/4.0.0"}
    version = pom.find("m:properties/m:kafka.version", namespace).text
    assert compose["services"]["kafka"]["image"] == f"apache/kafka:{version}"


def test_client_port_and_controller_port_match_the_local_broker(compose, server_properties):
    local = listener_ports(server_properties["listeners"])
    env = broker_env(compose)
    assert compose["services"]["kafka"]["ports"] == [
        f"127.0.0.1:{local['PLAINTEXT']}:{local['PLAINTEXT']}"
    ]
    assert listener_ports(env["KAFKA_LISTENERS"])["PLAINTEXT"] == local["PLAINTEXT"]
    assert (
        listener_ports(env["KAFKA_ADVERTISED_LISTENERS"])["PLAINTEXT"]
        == listener_ports(server_properties["advertised.listeners"])["PLAINTEXT"]
    )
    assert listener_ports(env["KAFKA_LISTENERS"])["CONTROLLER"] == local["CONTROLLER"]
    assert env["KAFKA_CONTROLLER_QUORUM_VOTERS"].endswith(f":{local['CONTROLLER']}")
    assert {"SASL_PLAINTEXT", "SSL"} <= set(local)
    assert not {"SASL_PLAINTEXT", "SSL"} & set(listener_ports(env["KAFKA_LISTENERS"]))


def test_broker_settings_match_the_local_broker(compose, server_properties):
    env = broker_env(compose)
    for key, value in server_properties.items():
        if key not in CONTAINER_SPECIFIC | LOCAL_SECURED_LISTENERS:
            variable = "KAFKA_" + key.upper().replace(".", "_")
            assert env.get(variable) == value, f"{variable} should be {value} like {key}"


def test_services_reach_the_broker_on_its_internal_listener(compose):
    internal = listener_ports(broker_env(compose)["KAFKA_ADVERTISED_LISTENERS"])["INTERNAL"]
    for name in ("topics", "worker"):
        env = compose["services"][name]["environment"]
        assert env["DISTILLWATCH_BOOTSTRAP_SERVERS"] == f"kafka:{internal}"


def test_topics_are_applied_from_infra_declarations_before_the_worker(compose):
    services = compose["services"]
    topics, worker = services["topics"], services["worker"]
    assert topics["build"]["context"] == "."  # the image carries the repository's infra/
    assert topics["environment"]["DISTILLWATCH_TOPICS_FILE"] == "/app/infra/topics.toml"
    assert topics["command"] == ["topics"]
    assert topics["depends_on"] == {"kafka": {"condition": "service_healthy"}}
    assert worker["command"] == ["worker"]
    assert worker["depends_on"] == {"topics": {"condition": "service_completed_successfully"}}
    dockerfile = (REPO_ROOT / topics["build"]["dockerfile"]).read_text()
    assert 'ENTRYPOINT ["distillwatch"]' in dockerfile
