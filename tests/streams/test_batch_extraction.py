"""Batch extraction is only faster: every batch API equals its one-at-a-time counterpart."""

from __future__ import annotations

import dataclasses

from streams.config import TemplateConfig
from streams.detector import Detector
from streams.records import PromptFingerprint
from streams.templates.extractor import TemplateExtractor
from streams.wire.fingerprint import prompt_fingerprint, prompt_fingerprints
from tests.support.core_traffic import generate

PROMPTS = [
    ("Solve the following problem step by step and return JSON: what is 17 * 23?", None),
    ("how do I squash the last 3 commits", None),
    ("", "You are a careful math tutor. Answer in French."),
    ("Translate to German: good morning", "You are a translator."),
    ("how do I squash the last 3 commits", None),  # repeated within the batch
    ("word", None),  # one token: no bigram
    ("", None),  # no text at all
]


def test_extract_texts_equals_extract_with_and_without_cache():
    for cfg in (TemplateConfig(), TemplateConfig(cache_size=0)):
        batched = TemplateExtractor(cfg).extract_texts(PROMPTS)
        single = [TemplateExtractor(cfg).extract(p, s) for p, s in PROMPTS]
        assert batched == single
        assert [m.skeleton for m in batched] == [m.skeleton for m in single]


def test_batch_fingerprints_equal_single_ones():
    single = [prompt_fingerprint(p, system_prompt=s) for p, s in PROMPTS]
    assert prompt_fingerprints(PROMPTS) == single


def test_detector_extract_many_equals_extract_per_event():
    events = generate(seed=2).events[:400]
    fingerprinted = dataclasses.replace(
        events[0],
        prompt=None,
        system_prompt=None,
        prompt_fingerprint=PromptFingerprint("w-abc", (1, 2, 3)),  # wrong length: mismatch
    )
    batch = [*events, fingerprinted]
    many, one = Detector(), Detector()
    assert many.extract_many(batch) == [one.extract(e) for e in batch]
    assert many.counters == one.counters
