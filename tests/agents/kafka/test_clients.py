"""Security settings reach every Kafka client, in the form each client library expects.

No broker needed: the client constructors are replaced by recorders (confluent-kafka) or built
for real without connecting (Faust).  tests/integration/test_security.py does the same against
the local broker's SASL listener.
"""

from __future__ import annotations

import re
import ssl
import subprocess
from pathlib import Path

import pytest
from faust.transport.drivers.aiokafka import credentials_to_aiokafka_auth
from pydantic import ValidationError

from agents.kafka import clients as kafka_clients
from agents.settings import REPO_ROOT, KafkaSecurity, Settings, get_settings

SECRET = "s3cr3t-Pa55-do-not-print"

SASL = KafkaSecurity(
    security_protocol="SASL_PLAINTEXT",
    sasl_mechanism="SCRAM-SHA-256",
    sasl_username="svc",
    sasl_password=SECRET,
)


def test_plaintext_adds_only_the_protocol():
    assert kafka_clients.librdkafka_security(KafkaSecurity()) == {"security.protocol": "PLAINTEXT"}


def test_sasl_maps_mechanism_user_and_password():
    assert kafka_clients.librdkafka_security(SASL) == {
        "security.protocol": "SASL_PLAINTEXT",
        "sasl.mechanism": "SCRAM-SHA-256",
        "sasl.username": "svc",
        "sasl.password": SECRET,
    }


def test_ssl_maps_ca_client_certificate_and_hostname_check(tmp_path):
    security = KafkaSecurity(
        security_protocol="ssl",  # case does not matter
        ssl_ca_location=tmp_path / "ca.pem",
        ssl_certfile=tmp_path / "client.pem",
        ssl_keyfile=tmp_path / "client.key",
        ssl_key_password=SECRET,
        ssl_check_hostname=False,
    )
    assert kafka_clients.librdkafka_security(security) == {
        "security.protocol": "SSL",
        "ssl.endpoint.identification.algorithm": "none",
        "ssl.ca.location": str(tmp_path / "ca.pem"),
        "ssl.certificate.location": str(tmp_path / "client.pem"),
        "ssl.key.location": str(tmp_path / "client.key"),
        "ssl.key.password": SECRET,
    }


def test_sasl_ssl_maps_both(tmp_path):
    security = KafkaSecurity(
        security_protocol="SASL_SSL",
        sasl_username="svc",
        sasl_password=SECRET,
        ssl_ca_location=tmp_path / "ca.pem",
    )
    assert kafka_clients.librdkafka_security(security) == {
        "security.protocol": "SASL_SSL",
        "sasl.mechanism": "SCRAM-SHA-512",
        "sasl.username": "svc",
        "sasl.password": SECRET,
        "ssl.endpoint.identification.algorithm": "https",
        "ssl.ca.location": str(tmp_path / "ca.pem"),
    }


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"security_protocol": "SASL_SSL", "sasl_username": "svc"}, "needs sasl_username and"),
        ({"security_protocol": "SASL_PLAINTEXT"}, "DISTILLWATCH_KAFKA__SASL_PASSWORD"),
        ({"security_protocol": "SSL", "ssl_certfile": "c.pem"}, "set both or neither"),
        ({"security_protocol": "TLS"}, "PLAINTEXT"),
        ({"sasl_mechanism": "GSSAPI"}, "SCRAM-SHA-512"),
    ],
)
def test_incomplete_or_unknown_settings_are_refused(fields, message):
    with pytest.raises(ValidationError, match=message):
        KafkaSecurity(**fields)


@pytest.fixture
def env_security(monkeypatch):
    """This process's settings, from the environment as a deployment sets them."""
    monkeypatch.setenv("DISTILLWATCH_KAFKA__SECURITY_PROTOCOL", "SASL_PLAINTEXT")
    monkeypatch.setenv("DISTILLWATCH_KAFKA__SASL_MECHANISM", "SCRAM-SHA-512")
    monkeypatch.setenv("DISTILLWATCH_KAFKA__SASL_USERNAME", "svc")
    monkeypatch.setenv("DISTILLWATCH_KAFKA__SASL_PASSWORD", SECRET)
    get_settings.cache_clear()
    yield get_settings()
    get_settings.cache_clear()


def test_settings_read_the_environment_and_never_show_the_secret(env_security):
    settings = env_security
    assert settings.kafka.sasl_password.get_secret_value() == SECRET
    for shown in (
        repr(settings),
        str(settings),
        repr(settings.kafka),
        settings.model_dump_json(),
        str(settings.model_dump()),
        repr(kafka_clients.faust_credentials(settings.kafka)),
    ):
        assert SECRET not in shown
        assert "svc" in shown


@pytest.mark.parametrize(
    "broken",
    [
        {"DISTILLWATCH_KAFKA__SASL_USERNAME": ""},  # SASL without a user
        {"DISTILLWATCH_KAFKA__SSL_CERTFILE": "client.pem"},  # certificate without its key
        {"DISTILLWATCH_KAFKA__SASL_MECHANISM": "NTLM"},
    ],
)
def test_a_settings_error_never_echoes_the_secret(env_security, monkeypatch, broken):
    for name, value in broken.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError) as invalid:
        Settings()
    assert "kafka" in str(invalid.value)
    assert SECRET not in str(invalid.value)


class Recorder:
    """Stands in for a confluent-kafka client class and keeps the configuration it got."""

    def __init__(self) -> None:
        self.configs: list[dict] = []

    def __call__(self, config: dict) -> Recorder:
        self.configs.append(config)
        return self


@pytest.fixture
def recorded(monkeypatch) -> Recorder:
    import confluent_kafka
    import confluent_kafka.admin

    recorder = Recorder()
    for module, name in (
        (confluent_kafka, "Producer"),
        (confluent_kafka, "Consumer"),
        (confluent_kafka.admin, "AdminClient"),
    ):
        monkeypatch.setattr(module, name, recorder)
    return recorder


def test_every_confluent_factory_carries_the_configured_security(env_security, recorded):
    kafka_clients.make_admin("b:1", **{"client.id": "x"})
    kafka_clients.make_producer("b:1", **{"linger.ms": 5})
    kafka_clients.make_consumer("b:1", "g")
    kafka_clients.make_reader("b:1", "g")
    expected = kafka_clients.librdkafka_security(env_security.kafka)
    assert len(recorded.configs) == 4
    for config in recorded.configs:
        assert config["bootstrap.servers"] == "b:1"
        assert {key: config[key] for key in expected} == expected
        assert config["sasl.password"] == SECRET


def test_explicit_security_wins_over_the_configured_one(env_security, recorded):
    kafka_clients.make_producer("b:1", KafkaSecurity())
    assert recorded.configs[0]["security.protocol"] == "PLAINTEXT"
    assert "sasl.password" not in recorded.configs[0]


def test_faust_app_authenticates_with_scram(env_security, tmp_path):
    app = kafka_clients.make_faust_app("sec-test", "b:1,c:2", datadir=str(tmp_path))
    assert [str(url) for url in app.conf.broker] == ["kafka://b:1", "kafka://c:2"]
    auth = credentials_to_aiokafka_auth(app.conf.broker_credentials)
    assert auth["security_protocol"] == "SASL_PLAINTEXT"
    assert auth["sasl_mechanism"] == "SCRAM-SHA-512"
    assert (auth["sasl_plain_username"], auth["sasl_plain_password"]) == ("svc", SECRET)
    assert auth["ssl_context"] is None


def test_faust_plaintext_has_no_credentials(tmp_path):
    app = kafka_clients.make_faust_app("sec-test", "b:1", KafkaSecurity(), datadir=str(tmp_path))
    assert credentials_to_aiokafka_auth(app.conf.broker_credentials) == {
        "security_protocol": "PLAINTEXT"
    }


@pytest.fixture(scope="module")
def client_pem(tmp_path_factory) -> tuple[Path, Path]:
    """A self-signed certificate and its key, encrypted with SECRET."""
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "client.pem", folder / "client.key"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-days", "1", "-subj", "/CN=svc"),
            *("-keyout", str(key), "-out", str(cert), "-passout", f"pass:{SECRET}"),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


def test_faust_tls_context_uses_ca_client_certificate_and_hostname_check(client_pem):
    cert, key = client_pem
    security = KafkaSecurity(
        security_protocol="SASL_SSL",
        sasl_username="svc",
        sasl_password=SECRET,
        ssl_ca_location=cert,
        ssl_certfile=cert,
        ssl_keyfile=key,
        ssl_key_password=SECRET,
        ssl_check_hostname=False,
    )
    credentials = kafka_clients.faust_credentials(security)
    auth = credentials_to_aiokafka_auth(credentials)
    assert auth["security_protocol"] == "SASL_SSL"
    context = auth["ssl_context"]
    assert isinstance(context, ssl.SSLContext)
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert not context.check_hostname
    assert [c["subject"] for c in context.get_ca_certs()] == [((("commonName", "svc"),),)]

    tls_only = kafka_clients.faust_credentials(
        KafkaSecurity(security_protocol="SSL", ssl_ca_location=cert)
    )
    auth = credentials_to_aiokafka_auth(tls_only)
    assert auth["security_protocol"] == "SSL"
    assert auth["ssl_context"].check_hostname


# Constructors of Kafka clients: confluent-kafka's, aiokafka's and Faust's apps.
CLIENT_CONSTRUCTION = re.compile(
    r"\b\w*(?:Producer|Consumer|AdminClient)\(|\bfaust\.App\(|from faust import .*\bApp\b"
)


def test_no_module_builds_a_kafka_client_itself():
    """Only agents/kafka/clients.py may: a client built elsewhere would skip the security."""
    allowed = {REPO_ROOT / "agents" / "kafka" / "clients.py", Path(__file__).resolve()}
    offenders = [
        f"{path.relative_to(REPO_ROOT)}:{number}: {line.strip()}"
        for folder in ("agents", "bench", "tests", "streams")
        for path in sorted((REPO_ROOT / folder).rglob("*.py"))
        if path not in allowed
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if CLIENT_CONSTRUCTION.search(line)
    ]
    assert not offenders, "build Kafka clients with agents.kafka.clients:\n" + "\n".join(offenders)


def test_the_scan_recognises_every_kind_of_construction():
    for line in (
        "p = Producer({'bootstrap.servers': b})",
        "c = Consumer(config)",
        "a = AdminClient({})",
        "x = AIOKafkaConsumer(topic)",
        "s = SerializingProducer(conf)",
        "app = faust.App('id', broker=b)",
        "from faust import App, Record",
    ):
        assert CLIENT_CONSTRUCTION.search(line), line
    for line in ("make_producer(b)", "make_admin(b)", "class Recorder:", "faust.Record"):
        assert not CLIENT_CONSTRUCTION.search(line), line
