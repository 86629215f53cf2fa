"""Prompts in languages other than English: templates and the words they are filled with.

Each template carries the kind of task it asks for.  Slots common to every
language (``Lang``, ``error``, ``days``, ``city``, ``paragraph``, ``equation``)
are filled by ``prompts``; the rest come from ``WORDS`` of the same language,
and a template only uses slots its language provides.

Both tables are package data (``streams/simulation/data/localized.json``).
"""

from __future__ import annotations

from streams.simulation.data import load

_TABLES = load("localized.json")

TEMPLATES: dict[str, tuple[tuple[str, str], ...]] = _TABLES["TEMPLATES"]
"""Per language: (template, task kind) pairs."""
WORDS: dict[str, dict[str, tuple[str, ...]]] = _TABLES["WORDS"]
"""Per language: the words each slot is filled with."""
