"""Access to the JSON Schemas in ``schemas/``, the single source of truth of the wire contract.

``schemas/`` is a top-level folder next to ``streams/``, not a package, so it is
found relative to this file: that holds in a checkout, in an editable install,
and in a wheel that ships ``schemas/`` next to ``streams/`` in site-packages.

fastjsonschema generates draft-07 code even for draft 2020-12 documents, so the
schemas restrict themselves to keywords whose meaning is the same in both
drafts (``tests/streams/wire/test_schemas.py`` enforces this); a 2020-12-only keyword would
otherwise be ignored without a warning.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, Final

import fastjsonschema
import orjson

from streams.records import (
    ACTION_VERSION,
    ALERT_VERSION,
    DEAD_LETTER_VERSION,
    DECISION_VERSION,
    REQUEST_EVENT_VERSION,
    SIGNATURE_VERSION,
    SUPPRESSION_VERSION,
)

SCHEMA_DIR = Path(__file__).resolve().parents[2] / "schemas"

# Wire name ("<record type>.v<version>") of every record type: the ``schema`` field it carries.
REQUEST_EVENT_SCHEMA: Final = f"request_event.v{REQUEST_EVENT_VERSION}"
ALERT_SCHEMA: Final = f"alert.v{ALERT_VERSION}"
ACTION_SCHEMA: Final = f"action.v{ACTION_VERSION}"
SIGNATURE_SCHEMA: Final = f"signature.v{SIGNATURE_VERSION}"
DEAD_LETTER_SCHEMA: Final = f"dead_letter.v{DEAD_LETTER_VERSION}"
DECISION_SCHEMA: Final = f"decision.v{DECISION_VERSION}"
SUPPRESSION_SCHEMA: Final = f"suppression.v{SUPPRESSION_VERSION}"
SCHEMA_NAMES = (
    REQUEST_EVENT_SCHEMA,
    ALERT_SCHEMA,
    ACTION_SCHEMA,
    SIGNATURE_SCHEMA,
    DEAD_LETTER_SCHEMA,
    DECISION_SCHEMA,
    SUPPRESSION_SCHEMA,
)

Validator = Callable[[Any], Any]


def schema_path(name: str) -> Path:
    """File holding the schema of wire name ``name``, e.g. ``alert.v1``."""
    return SCHEMA_DIR / f"{name}.json"


def load_schema(name: str) -> dict[str, Any]:
    """The parsed schema document of wire name ``name``."""
    return orjson.loads(schema_path(name).read_bytes())


def compile_validator(name: str) -> Validator:
    """A fastjsonschema validator for wire name ``name``.

    Defaults are not filled in: a validated record must stay exactly what the
    producer sent, or unknown-field passthrough and dead letters would lie.
    """
    return fastjsonschema.compile(load_schema(name), use_default=False)
