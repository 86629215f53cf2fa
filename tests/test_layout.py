"""The import rules of the architecture map (README), checked on the source.

Every ``import`` and ``from ... import`` is read with ``ast``, including those inside
functions, so a lazy import cannot slip past.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SOURCE_DIRS = ("streams", "agents", "bench", "tests")

MAX_LINES = 600
"""Longest module of streams/ and agents/; word lists beyond it belong in package data."""


def _module(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """Project modules ``path`` imports, at any depth (``from a import b`` counts ``a.b`` too)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return {name for name in found if name.split(".")[0] in ("streams", "agents")}


def _sources(*dirs: str) -> list[Path]:
    return sorted(p for d in dirs for p in (REPO / d).rglob("*.py") if "__pycache__" not in p.parts)


def _within(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


def _violations(files: list[Path], forbidden: str) -> list[str]:
    return [
        f"{_module(p)} imports {name}"
        for p in files
        for name in sorted(_imports(p))
        if _within(name, forbidden)
    ]


def test_streams_never_imports_agents():
    assert _violations(_sources("streams"), "agents") == []


def test_stages_import_no_wire_code():
    """Stages take and give records and messages; bytes are the wire package's business."""
    assert _violations(_sources("streams/stages"), "streams.wire") == []


def test_errors_and_config_are_leaves():
    """Every module may import ``streams.errors`` and ``streams.config``: they import nothing
    else of the project (``streams.config`` only the exceptions it raises)."""
    assert _imports(REPO / "streams" / "errors.py") == set()
    assert _imports(REPO / "streams" / "config.py") == {
        "streams.errors",
        "streams.errors.ConfigError",
    }


def test_nothing_imports_the_command_line():
    """``agents.cli`` only parses arguments and calls a tool; library code never needs it.
    (The ``distillwatch`` script and ``python -m agents.cli`` reach it by name.)"""
    cli = REPO / "agents" / "cli"
    library = [p for p in _sources("streams", "agents", "bench") if cli not in p.parents]
    assert _violations(library, "agents.cli") == []


@pytest.mark.parametrize(
    ("directory", "forbidden"),
    [
        # the stages are the service's logic without its I/O: replay runs them in process
        ("agents/stages", "agents.service"),
        ("agents/stages", "agents.tools"),
        ("agents/stages", "agents.kafka"),
        # Kafka I/O knows records and offsets, not what the stages or the service make of them
        ("agents/kafka", "agents.stages"),
        ("agents/kafka", "agents.service"),
        ("agents/kafka", "agents.tools"),
        # tools start workers as processes, never the service in process; and the reverse
        ("agents/tools", "agents.service"),
        ("agents/service", "agents.tools"),
        ("streams", "agents.service"),
        # the gateway library is embedded in the API gateway: Kafka I/O and the core only
        ("agents/gateway", "agents.service"),
        ("agents/gateway", "agents.stages"),
        ("agents/gateway", "agents.tools"),
        ("agents/service", "agents.gateway"),
        ("agents/tools", "agents.gateway"),
        ("agents/kafka", "agents.gateway"),
        ("agents/stages", "agents.gateway"),
    ],
)
def test_agents_packages_import_downwards(directory, forbidden):
    assert _violations(_sources(directory), forbidden) == []


def test_agents_tests_mirror_the_tree():
    """tests/agents/<package>/ tests agents/<package>/: no test folder for a package gone."""
    folders = {p.name for p in (REPO / "tests" / "agents").iterdir() if p.is_dir()}
    folders.discard("__pycache__")
    assert folders, "tests/agents has no package folders"
    assert {f for f in folders if not (REPO / "agents" / f / "__init__.py").is_file()} == set()
    loose = sorted(p.name for p in (REPO / "tests" / "agents").glob("test_*.py"))
    # only the top-level modules of agents/ (settings.py) are tested at the top
    assert all((REPO / "agents" / (name.removeprefix("test_"))).is_file() for name in loose), loose


@pytest.mark.parametrize("directory", ["bench", "tests"])
def test_no_sys_path_edits(directory):
    """Tests and benchmarks import the generators as ``tests.support``, never by path."""
    edits = []
    for path in _sources(directory):
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Attribute)
                and node.attr == "path"
                and isinstance(node.value, ast.Name)
                and node.value.id == "sys"
            ):
                edits.append(f"{path.relative_to(REPO)}:{node.lineno}")
    assert edits == []


@pytest.mark.parametrize("directory", ["streams", "agents"])
def test_modules_stay_small(directory):
    long = {
        str(p.relative_to(REPO)): n
        for p in _sources(directory)
        if (n := len(p.read_text().splitlines())) > MAX_LINES
    }
    assert long == {}
