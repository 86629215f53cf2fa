"""Fixtures of the service tests: isolated deployments and the reference (replayed) alerts."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.service.harness import Deployment
from tests.support.core_traffic import generate


@pytest.fixture(scope="session")
def traffic():
    """One wrapped-prompt and one harvested-prompt campaign hidden in ordinary traffic."""
    return generate(seed=11, duration=2700.0, benign=150, campaign_size=25)


@pytest.fixture
def deployment(kafka_bootstrap, kafka_admin, tmp_path) -> Iterator[Deployment]:
    deployment = Deployment(kafka_bootstrap, kafka_admin, tmp_path)
    deployment.create()
    try:
        yield deployment
    finally:
        deployment.delete()
