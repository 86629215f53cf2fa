"""Clients authenticate on the local broker's SASL_PLAINTEXT listener with SCRAM-SHA-512.

infra/kafka/kafkactl opens that listener next to the PLAINTEXT one and creates its development
user; every client gets the security settings through agents.kafka.clients, so the admin,
producer and consumer here, and the Faust worker subprocess, use exactly what a deployment
configured with DISTILLWATCH_KAFKA__* uses.  The password must never show in what they print.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from unittest import mock

import pytest
from confluent_kafka import KafkaError, TopicPartition
from confluent_kafka.admin import NewTopic
from pydantic import SecretStr

from agents.kafka.clients import check_connection, make_admin, make_producer, make_reader
from agents.settings import REPO_ROOT, KafkaSecurity
from streams.errors import KafkaConnectionError

pytestmark = pytest.mark.kafka

APP = Path(__file__).with_name("faust_app.py")


def _kafkactl_layout(client_port: str):
    """The broker's SASL port and development user, read the way kafkactl reads them."""
    path = REPO_ROOT / "infra" / "kafka" / "kafkactl"
    loader = importlib.machinery.SourceFileLoader("kafkactl", str(path))
    module = importlib.util.module_from_spec(importlib.util.spec_from_loader("kafkactl", loader))
    loader.exec_module(module)
    with mock.patch.dict(os.environ, {"DISTILLWATCH_KAFKA_PORT": client_port}):
        return module.Layout()


@pytest.fixture(scope="module")
def listeners(kafka_bootstrap):
    """(host, kafkactl layout) of the broker under test, whose secured listeners must be open."""
    host, port = kafka_bootstrap.split(",")[0].rsplit(":", 1)
    layout = _kafkactl_layout(port)
    for name, listener_port in (("SASL", layout.sasl_port), ("SSL", layout.ssl_port)):
        try:
            socket.create_connection((host, listener_port), timeout=2).close()
        except OSError:
            reason = (
                f"no {name} listener on {host}:{listener_port}: the broker was started before "
                "kafkactl opened one; restart it with `make kafka-down kafka-up`"
            )
            if os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}:
                pytest.fail(f"CI=true: {reason}", pytrace=False)
            pytest.skip(reason)
    return host, layout


@pytest.fixture(scope="module")
def sasl(listeners) -> tuple[str, KafkaSecurity]:
    """Bootstrap address of the SASL listener and the settings of its development user."""
    host, layout = listeners
    security = KafkaSecurity(
        security_protocol="SASL_PLAINTEXT",
        sasl_mechanism="SCRAM-SHA-512",
        sasl_username=layout.dev_user,
        sasl_password=layout.dev_password,
    )
    return f"{host}:{layout.sasl_port}", security


@pytest.fixture(scope="module")
def tls(listeners) -> tuple[str, KafkaSecurity]:
    """Bootstrap address of the SSL listener and settings trusting kafkactl's development CA."""
    host, layout = listeners
    security = KafkaSecurity(security_protocol="SSL", ssl_ca_location=layout.ca)
    return f"{host}:{layout.ssl_port}", security


@pytest.fixture(params=["sasl", "tls"])
def secured(request) -> tuple[str, KafkaSecurity]:
    return request.getfixturevalue(request.param)


def security_env(bootstrap: str, security: KafkaSecurity) -> dict[str, str]:
    """The environment a deployment sets to make every client of a process use ``security``."""
    env = {"DISTILLWATCH_BOOTSTRAP_SERVERS": bootstrap}
    for name, value in security:
        if value is not None:
            shown = value.get_secret_value() if isinstance(value, SecretStr) else value
            env[f"DISTILLWATCH_KAFKA__{name.upper()}"] = str(shown)
    return env


@pytest.fixture
def secured_topics(secured, run_id, request):
    """Topics created and deleted through a secured listener by an authenticated admin."""
    bootstrap, security = secured
    admin = make_admin(bootstrap, security)
    created: list[str] = []

    def make(partitions: int = 1) -> str:
        node = "".join(c if c.isalnum() or c in "._-" else "_" for c in request.node.name[:50])
        name = f"test.secured.{node}.{run_id}.{len(created)}"
        admin.create_topics([NewTopic(name, partitions, 1)], operation_timeout=30)[name].result()
        created.append(name)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            listed = admin.list_topics(name, timeout=10).topics[name]
            if listed.error is None and all(p.leader >= 0 for p in listed.partitions.values()):
                return name
            time.sleep(0.1)
        raise TimeoutError(f"{name} got no leader")

    make.admin = admin
    yield make
    faust_internal = [  # the changelog of the Faust app's table
        n
        for n in admin.list_topics(timeout=10).topics
        if n.startswith(f"test-secured-faust-{run_id}")
    ]
    names = created + faust_internal
    for future in admin.delete_topics(names, operation_timeout=30).values():
        future.result()


def read(bootstrap, security, topic, partitions, expected, deadline_s=30.0) -> list[tuple]:
    reader = make_reader(bootstrap, f"{topic}-reader", security)
    reader.assign([TopicPartition(topic, p, 0) for p in range(partitions)])
    records: list[tuple] = []
    deadline = time.monotonic() + deadline_s
    try:
        while len(records) < expected and time.monotonic() < deadline:
            for message in reader.consume(100, timeout=0.5):
                if message.error() is None:
                    records.append((message.key(), message.value()))
                elif message.error().code() != KafkaError._PARTITION_EOF:
                    raise AssertionError(message.error())
    finally:
        reader.close()
    return records


def test_admin_producer_and_consumer_round_trip(secured, secured_topics):
    bootstrap, security = secured
    topic = secured_topics(partitions=2)
    producer = make_producer(bootstrap, security)
    sent = [(f"acct-{i}".encode(), f"event-{i}".encode()) for i in range(20)]
    for key, value in sent:
        producer.produce(topic, value, key)
    assert producer.flush(30) == 0

    assert sorted(read(bootstrap, security, topic, 2, len(sent))) == sorted(sent)


def test_a_wrong_password_is_refused_with_the_brokers_reason(sasl):
    bootstrap, security = sasl
    wrong = KafkaSecurity.model_validate(
        {**security.model_dump(), "sasl_password": "not-the-password"}
    )
    with pytest.raises(KafkaConnectionError) as refused:
        check_connection(bootstrap, wrong, timeout=5)
    message = str(refused.value)
    assert f"Kafka at {bootstrap} refused the connection" in message
    assert "SASL authentication error" in message
    assert "invalid credentials with SASL mechanism SCRAM-SHA-512" in message
    assert "not-the-password" not in message


def test_an_unauthenticated_client_gets_nothing_from_the_sasl_listener(sasl):
    bootstrap, _security = sasl
    with pytest.raises(KafkaConnectionError, match=r"cannot reach Kafka at .* \(PLAINTEXT\): "):
        check_connection(bootstrap, KafkaSecurity(), timeout=3)


def test_a_broker_certificate_from_an_untrusted_ca_is_refused(tls):
    bootstrap, _security = tls
    system_trust = KafkaSecurity(security_protocol="SSL")  # without the development CA
    with pytest.raises(KafkaConnectionError) as refused:
        check_connection(bootstrap, system_trust, timeout=5)
    assert f"Kafka at {bootstrap} refused the connection (SSL)" in str(refused.value)
    assert "certificate verify failed" in str(refused.value)


def test_the_cli_authenticates_and_prints_no_secret(sasl):
    bootstrap, security = sasl
    password = security.sasl_password.get_secret_value()
    env = {**os.environ, **security_env(bootstrap, security)}
    ok = subprocess.run(
        [sys.executable, "-m", "agents.cli", "topics", "--dry-run", "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert ok.returncode == 0, ok.stderr
    assert f'"bootstrap_servers": "{bootstrap}"' in ok.stdout
    wrong = {**env, "DISTILLWATCH_KAFKA__SASL_PASSWORD": "wrong-" + password}
    refused = subprocess.run(
        [sys.executable, "-m", "agents.cli", "topics", "--timeout", "5"],
        env=wrong,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert refused.returncode == 3
    assert "refused the connection" in refused.stderr
    assert "invalid credentials" in refused.stderr
    for output in (ok.stdout, ok.stderr, refused.stdout, refused.stderr):
        assert password not in output


def test_a_faust_worker_consumes_and_produces(secured, secured_topics, run_id, tmp_path):
    """The Faust app of tests/integration/faust_app.py, configured only by DISTILLWATCH_KAFKA__*.

    It runs at DEBUG level so its log holds everything aiokafka says while authenticating.
    """
    bootstrap, security = secured
    source, output = secured_topics(2), secured_topics(2)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        web_port = probe.getsockname()[1]
    env = {
        **os.environ,
        **security_env(bootstrap, security),
        "FAUST_TEST_APP_ID": f"test-secured-faust-{run_id}-{security.security_protocol}",
        "FAUST_TEST_BOOTSTRAP": bootstrap,
        "FAUST_TEST_PARTITIONS": "2",
        "FAUST_TEST_WEB_PORT": str(web_port),
        "FAUST_TEST_SOURCE": source,
        "FAUST_TEST_OUTPUT": output,
        "FAUST_TEST_DATADIR": str(tmp_path / "faust-data"),
    }
    log = tmp_path / "worker.log"
    with open(log, "wb") as out:
        worker = subprocess.Popen(
            [sys.executable, str(APP), "worker", "--loglevel", "debug"],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        producer = make_producer(bootstrap, security)
        keys = [b"acct-a", b"acct-b", b"acct-c"]
        for round_ in range(2):
            for key in keys:
                producer.produce(source, f"event-{round_}".encode(), key)
        assert producer.flush(30) == 0

        outputs = read(bootstrap, security, output, 2, 6, deadline_s=90)
        assert worker.poll() is None, log.read_text(errors="replace")[-3000:]
        assert sorted(outputs) == sorted(
            (key, f"{key.decode()}:{n}".encode()) for key in keys for n in (1, 2)
        ), log.read_text(errors="replace")[-3000:]
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
    text = log.read_text(errors="replace")
    if security.sasl:
        assert f"Authenticated as {security.sasl_username} via SCRAM-SHA-512" in text  # aiokafka
        assert security.sasl_password.get_secret_value() not in text


@pytest.mark.service
def test_the_stream_worker_runs_over_scram_and_never_logs_the_secret(sasl, tmp_path):
    """`distillwatch worker` with every client on the SASL listener, logging at DEBUG.

    Alerts and dead letters prove its Faust consumers, its confluent-kafka producer and its
    checkpoint and signature readers all authenticated; none of what it wrote or logged holds
    the password.
    """
    from streams.wire.codecs import decode_alert
    from tests.service.harness import MALFORMED, Deployment
    from tests.support.core_traffic import generate

    bootstrap, security = sasl
    password = security.sasl_password.get_secret_value()
    deployment = Deployment(
        bootstrap, make_admin(bootstrap, security), tmp_path, security=security, loglevel="debug"
    )
    deployment.create()
    try:
        deployment.env.update(security_env(bootstrap, security))
        traffic = generate(seed=11, duration=2700.0, benign=150, campaign_size=25)
        deployment.produce(traffic.events, extra=MALFORMED)
        worker = deployment.start_worker(f"svc-{deployment.run}-sasl", "sasl")
        alerts = deployment.read("alerts", lambda records: len(records) >= 1, 150)
        dead = deployment.read("dead_letters", lambda r: len(r) >= len(MALFORMED), 60)
        assert alerts, deployment.logs()
        assert len(dead) == len(MALFORMED), deployment.logs()
        assert {decode_alert(r[3]).kind for r in alerts}
        deployment.stop(worker)
        log = worker.log_path.read_text(errors="replace")
    finally:
        deployment.delete()
    assert f"Authenticated as {security.sasl_username} via SCRAM-SHA-512" in log
    assert password not in log
    for *_, value in alerts + dead:
        assert password.encode() not in value


def test_a_worker_with_a_wrong_password_stops_at_once_and_says_why(sasl):
    bootstrap, security = sasl
    env = {
        **os.environ,
        **security_env(bootstrap, security),
        "DISTILLWATCH_KAFKA__SASL_PASSWORD": "wrong-worker-password",
    }
    result = subprocess.run(
        [sys.executable, "-m", "agents.cli", "worker"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 3
    assert "distillwatch worker: Kafka at" in result.stderr
    assert "invalid credentials with SASL mechanism SCRAM-SHA-512" in result.stderr
    assert "wrong-worker-password" not in result.stdout + result.stderr
