"""Cheap per-prompt features: language, category, structured-output and reasoning asks."""

from __future__ import annotations

import re
from collections import Counter

from streams.config import TemplateConfig
from streams.templates.lexicon import (
    CATEGORY_WEIGHT,
    CATEGORY_WORDS,
    CODE_LANGS,
    CODE_MARKERS,
    COT_PHRASES,
    LANG_OF,
    SCRIPT,
    STRUCTURED,
)
from streams.templates.normalise import DEFAULT_CONFIG, PhraseSet, split_words

_STRUCTURED_KINDS = frozenset({"asks_json", "asks_yaml", "asks_xml", "asks_table", "asks_fields"})
# One flat loop of (needle, feature) pairs: a generator per feature costs more than the scans.
_STRUCTURED_NEEDLES = tuple((n, name) for name, needles in STRUCTURED for n in needles)
_LIST_LINES = re.compile(r"(?m)^[ \t]*(?:[-*\u2022+]|\d{1,3}[.)])[ \t]+\S")
_CATEGORY_OF = {w: cat for cat, words in CATEGORY_WORDS.items() for w in words}
_COT_PHRASE_SET = PhraseSet(COT_PHRASES)


def _language(sample: str, words: list[str]) -> str:
    if not sample.isascii():
        for lang, script in SCRIPT:
            if len(script.findall(sample)) >= 5:
                return lang
    counts = Counter(filter(None, map(LANG_OF.get, words)))
    return max(sorted(counts), key=counts.__getitem__) if counts else "unknown"


def _category(words: list[str]) -> str:
    counts = Counter(filter(None, map(_CATEGORY_OF.get, words)))
    if not counts:
        return "general"
    scores = {cat: n * CATEGORY_WEIGHT.get(cat, 1.0) for cat, n in counts.items()}
    return max(sorted(scores), key=scores.__getitem__)


def prompt_features(
    prompt: str, system_prompt: str | None, config: TemplateConfig | None = None
) -> frozenset[str]:
    """Cheap structural features: what the prompt asks for matters more than what it says."""
    cfg = config or DEFAULT_CONFIG
    raw = prompt if system_prompt is None else f"{system_prompt}\n\n{prompt}"
    low = raw.lower()
    words = split_words(low)
    feats = {f"length:{_length_bucket(len(prompt), cfg.length_buckets)}"}
    if _COT_PHRASE_SET.found_in(words, low) or "<thinking>" in low:
        feats.add("asks_step_by_step")
    for needle, name in _STRUCTURED_NEEDLES:
        if needle in low:
            feats.add(name)
    if not feats.isdisjoint(_STRUCTURED_KINDS):
        feats.add("asks_structured")
    if any(m in low for m in CODE_MARKERS):
        for lang, needles in CODE_LANGS:
            if any(n in low for n in needles):
                feats.add("has_code")
                feats.add(f"code:{lang}")
                break
        else:
            if "```" in low:
                feats.add("has_code")
    if len(_LIST_LINES.findall(raw)) >= 2:
        feats.add("has_list")
    if system_prompt:
        feats.add("has_system_prompt")
    feats.add(f"language:{_language(low[:600], words[:120])}")
    feats.add(f"category:{_category(words)}")
    return frozenset(feats)


def _length_bucket(n: int, buckets: tuple[int, ...]) -> str:
    names = ("xs", "s", "m", "l", "xl", "xxl", "xxxl")
    for i, limit in enumerate(buckets):
        if n < limit:
            return names[i] if i < len(names) else f"lt{limit}"
    i = len(buckets)
    return names[i] if i < len(names) else f"ge{buckets[-1]}"
