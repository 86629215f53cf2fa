"""The one settings object of DistillWatch.

Every knob is read from environment variables prefixed ``DISTILLWATCH_``
(nested fields use ``__``, e.g. ``DISTILLWATCH_DETECTOR__CLUSTER_MIN_SIZE=5``)
so a deployment is configured in one place and the code holds no scattered
constants.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import replace
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from streams.config import TOKEN_FAMILIES, TOKEN_FAMILY_NAMES, DetectorConfig
from streams.errors import ConfigError
from streams.soc.learning import LearningPolicy
from streams.soc.stix import ImportLimits

REPO_ROOT = Path(__file__).resolve().parent.parent
_TOKEN_CAP = "token_cap_"


class TopicNames(BaseModel):
    """Names of the topics shared with gateways and SOC tools; declared in infra/topics.toml."""

    requests: str = "distillwatch.requests.v1"
    alerts: str = "distillwatch.alerts.v1"
    actions: str = "distillwatch.actions.v1"
    signatures: str = "distillwatch.signatures.v1"
    dead_letters: str = "distillwatch.dead-letters.v1"
    decisions: str = "distillwatch.decisions.v1"
    """The analysts' audit log: every decision taken in the triage console."""
    suppressions: str = "distillwatch.suppressions.v1"
    """Compacted: findings dismissed as benign, which the detector honours."""


INTERNAL_TOPICS: dict[str, str] = {
    "coordination": "distillwatch.internal.coordination.v1",
    "account_state": "distillwatch.state.accounts.v1",
    "coordination_state": "distillwatch.state.coordination.v1",
}
"""Default names of the service's own topics (``ServiceSettings.*_topic`` read them): with
``TopicNames`` the one list of topic names, which infra/topics.toml declares exactly."""


class ServiceSettings(BaseSettings):
    """Knobs of the Faust service (``distillwatch worker``), nested in ``Settings.service``.

    Env prefix ``DISTILLWATCH_SERVICE__`` (e.g. ``DISTILLWATCH_SERVICE__WEB_PORT=6067``), which
    is also what pydantic-settings reads for the nested model.  Topic names default to
    ``INTERNAL_TOPICS``.
    """

    model_config = SettingsConfigDict(env_prefix="DISTILLWATCH_SERVICE__", extra="ignore")

    app_id: str = "distillwatch"
    """The workers' Faust app and consumer group (the coordination topic); two workers with
    one app id share the partitions.  The requests are consumed in ``requests_group``."""
    coordination_topic: str = INTERNAL_TOPICS["coordination"]
    """Account-stage messages and watermarks to the cross-account stage (one partition)."""
    account_state_topic: str = INTERNAL_TOPICS["account_state"]
    """Compacted checkpoints of account state, partitioned like the requests topic."""
    coordination_state_topic: str = INTERNAL_TOPICS["coordination_state"]
    """Compacted checkpoints of the cross-account stage."""
    web_host: str = "127.0.0.1"
    """The worker's HTTP server (metrics at /metrics, health at /health)."""
    web_port: int = 6066
    datadir: Path = REPO_ROOT / "var" / "faust"
    session_timeout_s: float = 30.0
    heartbeat_interval_s: float = 3.0
    commit_interval_s: float = 2.0
    batch_max: int = 2000
    """Largest batch of raw records handed to the core at once."""
    batch_within_s: float = 0.05
    """Longest wait to fill a batch: bounds the added latency at low traffic.  Each stage
    waits it once and an alert needs the next batch's watermarks, so it adds up about three
    times; under a backlog batches fill to ``batch_max`` before it runs out."""
    fetch_max_wait_s: float = 0.1
    """Longest the broker holds a fetch without new records (Faust: 1.5 s).  Records of a
    partition consumed while such a fetch is pending wait for it, so this bounds that stall."""
    checkpoint_interval_s: float = 5.0
    """Wall-clock seconds between state checkpoints; a crash replays at most this much input."""
    watermark_interval_s: float = 1.0
    """How often each requests partition reports its progress to the cross-account stage."""
    stall_after_s: float = 60.0
    """An owned requests partition with records to apply whose applied offset has not moved
    for this long is stalled: logged, counted and reported unhealthy by /health."""
    idle_flush_s: float = 2.0
    """A caught-up partition silent this long no longer holds back the cross-account stage."""
    console_token: SecretStr | None = None
    """Token the triage console's decisions need (header ``X-DistillWatch-Token``); without
    it the console is read-only.  A secret: never printed or logged."""
    suppression_days: float = Field(30.0, gt=0)
    """How long, in event time, a finding dismissed as benign keeps its members suppressed."""

    @property
    def requests_group(self) -> str:
        """Consumer group of the requests topic: ``<app_id>.requests``.  A group of its own,
        because its members use librdkafka's cooperative-sticky protocol and Faust's use
        another; a group's members must all speak one."""
        return f"{self.app_id}.requests"


class KafkaSecurity(BaseModel):
    """How every Kafka client of the process authenticates and encrypts.

    One block for all clients (Faust's aiokafka and every confluent-kafka admin, producer and
    consumer), turned into client configuration only by ``agents.kafka.clients``, so no client
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


_IMPORT_LIMITS = ImportLimits()
_LEARNING = LearningPolicy()


class SocSettings(BaseModel):
    """Bounds on what partners may send, and what this lab says about itself when sharing.

    Env prefix ``DISTILLWATCH_SOC__`` (e.g. ``DISTILLWATCH_SOC__IMPORT_MAX_BYTES=1048576``).
    The defaults are those of ``streams.soc``'s ``ImportLimits`` and ``LearningPolicy``.
    """

    lab_name: str = Field("distillwatch", min_length=1, max_length=256)
    """``source`` of the signatures this lab learns: the provenance partners see."""
    import_max_bytes: int = Field(_IMPORT_LIMITS.max_bytes, gt=0)
    """Largest STIX bundle ``signatures import`` reads; larger files are refused unread."""
    import_max_objects: int = Field(_IMPORT_LIMITS.max_objects, gt=0)
    """Most STIX objects one imported bundle may hold."""
    import_allow_regex: bool = _IMPORT_LIMITS.allow_regex
    """Accept prompt regular expressions from imported bundles (they run on every prompt)."""
    learn_min_pair_share: float = Field(_LEARNING.min_pair_share, gt=0, le=1)
    """A learned signature keeps indicators shared by at least this share of the top one's pairs."""
    learned_validity_days: float = Field(_LEARNING.validity_s / 86400.0, gt=0)
    """A learned signature is valid this long after the finding's last activity."""

    def learning_policy(self) -> LearningPolicy:
        """How a confirmed finding becomes a signature (``signatures learn``, the console)."""
        return LearningPolicy(self.learn_min_pair_share, self.learned_validity_days * 86400.0)


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

    @field_validator("detector", mode="before")
    @classmethod
    def _token_families(cls, value: Any) -> Any:
        """``token_families`` from the environment is a JSON list of family tables; the
        deprecated ``DISTILLWATCH_DETECTOR__TOKEN_CAP_<FAMILY>`` variables still set a
        family's cap, with a warning."""
        if not isinstance(value, dict):
            return value
        if isinstance(value.get("token_families"), str):
            # A nested env var arrives as text: DISTILLWATCH_DETECTOR__TOKEN_FAMILIES='[{...}]'.
            value = {**value, "token_families": json.loads(value["token_families"])}
        old = sorted(k for k in value if k.lower().startswith(_TOKEN_CAP))
        if not old:
            return value
        value = dict(value)
        caps = {k.lower().removeprefix(_TOKEN_CAP): value.pop(k) for k in old}
        unknown = sorted(caps.keys() - set(TOKEN_FAMILY_NAMES))
        if unknown or "token_families" in value:
            raise ConfigError(
                f"DISTILLWATCH_DETECTOR__TOKEN_CAP_* names unknown families {unknown}"
                if unknown
                else "set DISTILLWATCH_DETECTOR__TOKEN_FAMILIES or the deprecated "
                "DISTILLWATCH_DETECTOR__TOKEN_CAP_* variables, not both"
            )
        warnings.warn(
            ", ".join(f"DISTILLWATCH_DETECTOR__{k.upper()}" for k in old)
            + " deprecated: set the caps in DISTILLWATCH_DETECTOR__TOKEN_FAMILIES",
            FutureWarning,
            stacklevel=2,
        )
        value["token_families"] = tuple(
            replace(f, cap=int(caps[f.name])) if f.name in caps else f for f in TOKEN_FAMILIES
        )
        return value


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Settings are read once per process so every component sees the same values."""
    return Settings()
