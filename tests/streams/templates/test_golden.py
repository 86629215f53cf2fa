"""Template extraction reproduces recorded matches; its edge cases and its generated tables.

``data/golden_matches.jsonl.gz`` holds ~18 700 (config, prompt, system prompt) cases and the
match the extractor gave for each when it was recorded: the distinct prompts of the ``small``
simulation (seed 1), ``core_traffic`` (seed 1), the strings of the hostile corpus, generated
fragment soup and Unicode edge cases, huge prompts past ``max_prompt_chars``, and a second
config with small limits and the slot rules off.  The MinHash is stored as the 8-byte BLAKE2b
of its little-endian uint32 values.  Any change of a template id, exact id, MinHash, feature,
wrapper flag or skeleton on any of them fails here: a change of ids is a deliberate migration
(gateway fingerprints and stored state carry them), to be recorded anew, never a side effect.
"""

from __future__ import annotations

import gzip
import hashlib
import importlib.util
import struct
import unicodedata
from pathlib import Path

import orjson
import pytest

from streams import _native
from streams.config import TemplateConfig
from streams.templates.extractor import EXTRACTION_FAILED, PLAIN_PREFIX, TemplateExtractor

DATA = Path(__file__).parent / "data" / "golden_matches.jsonl.gz"
ROOT = Path(__file__).parents[3]

CONFIGS = {
    "default": TemplateConfig(cache_size=0),
    "small_limits": TemplateConfig(
        num_perm=16,
        seed=7,
        lsh_bands=4,
        lsh_rows=4,
        shingle_size=3,
        id_tokens=2,
        plain_id_tokens=3,
        min_wrapper_tokens=2,
        wrapper_cue_share=0.3,
        label_max_tokens=2,
        max_prompt_chars=101,
        length_buckets=(5, 10, 20, 40, 80, 120, 160, 200),
        slot_quotes=False,
        slot_named_entities=False,
        slot_list_markers=False,
        cache_size=0,
    ),
}


def _minhash_digest(minhash: tuple[int, ...]) -> str:
    packed = struct.pack(f"<{len(minhash)}I", *minhash)
    return hashlib.blake2b(packed, digest_size=8).hexdigest()


def _cases() -> dict[str, list[dict]]:
    by_config: dict[str, list[dict]] = {name: [] for name in CONFIGS}
    with gzip.open(DATA, "rb") as f:
        for line in f:
            case = orjson.loads(line)
            by_config[case["config"]].append(case)
    return by_config


@pytest.mark.parametrize("config", sorted(CONFIGS))
def test_extractor_reproduces_the_golden_matches(config: str) -> None:
    cases = _cases()[config]
    assert len(cases) > (15_000 if config == "default" else 500)
    matches = TemplateExtractor(CONFIGS[config]).extract_texts(
        [(c["prompt"], c["system"]) for c in cases]
    )
    differ = []
    for case, m in zip(cases, matches, strict=True):
        got = {
            "template_id": m.template_id,
            "exact_id": m.exact_id,
            "minhash": _minhash_digest(m.minhash),
            "features": sorted(m.features),
            "wrapper": m.wrapper,
            "skeleton": m.skeleton,
        }
        want = {k: case[k] for k in got}
        if got != want:
            differ.append((case["prompt"], case["system"], want, got))
    assert not differ, f"{len(differ)} of {len(cases)} differ, e.g. {differ[:2]!r}"


def test_lone_surrogates_are_extracted_as_replaced_text() -> None:
    x = TemplateExtractor(TemplateConfig(cache_size=0))
    texts = [("ok \ud800 text", None), ("plain", "sys \udfff"), ("fine", None)]
    replaced = [("ok ? text", None), ("plain", "sys ?"), ("fine", None)]
    assert x.extract_texts(texts) == x.extract_texts(replaced)
    assert x.extract(*texts[0]) == x.extract(*replaced[0])


class _FailingCore:
    """A native core that fails on every prompt holding "boom", the way the binding reports it."""

    def __init__(self, real: _native.Extractor, failure: str) -> None:
        self.real, self.failure = real, failure

    def extract_many(self, texts):
        out = self.real.extract_many(texts)
        return [
            self.failure if "boom" in (p or "") else m for (p, _), m in zip(texts, out, strict=True)
        ]


@pytest.mark.parametrize("failure", ["error: template extraction failed: x", "panic: y"])
def test_a_native_failure_gives_a_plain_match_of_its_own(failure: str) -> None:
    x = TemplateExtractor(TemplateConfig(cache_size=0))
    x._core = _FailingCore(x._core, failure)  # fault injection
    a, b, ok = x.extract_texts([("boom one", None), ("boom two", "sys"), ("fine", None)])
    assert ok == TemplateExtractor().extract("fine")
    for m in (a, b):
        assert m.template_id.startswith(PLAIN_PREFIX) and not m.wrapper
        assert m.features == frozenset({EXTRACTION_FAILED})
        assert m.minhash == (0xFFFFFFFF,) * x.config.num_perm
    assert a.template_id != b.template_id
    assert x.extract("boom one") == a  # deterministic, and the same one at a time


def test_tables_are_generated_from_the_lexicon() -> None:
    """The word lists and Unicode classes compiled into the crate are today's lexicon's."""
    tool = ROOT / "streams" / "native" / "tools" / "gen_tables.py"
    spec = importlib.util.spec_from_file_location("gen_tables", tool)
    assert spec and spec.loader
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    if unicodedata.unidata_version != _native.UNIDATA_VERSION:
        pytest.skip(
            f"tables are of Unicode {_native.UNIDATA_VERSION}, "
            f"this Python has {unicodedata.unidata_version}"
        )
    assert gen.OUT.read_text(encoding="utf-8") == gen.render(), "rerun tools/gen_tables.py"
