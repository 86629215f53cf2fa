"""Settings of the stream service (``distillwatch worker``), nested in ``Settings.service``.

Env prefix ``DISTILLWATCH_SERVICE__`` (e.g. ``DISTILLWATCH_SERVICE__WEB_PORT=6067``), which is
also what pydantic-settings reads once the model is nested under ``Settings.service``.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parent.parent


def _internal_topic(role: str) -> str:
    """Default name of an internal topic: every topic name is declared in ``agents.settings``
    (imported here, not at the top, because ``agents.settings`` imports this module)."""
    from agents.settings import INTERNAL_TOPICS

    return INTERNAL_TOPICS[role]


class ServiceSettings(BaseSettings):
    """Knobs of the Faust service; topic names default to ``agents.settings.INTERNAL_TOPICS``."""

    model_config = SettingsConfigDict(env_prefix="DISTILLWATCH_SERVICE__", extra="ignore")

    app_id: str = "distillwatch"
    """Consumer group of the workers; two workers with one app id share the partitions."""
    coordination_topic: str = Field(default_factory=lambda: _internal_topic("coordination"))
    """Account-stage messages and watermarks to the cross-account stage (one partition)."""
    account_state_topic: str = Field(default_factory=lambda: _internal_topic("account_state"))
    """Compacted checkpoints of account state, partitioned like the requests topic."""
    coordination_state_topic: str = Field(
        default_factory=lambda: _internal_topic("coordination_state")
    )
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
