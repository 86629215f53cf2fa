"""The token family table: one declaration, tunable, with the old cap variables still read."""

from __future__ import annotations

import json

import pytest

from agents.settings import Settings
from streams.config import TOKEN_FAMILIES, TOKEN_FAMILY_NAMES, DetectorConfig
from streams.errors import ConfigError


def test_families_are_declared_once_in_checkpoint_order():
    assert tuple(f.name for f in DetectorConfig().token_families) == TOKEN_FAMILY_NAMES
    assert DetectorConfig().identity_families == frozenset({"pay"})
    with pytest.raises(ConfigError):
        DetectorConfig(token_families=tuple(reversed(TOKEN_FAMILIES)))


def test_deprecated_token_cap_variables_still_set_a_cap(monkeypatch):
    monkeypatch.setenv("DISTILLWATCH_DETECTOR__TOKEN_CAP_IP24", "3")
    with pytest.warns(FutureWarning, match="TOKEN_CAP_IP24"):
        detector = Settings().detector
    caps = {f.name: f.cap for f in detector.token_families}
    assert caps == {f.name: (3 if f.name == "ip24" else f.cap) for f in TOKEN_FAMILIES}


def test_token_families_from_the_environment_is_json(monkeypatch):
    rows = [
        {"name": f.name, "cap": f.cap + 1, "weight": f.weight, "evidence_cap": f.evidence_cap}
        for f in TOKEN_FAMILIES
    ]
    monkeypatch.setenv("DISTILLWATCH_DETECTOR__TOKEN_FAMILIES", json.dumps(rows))
    detector = Settings().detector
    assert [f.cap for f in detector.token_families] == [f.cap + 1 for f in TOKEN_FAMILIES]


def test_an_unknown_family_cap_is_refused(monkeypatch):
    monkeypatch.setenv("DISTILLWATCH_DETECTOR__TOKEN_CAP_BOGUS", "3")
    with pytest.raises(ValueError, match="unknown families"):
        Settings()
