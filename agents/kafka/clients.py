"""Every Kafka client of DistillWatch is built here, with the configured security settings.

Building each client in one module is what guarantees that authentication and encryption
(``Settings.kafka``) reach all of them: Faust's aiokafka clients and every confluent-kafka
admin, producer and consumer (tests/agents/test_kafka_clients.py fails if any other module
constructs a client itself).  A factory called without ``security`` uses this process's
settings.

One place also decides producer partitioning: ``murmur2_random`` hashes keys like the Java
clients and Faust, so an account's events land on the partition whose worker holds that
account's state, whichever tool produced them.
"""

from __future__ import annotations

import logging
import ssl
import time
from typing import TYPE_CHECKING, Any

from streams.errors import KafkaConnectionError, KafkaRequestError

if TYPE_CHECKING:
    import faust
    from confluent_kafka import Consumer, Producer
    from confluent_kafka.admin import AdminClient
    from faust.types.auth import CredentialsT

    from agents.settings import KafkaSecurity

log = logging.getLogger(__name__)

PRODUCER_DEFAULTS: dict[str, Any] = {
    "partitioner": "murmur2_random",
    "linger.ms": 20,
    "compression.type": "lz4",
    "enable.idempotence": True,
}


def _configured(security: KafkaSecurity | None) -> KafkaSecurity:
    if security is not None:
        return security
    from agents.settings import get_settings

    return get_settings().kafka


def librdkafka_security(security: KafkaSecurity) -> dict[str, Any]:
    """The librdkafka properties of ``security`` (the only place that reads the secrets)."""
    config: dict[str, Any] = {"security.protocol": security.security_protocol}
    if security.sasl:
        assert security.sasl_password is not None  # KafkaSecurity validates this
        config |= {
            "sasl.mechanism": security.sasl_mechanism,
            "sasl.username": security.sasl_username,
            "sasl.password": security.sasl_password.get_secret_value(),
        }
    if security.tls:
        config["ssl.endpoint.identification.algorithm"] = (
            "https" if security.ssl_check_hostname else "none"
        )
        if security.ssl_ca_location is not None:
            config["ssl.ca.location"] = str(security.ssl_ca_location)
        if security.ssl_certfile is not None:
            config["ssl.certificate.location"] = str(security.ssl_certfile)
            config["ssl.key.location"] = str(security.ssl_keyfile)
        if security.ssl_key_password is not None:
            config["ssl.key.password"] = security.ssl_key_password.get_secret_value()
    return config


def client_config(bootstrap_servers: str, security: KafkaSecurity | None = None) -> dict[str, Any]:
    """Address and security properties every confluent-kafka client starts from."""
    return {"bootstrap.servers": bootstrap_servers, **librdkafka_security(_configured(security))}


def make_admin(
    bootstrap_servers: str, security: KafkaSecurity | None = None, **overrides: Any
) -> AdminClient:
    from confluent_kafka.admin import AdminClient

    return AdminClient({**client_config(bootstrap_servers, security), **overrides})


def make_producer(
    bootstrap_servers: str, security: KafkaSecurity | None = None, **overrides: Any
) -> Producer:
    """A producer whose key partitioning matches Faust and the Java clients."""
    from confluent_kafka import Producer

    return Producer(
        {**client_config(bootstrap_servers, security), **PRODUCER_DEFAULTS, **overrides}
    )


def make_consumer(
    bootstrap_servers: str, group_id: str, security: KafkaSecurity | None = None, **overrides: Any
) -> Consumer:
    from confluent_kafka import Consumer

    return Consumer(
        {**client_config(bootstrap_servers, security), "group.id": group_id, **overrides}
    )


def make_batch_consumer(
    bootstrap_servers: str,
    group_id: str,
    security: KafkaSecurity | None = None,
    *,
    fetch_max_wait_s: float,
    session_timeout_s: float,
    heartbeat_interval_s: float,
    **overrides: Any,
) -> Consumer:
    """A consumer group member that reads a high-volume topic in batches (``consume(n)``).

    Cooperative-sticky assignment, so a rebalance moves only the partitions that change owner
    and the others keep flowing; the application commits (never librdkafka on a timer), after
    the outputs the offsets cover are delivered; large fetches so one ``consume`` call can
    return a whole batch; and a bounded broker-side fetch wait, which bounds the latency a
    quiet partition adds.
    """
    return make_consumer(
        bootstrap_servers,
        group_id,
        security,
        **{
            "partition.assignment.strategy": "cooperative-sticky",
            "enable.auto.commit": False,
            "enable.auto.offset.store": False,
            "auto.offset.reset": "earliest",
            "session.timeout.ms": round(session_timeout_s * 1000),
            "heartbeat.interval.ms": round(heartbeat_interval_s * 1000),
            "fetch.wait.max.ms": round(fetch_max_wait_s * 1000),
            "max.partition.fetch.bytes": 8 * 1024 * 1024,
            "fetch.max.bytes": 64 * 1024 * 1024,
            "queued.max.messages.kbytes": 256 * 1024,
            **overrides,
        },
    )


def make_reader(
    bootstrap_servers: str, group_id: str, security: KafkaSecurity | None = None, **overrides: Any
) -> Consumer:
    """A consumer for tools that assign partitions themselves and never commit offsets.

    Forensic reads must not move any consumer group's position, so auto-commit
    is off and the group id is only a label the broker requires.
    """
    return make_consumer(
        bootstrap_servers,
        group_id,
        security,
        **{
            "enable.auto.commit": False,
            "enable.partition.eof": True,
            "auto.offset.reset": "earliest",
            **overrides,
        },
    )


def describe_client(security: KafkaSecurity | None = None) -> str:
    """How a client talks to the broker, for messages: the protocol, and the SASL mechanism
    and user when it authenticates (never the password)."""
    security = _configured(security)
    who = security.security_protocol
    if security.sasl:
        who += f" {security.sasl_mechanism} as {security.sasl_username!r}"
    return who


class _Collected(logging.Handler):
    """librdkafka's log lines of one probe, kept rather than printed: they repeat the one
    failure many times over, and some reasons (a listener that closes the connection because
    it expects another protocol) reach only the log, never the error callback."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        # confluent-kafka logs (facility, client name, "[thrd:...]: message"); keep the message
        line = str(record.args[-1]) if isinstance(record.args, tuple) else record.getMessage()
        self.lines.append(line.split("]: ", 1)[-1] if line.startswith("[thrd:") else line)


def check_connection(
    bootstrap_servers: str, security: KafkaSecurity | None = None, timeout: float = 10.0
) -> None:
    """Fail at start, within ``timeout``, with the broker's own reason when a client cannot
    connect.

    librdkafka retries forever and tells the failing call only "broker transport failure"; the
    reason (connection refused, wrong password, untrusted certificate) reaches just the error
    callback or the log.  So both are collected between bounded metadata requests, and the
    wait ends as soon as the broker refused this client or every bootstrap broker is down; a
    broker that accepts connections but never answers ends it at ``timeout``.
    """
    from confluent_kafka import KafkaError, KafkaException

    who = describe_client(security)
    errors: list[KafkaError] = []
    logged = _Collected()
    probe_log = logging.Logger(f"{__name__}.probe")  # outside the logging tree: never printed
    probe_log.addHandler(logged)
    admin = make_admin(bootstrap_servers, security, error_cb=errors.append, logger=probe_log)
    deadline = time.monotonic() + timeout
    while True:
        try:
            admin.list_topics(timeout=max(0.05, min(0.25, deadline - time.monotonic())))
            return
        except KafkaException as failure:
            admin.poll(0)  # serves the error callback
            codes = {e.code() for e in errors}
            refused = [
                e for e in errors if e.code() in (KafkaError._AUTHENTICATION, KafkaError._SSL)
            ]
            if refused:
                raise KafkaConnectionError(
                    f"Kafka at {bootstrap_servers} refused the connection ({who}): "
                    f"{refused[-1].str()}"
                ) from None
            if KafkaError._ALL_BROKERS_DOWN in codes:
                causes = [e.str() for e in errors if e.code() != KafkaError._ALL_BROKERS_DOWN]
                reason = (causes or logged.lines[-1:] or [failure.args[0].str()])[-1]
                raise KafkaConnectionError(
                    f"cannot reach Kafka at {bootstrap_servers} ({who}): {reason}"
                ) from None
            if time.monotonic() >= deadline:
                raise KafkaConnectionError(
                    f"cannot reach Kafka at {bootstrap_servers} ({who}): no answer within "
                    f"{timeout:g} s ({failure.args[0].str()})"
                ) from None


def kafka_failure(
    bootstrap_servers: str, failure: Exception, security: KafkaSecurity | None = None
) -> KafkaConnectionError | KafkaRequestError:
    """The project's error for a ``KafkaException`` a client raised after the connection check
    (the broker went away, or refused a request): one line naming the broker and protocol."""
    from confluent_kafka import KafkaError

    error = failure.args[0] if failure.args else None
    reason = error.str() if isinstance(error, KafkaError) else str(failure)
    who = describe_client(security)
    if isinstance(error, KafkaError) and error.code() in _connection_codes():
        return KafkaConnectionError(f"cannot reach Kafka at {bootstrap_servers} ({who}): {reason}")
    return KafkaRequestError(f"Kafka at {bootstrap_servers} ({who}) refused a request: {reason}")


def _connection_codes() -> frozenset[int]:
    from confluent_kafka import KafkaError

    return frozenset(
        (
            KafkaError._TRANSPORT,
            KafkaError._ALL_BROKERS_DOWN,
            KafkaError._RESOLVE,
            KafkaError._TIMED_OUT,
            KafkaError._AUTHENTICATION,
            KafkaError._SSL,
        )
    )


def ssl_context(security: KafkaSecurity) -> ssl.SSLContext:
    """The TLS context aiokafka needs: the same CA, client certificate and host check."""
    context = ssl.create_default_context(
        ssl.Purpose.SERVER_AUTH,
        cafile=None if security.ssl_ca_location is None else str(security.ssl_ca_location),
    )
    if security.ssl_certfile is not None:
        context.load_cert_chain(
            str(security.ssl_certfile),
            str(security.ssl_keyfile),
            None
            if security.ssl_key_password is None
            else security.ssl_key_password.get_secret_value(),
        )
    context.check_hostname = security.ssl_check_hostname
    return context


def faust_credentials(security: KafkaSecurity) -> CredentialsT | None:
    """Faust's ``broker_credentials`` for ``security`` (None: plaintext, no authentication)."""
    import faust

    context = ssl_context(security) if security.tls else None
    if security.sasl:
        assert security.sasl_password is not None  # KafkaSecurity validates this
        return faust.SASLCredentials(
            username=security.sasl_username,
            password=security.sasl_password.get_secret_value(),
            mechanism=security.sasl_mechanism,
            ssl_context=context,
        )
    if context is not None:
        return faust.SSLCredentials(context)
    return None


def make_faust_app(
    app_id: str, bootstrap_servers: str, security: KafkaSecurity | None = None, **options: Any
) -> faust.App:
    """A Faust app on ``bootstrap_servers`` whose aiokafka clients use ``security``."""
    import faust

    return faust.App(
        app_id,
        broker=[f"kafka://{server.strip()}" for server in bootstrap_servers.split(",")],
        broker_credentials=faust_credentials(_configured(security)),
        **options,
    )
