"""Privacy-mode fingerprints: what a gateway publishes instead of prompt text."""

from __future__ import annotations

import pytest

from streams.config import TemplateConfig
from streams.records import PromptFingerprint
from streams.templates.extractor import TemplateExtractor
from streams.wire.fingerprint import prompt_fingerprint

WRAPPED = (
    "Solve the following problem step by step and return JSON with fields reasoning and "
    "answer:\n\nOlga has 37 marbles and gives 4 to each of 5 friends. How many are left?"
)


def test_fingerprint_matches_what_the_detector_computes_from_text():
    fp = prompt_fingerprint(WRAPPED)
    match = TemplateExtractor().extract(WRAPPED)
    assert isinstance(fp, PromptFingerprint)
    assert (fp.template_id, fp.minhash) == (match.template_id, match.minhash)
    assert fp.template_id.startswith("w-")


def test_detector_reading_a_fingerprint_sees_the_same_template():
    fp = prompt_fingerprint(WRAPPED, system_prompt="You are a careful math tutor.")
    seen = TemplateExtractor().extract(None, fingerprint=fp)
    direct = TemplateExtractor().extract(WRAPPED, system_prompt="You are a careful math tutor.")
    assert (seen.template_id, seen.minhash) == (direct.template_id, direct.minhash)


def test_fingerprint_carries_no_prompt_text():
    fp = prompt_fingerprint(WRAPPED)
    published = repr(fp).lower()
    for word in ("olga", "marbles", "friends", "solve", "reasoning", "json"):
        assert word not in published


def test_gateway_with_other_settings_passes_its_own_extractor():
    ext = TemplateExtractor(TemplateConfig(num_perm=32, lsh_bands=8, lsh_rows=4))
    fp = prompt_fingerprint(WRAPPED, extractor=ext)
    assert len(fp.minhash) == 32
    with pytest.raises(ValueError, match="expected 64"):
        TemplateExtractor().extract(None, fingerprint=fp)


def test_non_text_prompt_is_a_clear_error():
    with pytest.raises(TypeError, match="prompt must be str"):
        prompt_fingerprint(b"bytes")  # type: ignore[arg-type]


def test_gateways_keep_their_import_path():
    """Gateways import ``streams.fingerprint``; it is the wire package's code."""
    import streams.fingerprint
    import streams.wire.fingerprint

    assert streams.fingerprint.prompt_fingerprint is streams.wire.fingerprint.prompt_fingerprint
    assert streams.fingerprint.prompt_fingerprints is streams.wire.fingerprint.prompt_fingerprints
