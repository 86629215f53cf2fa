"""The one settings object of DistillWatch.

Every knob is read from environment variables prefixed ``DISTILLWATCH_``
(nested fields use ``__``, e.g. ``DISTILLWATCH_DETECTOR__CLUSTER_MIN_SIZE=5``)
so a deployment is configured in one place and the code holds no scattered
constants.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from agents.service_settings import ServiceSettings
from streams.config import DetectorConfig

REPO_ROOT = Path(__file__).resolve().parent.parent


class TopicNames(BaseModel):
    """Names of the topics the service reads and writes; declared in infra/topics.toml."""

    requests: str = "distillwatch.requests.v1"
    alerts: str = "distillwatch.alerts.v1"
    actions: str = "distillwatch.actions.v1"
    signatures: str = "distillwatch.signatures.v1"
    dead_letters: str = "distillwatch.dead-letters.v1"


class Settings(BaseSettings):
    """Runtime configuration of the service, CLI and tools."""

    model_config = SettingsConfigDict(
        env_prefix="DISTILLWATCH_", env_nested_delimiter="__", extra="ignore"
    )

    bootstrap_servers: str = "127.0.0.1:9092"
    topics_file: Path = REPO_ROOT / "infra" / "topics.toml"
    topics: TopicNames = Field(default_factory=TopicNames)
    service: ServiceSettings = Field(default_factory=ServiceSettings)
    detector: DetectorConfig = Field(default_factory=DetectorConfig)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Settings are read once per process so every component sees the same values."""
    return Settings()
