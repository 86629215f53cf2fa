"""The native template extractor (``streams._native.Extractor``) against the Python one.

Both must give the same ``TemplateMatch`` (template id, exact id, MinHash, features, wrapper
flag, skeleton) on every prompt: the simulator's traffic, ``core_traffic`` and hostile or
generated text.  The one documented exception is text holding lone surrogates, which Rust
strings cannot hold: the native extractor reports it ("surrogates: ...") and the caller
falls back to the Python extractor (``extract_with_fallback`` below shows how).

``DISTILLWATCH_NATIVE_FULL=1`` compares every distinct prompt of the ``harvested`` scenario
instead of a fixed stride of them (about 200 000 prompts, a few minutes).
"""

from __future__ import annotations

import os
import random
import unicodedata

import orjson
import pytest
from core_traffic import generate
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from streams.simulation import simulate
from streams.templates import TemplateConfig, TemplateExtractor, TemplateMatch

native = pytest.importorskip("streams._native", reason="the native crate is not built")

Pair = tuple[str | None, str | None]


def native_extractor(cfg: TemplateConfig) -> native.Extractor:
    return native.Extractor(
        num_perm=cfg.num_perm,
        seed=cfg.seed,
        shingle_size=cfg.shingle_size,
        id_tokens=cfg.id_tokens,
        plain_id_tokens=cfg.plain_id_tokens,
        min_wrapper_tokens=cfg.min_wrapper_tokens,
        wrapper_cue_share=cfg.wrapper_cue_share,
        label_max_tokens=cfg.label_max_tokens,
        max_prompt_chars=cfg.max_prompt_chars,
        length_buckets=list(cfg.length_buckets),
        slot_quotes=cfg.slot_quotes,
        slot_named_entities=cfg.slot_named_entities,
        slot_list_markers=cfg.slot_list_markers,
    )


def as_tuple(m: TemplateMatch) -> tuple:
    return (m.template_id, m.exact_id, list(m.minhash), sorted(m.features), m.wrapper, m.skeleton)


def extract_with_fallback(
    nat: native.Extractor, py: TemplateExtractor, texts: list[Pair]
) -> list[tuple]:
    """Native matches, the Python extractor's for the items the native one refuses."""
    out = nat.extract_many(texts)
    refused = [i for i, r in enumerate(out) if isinstance(r, str)]
    if refused:
        for i, m in zip(refused, py.extract_texts([texts[i] for i in refused]), strict=True):
            out[i] = as_tuple(m)
    return out


def has_surrogates(text: str | None) -> bool:
    return text is not None and any(0xD800 <= ord(c) < 0xE000 for c in text)


def compare(pairs: list[Pair], cfg: TemplateConfig | None = None) -> dict[str, list]:
    """Compare both extractors on distinct pairs: mismatches, and refusals by kind."""
    cfg = cfg or TemplateConfig(cache_size=0)
    pairs = list(dict.fromkeys(pairs))
    py = TemplateExtractor(cfg)
    nat = native_extractor(cfg)
    want = [as_tuple(m) for m in py.extract_texts(pairs)]
    got = nat.extract_many(pairs)
    report: dict[str, list] = {"compared": [], "mismatch": [], "surrogates": [], "error": []}
    for pair, w, g in zip(pairs, want, got, strict=True):
        if isinstance(g, str):
            kind = "surrogates" if g.startswith("surrogates:") else "error"
            report[kind].append((pair, g))
            continue
        report["compared"].append(pair)
        if g != w:
            report["mismatch"].append((pair, w, g))
    return report


def assert_identical(report: dict[str, list], allow_surrogates: bool = False) -> None:
    n = len(report["compared"])
    first = report["mismatch"][:3]
    assert not report["mismatch"], f"{len(report['mismatch'])} of {n} differ, e.g. {first!r}"
    assert not report["error"], report["error"][:3]
    if allow_surrogates:
        for (p, s), _ in report["surrogates"]:
            assert has_surrogates(p) or has_surrogates(s)
    else:
        assert not report["surrogates"]


# ------------------------------------------------------------------------- (a) simulator


def _simulated(scenario: str, seed: int, stride: int) -> list[Pair]:
    pairs = list(
        dict.fromkeys((e.prompt, e.system_prompt) for e in simulate(scenario, seed).events)
    )
    return pairs[::stride]


@pytest.mark.parametrize("seed", [1, 2])
def test_simulator_small(seed: int) -> None:
    report = compare(_simulated("small", seed, 1))
    assert len(report["compared"]) > 4000
    assert_identical(report)


@pytest.mark.parametrize("seed", [1, 2])
def test_simulator_harvested(seed: int) -> None:
    full = os.environ.get("DISTILLWATCH_NATIVE_FULL", "") == "1"
    report = compare(_simulated("harvested", seed, 1 if full else 10))
    assert len(report["compared"]) > (90_000 if full else 9000)
    assert_identical(report)


# ------------------------------------------------------------------------- (b) core traffic


def test_core_traffic() -> None:
    pairs = [(e.prompt, e.system_prompt) for seed in (1, 2, 3) for e in generate(seed).events]
    report = compare(pairs)
    assert len(report["compared"]) > 1000
    assert_identical(report)


# ------------------------------------------------------------------------- (c) hostile text


def _strings(value: object, depth: int = 0) -> list[str]:
    if isinstance(value, str):
        return [value]
    if depth > 50:  # deeply nested arrays hold no strings worth the stack
        return []
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in (*_strings(k), *_strings(v, depth + 1))]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v, depth + 1)]
    return []


def test_hostile_corpus() -> None:
    from service.hostile import hostile_corpus

    bases = generate(1).events[:200]
    corpus = hostile_corpus(bases, 600)
    pairs: list[Pair] = []
    for _, value, _ in corpus.records:
        try:
            doc = orjson.loads(value)
        except orjson.JSONDecodeError:
            text = value.decode("utf-8", "surrogateescape")  # lone surrogates for bad bytes
            pairs += [(text, None), (None, text), (value.decode("latin-1"), None)]
            continue
        strings = _strings(doc)
        pairs += [(s, None) for s in strings]
        if isinstance(doc, dict):
            prompt, system = doc.get("prompt"), doc.get("system_prompt")
            pairs.append(
                (
                    prompt if isinstance(prompt, str) else None,
                    system if isinstance(system, str) else None,
                )
            )
    report = compare(pairs)
    assert len(report["compared"]) > 500
    assert report["surrogates"], "the corpus has undecodable bytes: surrogates must be refused"
    assert_identical(report, allow_surrogates=True)


FRAGMENTS = [
    "```python\ndef f(x):\n    return x\n```",
    "```\nunclosed fence",
    "    indented code line",
    '{"a": {"b": [1, 2.5e-3, null]}}',
    "{}",
    "https://example.com/a?b=c&d=e",
    "www.x.org",
    "mail john.doe+tag@sub.example.co.uk",
    "550e8400-e29b-41d4-a716-446655440000",
    "0xDEADbeef",
    "deadbeef12",
    "2024-01-31",
    "3.14159",
    "1,000,000",
    "1e10",
    "Alice Smith",
    "John",
    "New York City",
    "Python",
    "JSON",
    "French",
    "\u201cquoted words\u201d",
    '"word"',
    "'single'",
    "`tick`",
    '"""triple\nquote"""',
    "<task>do</task>",
    "</x>",
    "<answer>42</answer>",
    "\n- item\n- item",
    "\n1. one\n2) two",
    "\na) x",
    "Question:",
    "Solve the following problem step by step:",
    "Return JSON with the fields a, b.",
    "You are an expert.",
    "Explain your reasoning.",
    "be concise.",
    "Answer:",
    "\n\n",
    "\r\n",
    "\t",
    "\u00a0",
    "\u2028",
    "\u3000",
    "\x1c",
    "ΣΑΣ",
    "İstanbul",
    "ǅ",
    "ﬁ",
    "ß",
    "\u2126",
    "\u212a",
    "\u0131",
    "\u017f",
    "\u0301",
    "²",
    "٣",
    "一二三",
    "日本語のテキストです",
    "한국어 문장입니다",
    "Привет мир",
    "مرحبا بالعالم",
    "नमस्ते दुनिया",
    "el los las una",
    "le les une des",
    "der die das",
    "não é em",
    "\U0001f600",
    "\u200d",
    "\ufeff",
    "\x00",
    "!!!",
    "...",
    "a.b.c",
    "e-mail",
    "step-by-step",
    "you're",
    "let's think",
    "<thinking>",
    "#include",
    "SELECT * FROM t GROUP BY x",
    "fn main() {}",
    "console.log(x) => y",
    "$ sudo ls",
]

fragment_text = st.lists(
    st.one_of(
        st.sampled_from(FRAGMENTS),
        st.text(max_size=40),
        st.text(alphabet=st.characters(codec="utf-8"), max_size=20),
        st.sampled_from([" ", "\n", ". ", ": ", "\n\n", "  "]),
    ),
    max_size=25,
).map("".join)


def _generated(n: int) -> list[Pair]:
    drawn: list[Pair] = []

    @settings(
        max_examples=n,
        derandomize=True,
        database=None,
        phases=[Phase.generate],
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(
        st.one_of(st.none(), fragment_text, st.text()),
        st.one_of(st.none(), st.just(""), fragment_text),
    )
    def draw(prompt: str | None, system: str | None) -> None:
        drawn.append((prompt, system))

    draw()
    return drawn


def test_generated_text() -> None:
    rng = random.Random(5)
    pairs = _generated(3000)
    # Whitespace-only, empty, huge (past max_prompt_chars, so bounded) and odd-length texts.
    pairs += [("", None), (" ", None), ("\n\t \u3000", None), ("", "  "), (None, "x")]
    words = [f for f in FRAGMENTS if f.strip()]
    pairs += [(" ".join(rng.choices(words, k=k)), None) for k in (3000, 5000)]
    pairs += [("A" * 40_000, None), ("é" * 16_001, "Σ" * 16_003), ("ab" * 8000 + "c", None)]
    report = compare(pairs)
    assert len(report["compared"]) > 2500
    assert_identical(report, allow_surrogates=True)


def test_small_limits_and_other_settings() -> None:
    cfg = TemplateConfig(
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
    )
    pairs = _simulated("small", 1, 5) + _generated(300)
    report = compare(pairs, cfg)
    assert len(report["compared"]) > 1000
    assert_identical(report, allow_surrogates=True)


def test_fallback_covers_surrogates() -> None:
    cfg = TemplateConfig(cache_size=0)
    py, nat = TemplateExtractor(cfg), native_extractor(cfg)
    texts: list[Pair] = [("ok \ud800 text", None), ("plain", "sys \udfff"), ("fine", None)]
    out = nat.extract_many(texts)
    assert [isinstance(r, str) for r in out] == [True, True, False]
    assert extract_with_fallback(nat, py, texts) == [as_tuple(m) for m in py.extract_texts(texts)]


def test_tables_are_generated_from_this_python() -> None:
    """The word lists and Unicode classes compiled into the crate are today's Python ones."""
    import importlib.util
    from pathlib import Path

    tool = Path(__file__).parents[1] / "streams" / "native" / "tools" / "gen_tables.py"
    spec = importlib.util.spec_from_file_location("gen_tables", tool)
    assert spec and spec.loader
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    if unicodedata.unidata_version != native.UNIDATA_VERSION:
        pytest.skip(
            f"tables are of Unicode {native.UNIDATA_VERSION}, "
            f"this Python has {unicodedata.unidata_version}"
        )
    assert gen.OUT.read_text(encoding="utf-8") == gen.render(), "rerun tools/gen_tables.py"
