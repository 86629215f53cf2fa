"""Prompt fingerprints for gateways; the code lives in ``streams.wire.fingerprint``.

Gateways import this path, so it stays stable while the package layout may change.
"""

from streams.wire.fingerprint import prompt_fingerprint, prompt_fingerprints

__all__ = ["prompt_fingerprint", "prompt_fingerprints"]
