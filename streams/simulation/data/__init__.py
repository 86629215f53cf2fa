"""Word lists and prompt templates of the simulator, kept as JSON package data."""

from __future__ import annotations

import json
from importlib.resources import files
from typing import Any


def load(name: str) -> dict[str, Any]:
    """The JSON document ``name`` of this folder, its arrays as tuples: the lists are constants."""
    return _frozen(json.loads(files(__name__).joinpath(name).read_text(encoding="utf-8")))


def _frozen(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(_frozen(item) for item in value)
    if isinstance(value, dict):
        return {key: _frozen(item) for key, item in value.items()}
    return value
