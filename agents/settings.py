"""The one settings object of DistillWatch.

Every knob is read from environment variables prefixed ``DISTILLWATCH_``
(nested fields use ``__``, e.g. ``DISTILLWATCH_DETECTOR__CLUSTER_MIN_SIZE=5``)
so a deployment is configured in one place and the code holds no scattered
constants.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from agents.service_settings import ServiceSettings
from agents.soc_settings import SocSettings
from streams.config import DetectorConfig
from streams.errors import ConfigError

REPO_ROOT = Path(__file__).resolve().parent.parent


class TopicNames(BaseModel):
    """Names of the topics the service reads and writes; declared in infra/topics.toml."""

    requests: str = "distillwatch.requests.v1"
    alerts: str = "distillwatch.alerts.v1"
    actions: str = "distillwatch.actions.v1"
    signatures: str = "distillwatch.signatures.v1"
    dead_letters: str = "distillwatch.dead-letters.v1"


class KafkaSecurity(BaseModel):
    """How every Kafka client of the process authenticates and encrypts.

    One block for all clients (Faust's aiokafka and every confluent-kafka admin, producer and
    consumer), turned into client configuration only by ``agents.kafka_clients``, so no client
    can connect with weaker settings than the others.  Secrets are ``SecretStr``: repr, str and
    JSON dumps of the settings show ``**********``, never the value.
    """

    # A validation error must not echo the input: it holds the password.
    model_config = ConfigDict(frozen=True, hide_input_in_errors=True)

    security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    sasl_mechanism: Literal["SCRAM-SHA-256", "SCRAM-SHA-512", "PLAIN"] = "SCRAM-SHA-512"
    sasl_username: str | None = None
    sasl_password: SecretStr | None = None
    ssl_ca_location: Path | None = None
    """CA bundle that signed the broker's certificate (default: the system's trust store)."""
    ssl_certfile: Path | None = None
    """Client certificate (PEM) for brokers that require mutual TLS; needs ``ssl_keyfile``."""
    ssl_keyfile: Path | None = None
    ssl_key_password: SecretStr | None = None
    ssl_check_hostname: bool = True
    """Verify that the broker's certificate names the host connected to."""

    @field_validator("security_protocol", "sasl_mechanism", mode="before")
    @classmethod
    def _upper(cls, value: Any) -> Any:
        return value.strip().upper() if isinstance(value, str) else value

    @model_validator(mode="after")
    def _complete(self) -> KafkaSecurity:
        if self.sasl and not (self.sasl_username and self.sasl_password):
            raise ConfigError(
                f"security_protocol {self.security_protocol} needs sasl_username and "
                "sasl_password (DISTILLWATCH_KAFKA__SASL_USERNAME, "
                "DISTILLWATCH_KAFKA__SASL_PASSWORD)"
            )
        if (self.ssl_certfile is None) != (self.ssl_keyfile is None):
            raise ConfigError("ssl_certfile and ssl_keyfile go together: set both or neither")
        return self

    @property
    def sasl(self) -> bool:
        return self.security_protocol.startswith("SASL_")

    @property
    def tls(self) -> bool:
        return self.security_protocol.endswith("SSL")


class Settings(BaseSettings):
    """Runtime configuration of the service, CLI and tools."""

    # hide_input_in_errors: an invalid ``kafka`` block would otherwise be echoed, password too.
    model_config = SettingsConfigDict(
        env_prefix="DISTILLWATCH_",
        env_nested_delimiter="__",
        extra="ignore",
        hide_input_in_errors=True,
    )

    bootstrap_servers: str = "127.0.0.1:9092"
    kafka: KafkaSecurity = Field(default_factory=KafkaSecurity)
    topics_file: Path = REPO_ROOT / "infra" / "topics.toml"
    topics: TopicNames = Field(default_factory=TopicNames)
    service: ServiceSettings = Field(default_factory=ServiceSettings)
    soc: SocSettings = Field(default_factory=SocSettings)
    detector: DetectorConfig = Field(default_factory=DetectorConfig)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Settings are read once per process so every component sees the same values."""
    return Settings()
