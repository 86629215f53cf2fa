"""Template extraction: normalisation, wrapper/payload split, grouping, features, determinism."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from streams._native import canonical_tokens, normalise, skeleton

from streams.config import WRAPPER_PREFIX, TemplateConfig
from streams.records import PromptFingerprint
from streams.templates.extractor import EMPTY_TEMPLATE_ID, PLAIN_PREFIX, TemplateExtractor

X = TemplateExtractor()

PAYLOADS = [
    "A train leaves Boston at 3pm going 60 mph. When does it reach Denver, 215 miles away?",
    "Write a Python function that merges overlapping intervals. It must run in O(n log n) "
    "time and handle an empty list. Include a few unit tests.",
    "I have this code:\n\n```python\ndef f(xs):\n    return xs[len(xs)]\n```\n\nIt fails with "
    "IndexError: list index out of range. Why?",
    "Write a melancholic poem of about 120 words about a lighthouse keeper who finds a "
    "message in a bottle.",
    "How many positive integers below 1000 are divisible by 7 or 11 but not both? Prove it.",
    "Explain why ice floats on water, using an analogy a ten-year-old would understand.",
]

PAYLOAD_WORDS = ["boston", "intervals", "indexerror", "lighthouse", "divisible", "ice"]

# One wrapper, written four ways: reordering, synonym swaps, different labels.
PARAPHRASES = [
    'Solve the following problem step by step and return JSON with fields "reasoning" and '
    '"answer":\n\n{p}',
    'Work through the problem below step-by-step, then respond in JSON with the keys "reasoning" '
    'and "answer":\n\n{p}',
    'Return JSON with fields "reasoning" and "answer" after solving the following problem step '
    "by step:\n{p}",
    "Please solve the problem below, thinking step by step, and format your answer as JSON with "
    'keys "reasoning" and "answer".\n\n{p}',
]

SUFFIX_WRAPPER = (
    "{p}\n\nThink through this carefully before answering. Show your reasoning, then give the "
    "final answer on its own line prefixed with 'Final answer:'."
)
ROLE_WRAPPER = (
    "You are an expert software engineer. Your task is to answer the user's question with a "
    "complete, well-commented solution.\n\nQuestion: {p}\n\nFormat your response as JSON with "
    "keys explanation, code, complexity."
)

ORDINARY = [
    "How do I reverse a list in Python?",
    "How do I center a div horizontally and vertically in CSS?",
    "How do I ask my landlord to fix the heating without sounding rude?",
    "What should I pack for a five-day hiking trip in the Alps in October?",
    "Why does my sourdough starter smell like nail polish remover?",
    "Can you explain step by step how a bill becomes law in the UK?",
    "Give me three dinner ideas with chickpeas and spinach. Answer in JSON please.",
    "I'm stuck on this. What is the derivative of x^3 sin(x)? Any ideas?",
    "Summarise the pros and cons of Kubernetes for a small bakery's website.",
    "Is it rude to bring a plus-one to a wedding if the invitation does not mention one?",
    "My monstera has yellow leaves and I water it every 4 days. What am I doing wrong?",
    "Compare renting and buying a flat in Lisbon for someone earning 40k a year.",
]


# ----------------------------------------------------------------------------- normalise


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=400))
def test_normalise_is_idempotent_and_total_on_arbitrary_text(text):
    once = normalise(text)
    assert normalise(once) == once


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            [
                '"',
                "'",
                "`",
                "```",
                "{",
                "}",
                "<a>",
                "</a>",
                "\n",
                "\n\n",
                "    ",
                "- ",
                "1. ",
                "x",
                "Word",
                " ",
                ":",
                ".",
                "7",
                "0x1f",
                "@",
                "www.",
                "http://",
                "é",
                "\t",
            ]
        ),
        max_size=40,
    ).map("".join)
)
def test_normalise_is_idempotent_on_delimiter_soup(text):
    once = normalise(text)
    assert normalise(once) == once


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300))
def test_no_digit_survives_normalisation(text):
    assert not re.search(r"\d", normalise(text))


@given(
    prefix=st.text(alphabet="abcdefgh ", max_size=20),
    number=st.integers(min_value=0, max_value=10**12) | st.floats(0, 1e6, allow_nan=False),
)
def test_numbers_become_slots(prefix, number):
    # lstrip: a line indented by four spaces is a code block, slotted as a whole.
    out = normalise(f"{prefix.lstrip()} {number} items")
    assert "<#num>" in out
    assert str(number) not in out


@pytest.mark.parametrize(
    ("text", "slot"),
    [
        ("see https://example.com/a?b=1 now", "<#url>"),
        ("see www.example.org now", "<#url>"),
        ("mail jane.doe+x@mail.example.co.uk today", "<#email>"),
        ("id 123e4567-e89b-12d3-a456-426614174000 ok", "<#uuid>"),
        ("commit deadbeef1234 and 0x1F", "<#hex>"),
        ('he said "hello there friend" loudly', "<#quote>"),
        ("```python\nprint(1)\n```", "<#code>"),
        ("intro\n\n    indented code\n    more code\n", "<#code>"),
        ("things:\n- one\n- two", "<#item>"),
        ("yesterday we met Alice Smith in town", "<#name>"),
        ('respond with {"answer": 1, "why": "x"}', "<#json>"),
        ("<task>do something</task> now", "<task> <#quote>"),
    ],
)
def test_normalise_slots_volatile_material(text, slot):
    assert slot in normalise(text)


def test_normalise_keeps_vocabulary_and_folds_case_and_space():
    out = normalise('Return   JSON\twith the field "reasoning"  in English.')
    assert out == "return json with the field reasoning in english."


def test_canonical_tokens_fold_synonyms_and_reordering():
    a = canonical_tokens("solve the following problem step by step and return json with keys")
    b = canonical_tokens("respond in json with fields; work through the problem below stepwise")
    assert set(a) == set(b)


# ----------------------------------------------------------------------------- skeleton / ids


@pytest.mark.parametrize("wrapper", [*PARAPHRASES, SUFFIX_WRAPPER, ROLE_WRAPPER])
def test_wrapper_survives_and_payload_does_not(wrapper):
    matches = [X.extract(wrapper.format(p=p)) for p in PAYLOADS]
    assert all(m.wrapper for m in matches)
    assert len({m.template_id for m in matches}) == 1
    assert len({m.exact_id for m in matches}) == 1
    assert matches[0].template_id.startswith(WRAPPER_PREFIX)
    assert "<#payload>" in matches[0].skeleton
    for word in PAYLOAD_WORDS:
        assert word not in matches[0].skeleton


def test_paraphrases_reorderings_and_synonym_swaps_share_a_template_id():
    ids = {X.extract(w.format(p=p)).template_id for w in PARAPHRASES for p in PAYLOADS}
    assert len(ids) == 1


def test_different_wrappers_get_different_ids():
    ids = {
        X.extract(w.format(p=PAYLOADS[0])).template_id
        for w in (PARAPHRASES[0], SUFFIX_WRAPPER, ROLE_WRAPPER)
    }
    assert len(ids) == 3


def test_ordinary_prompts_keep_ids_of_their_own():
    matches = [X.extract(p) for p in ORDINARY]
    assert len({m.template_id for m in matches}) == len(ORDINARY)
    assert not any(m.wrapper for m in matches)
    assert all(m.template_id.startswith(PLAIN_PREFIX) for m in matches)


def test_same_question_with_other_numbers_or_names_is_one_plain_template():
    a = X.extract("A train leaves Boston at 3pm going 60 mph. How far is Denver?")
    b = X.extract("A train leaves Lyon at 5pm going 80 mph. How far is Oslo?")
    assert a.template_id == b.template_id


def test_payload_after_an_introducing_colon_is_payload_even_with_cue_words():
    prompt = "Solve the following problem step by step:\nWrite a function that returns JSON."
    text, has_payload = skeleton(normalise(prompt))
    assert text == "solve the following problem step by step: <#payload>"
    assert has_payload


def test_cue_words_inside_a_payload_block_do_not_leak_into_the_wrapper():
    a = SUFFIX_WRAPPER.format(p="Serialise a tree to JSON. Keep key order. Handle cycles.")
    b = SUFFIX_WRAPPER.format(p="Parse a CSV file of transactions and sum by month.")
    assert X.extract(a).template_id == X.extract(b).template_id


def test_system_prompt_makes_the_user_message_the_payload():
    system = (
        "You are a customer support assistant for Acme Bank. Answer politely, in at most three "
        "sentences, and never give financial advice."
    )
    a = X.extract("How do I reset my online banking password?", system_prompt=system)
    b = X.extract("Why was my card declined in Lisbon yesterday?", system_prompt=system)
    assert a.wrapper and b.wrapper
    assert a.template_id == b.template_id
    assert "has_system_prompt" in a.features


def test_short_instructions_do_not_make_a_wrapper():
    m = X.extract("What is the capital of Peru? Please explain step by step.")
    assert not m.wrapper
    assert m.template_id.startswith(PLAIN_PREFIX)


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=600), st.none() | st.text(max_size=100))
def test_extract_never_raises_and_returns_a_full_signature(prompt, system):
    m = X.extract(prompt, system_prompt=system)
    assert len(m.minhash) == X.config.num_perm
    assert all(0 <= v < 2**32 for v in m.minhash)
    assert m.template_id


def test_huge_prompts_are_bounded_and_keep_both_ends():
    cfg = TemplateConfig(max_prompt_chars=2000)
    ext = TemplateExtractor(cfg)
    filler = "lorem ipsum dolor sit amet " * 5000
    m = ext.extract(PARAPHRASES[0].format(p=filler) + "\n\nRespond in JSON only, be concise.")
    assert m.wrapper


def test_empty_prompt_and_privacy_fingerprint():
    empty = X.extract(None)
    assert empty.template_id == EMPTY_TEMPLATE_ID
    assert "empty_prompt" in empty.features
    text = X.extract(ROLE_WRAPPER.format(p=PAYLOADS[1]))
    fp = PromptFingerprint(template_id=text.template_id, minhash=text.minhash)
    private = X.extract(None, fingerprint=fp)
    assert (private.template_id, private.minhash, private.wrapper) == (
        text.template_id,
        text.minhash,
        True,
    )
    assert "privacy_mode" in private.features


def test_fingerprint_from_other_settings_is_refused():
    fp = PromptFingerprint(template_id="w-abc", minhash=(1, 2, 3))
    with pytest.raises(ValueError, match="expected 64"):
        X.extract(None, fingerprint=fp)


def test_invalid_config_is_refused():
    with pytest.raises(ValueError, match="lsh_bands"):
        TemplateConfig(num_perm=16, lsh_bands=8, lsh_rows=4)
    with pytest.raises(ValueError, match="cache_size"):
        TemplateConfig(cache_size=-1)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.sampled_from([*ORDINARY, *(p.format(p=PAYLOADS[0]) for p in PARAPHRASES), ""]),
        min_size=1,
        max_size=12,
    ),
    st.none() | st.sampled_from(["You are a tutor. Respond in JSON.", "Be concise."]),
)
def test_match_cache_returns_what_a_fresh_extraction_computes(prompts, system):
    """Memoised matches (a two-entry cache, so entries are evicted too) equal uncached ones."""
    cached = TemplateExtractor(TemplateConfig(cache_size=2))
    uncached = TemplateExtractor(TemplateConfig(cache_size=0))
    for prompt in prompts:
        a, b = cached.extract(prompt, system), uncached.extract(prompt, system)
        assert (a, a.skeleton) == (b, b.skeleton)


def test_ids_are_identical_in_a_fresh_process_with_another_hash_seed():
    prompts = [PARAPHRASES[0].format(p=PAYLOADS[0]), ORDINARY[0]]
    code = (
        "import sys, json\n"
        "from streams.templates.extractor import TemplateExtractor\n"
        "x = TemplateExtractor()\n"
        "ms = [x.extract(p) for p in json.load(sys.stdin)]\n"
        "print(json.dumps([[m.template_id, m.exact_id, list(m.minhash)] for m in ms]))\n"
    )
    import json

    out = subprocess.run(
        [sys.executable, "-c", code],
        input=json.dumps(prompts),
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONHASHSEED": "987"},
    ).stdout
    here = [[m.template_id, m.exact_id, list(m.minhash)] for m in map(X.extract, prompts)]
    assert json.loads(out) == here


# ----------------------------------------------------------------------------- features


@pytest.mark.parametrize(
    "prompt",
    [
        "Solve this step by step.",
        "Show your work.",
        "Think carefully before answering: what is 2+2?",
        "Explain your reasoning, then answer.",
        "Let's think step-by-step about this.",
        "Write your chain of thought in <thinking> tags.",
        "Walk me through how you got there.",
    ],
)
def test_chain_of_thought_elicitation_in_several_phrasings(prompt):
    assert "asks_step_by_step" in X.extract(prompt).features


def test_structured_output_features():
    f = X.extract(ROLE_WRAPPER.format(p=PAYLOADS[0])).features
    assert {"asks_json", "asks_fields", "asks_structured", "asks_role"} <= f
    yaml = X.extract("Reply in YAML with the fields steps and result: what is 3*4?").features
    assert {"asks_yaml", "asks_structured"} <= yaml
    table = X.extract("Output a markdown table with columns name and age.").features
    assert "asks_table" in table
    assert "asks_step_by_step" not in table


def test_code_language_category_language_and_length_features():
    f = X.extract(PAYLOADS[2]).features
    assert {"has_code", "code:python", "category:coding", "language:en"} <= f
    assert "category:math" in X.extract(PAYLOADS[4]).features
    assert "category:writing" in X.extract(PAYLOADS[3]).features
    assert "category:translation" in X.extract("Translate this into French: good morning").features
    assert (
        "language:es"
        in X.extract("¿Cuál es la capital de Francia y por qué es importante?").features
    )
    assert "length:xs" in X.extract("hi").features
    assert "length:l" in X.extract("word " * 300).features
    assert "has_list" in X.extract("Do this:\n- one\n- two\n- three").features
