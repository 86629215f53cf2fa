"""The hard scenario: real prompt text from pinned wheels and the tactics of issue #15."""

from __future__ import annotations

import gzip
import json
from collections import Counter, defaultdict
from pathlib import Path

import pytest

from agents.tools.corpus import MANIFEST, fetch, load
from streams.errors import SimulationError
from streams.simulation import Simulation, simulate
from streams.simulation.corpus import SOURCES, Corpus, parse_corpus
from streams.simulation.real_text import perturb
from streams.timeparse import parse_timestamp

CORPUS = Path(__file__).resolve().parents[3] / "var" / "corpus"
INVISIBLE = set("\u200b\u200c\u200d\u2060\ufeff\u00ad\u00a0")


def _blobs() -> dict[str, bytes]:
    flan = (
        "task:\n  - task: rte_prompt-0\n"
        '    doc_to_text: "{{sentence1}}\\n\\nQuestion: {{sentence2}} True or False?"\n'
    )
    mmlu = {"astronomy": "intro\n\nQ: Why is Mars red?\n(A) iron (B) ice\nA: Let's think. (A)."}
    return {
        "flan": flan.encode(),
        "mmlu": json.dumps(mmlu).encode(),
        "chat": b'{"prompt": "Write a haiku about rain."}\n',
        "code": gzip.compress(b'{"prompt": "def add(a, b):\\n"}\n'),
        "passages": b"Ada\t" + b"A long passage about [MASK] walking home. " * 3 + b"\n",
        "claims": b"statement,label\r\nThe beaver has a habitat of forest/grassland.\r\n",
    }


def test_parse_corpus_reads_every_role() -> None:
    corpus = parse_corpus(_blobs())
    assert corpus.templates == (("rte", "{{sentence1}}\n\nQuestion: {{sentence2}} True or False?"),)
    assert corpus.questions[0].stem == "Why is Mars red?"
    assert corpus.questions[0].options == "(A) iron (B) ice"
    assert corpus.chat == ("Write a haiku about rain.",)
    assert corpus.code == ("def add(a, b):",)
    assert "[MASK]" not in corpus.passages[0] and "about Ada walking" in corpus.passages[0]
    assert corpus.claims == ("The beaver has a habitat of forest/grassland.",)


def test_parse_corpus_names_a_missing_or_empty_role() -> None:
    blobs = _blobs()
    del blobs["code"]
    with pytest.raises(SimulationError, match=r"lacks code.*--fetch-corpus"):
        parse_corpus(blobs)
    with pytest.raises(SimulationError, match="no chat"):
        parse_corpus({**_blobs(), "chat": b""})


def test_hard_scenario_without_corpus_fails_in_one_line_naming_the_fetch(tmp_path: Path) -> None:
    with pytest.raises(SimulationError, match=r"needs the real prompt corpus.*--fetch-corpus"):
        simulate("hard_small", seed=1)
    with pytest.raises(SimulationError, match=r"not found in .*--fetch-corpus") as info:
        load(tmp_path)
    assert "\n" not in str(info.value)


def test_perturb_disguises_trigger_words_but_keeps_the_task() -> None:
    import random

    rng = random.Random(3)
    texts = [perturb(rng, "Think step by step. Return JSON with the answer.") for _ in range(200)]
    assert len(set(texts)) > 150
    assert sum(any(c in INVISIBLE for c in t) for t in texts) > 30
    assert sum(any("\u0400" <= c <= "\u04ff" for c in t) for t in texts) > 20


@pytest.fixture(scope="module")
def corpus() -> Corpus:
    fetch(CORPUS)  # idempotent: the pinned wheels are downloaded once into var/corpus
    return load(CORPUS)


@pytest.fixture(scope="module")
def hard(corpus: Corpus) -> Simulation:
    return simulate("hard_small", seed=2, corpus=corpus)


def test_manifest_pins_every_source_file_with_its_sha256(corpus: Corpus) -> None:
    manifest = json.loads((CORPUS / MANIFEST).read_text())
    files = {
        (s["package"], s["version"], f["path"]) for s in manifest["sources"] for f in s["files"]
    }
    assert files == {(s.package, s.version, s.path) for s in SOURCES}
    assert all(len(m["sha256"]) == 64 for m in corpus.meta)


def test_hard_scenario_is_deterministic_and_labels_its_corpus(
    hard: Simulation, corpus: Corpus
) -> None:
    again = simulate("hard_small", seed=2, corpus=corpus)
    assert again.events == hard.events and again.labels == hard.labels
    assert {m["file"] for m in hard.labels["corpus"]} == {s.path for s in SOURCES}
    assert set(hard.labels["campaigns"]) == {"L", "P", "M", "S", "H"}
    assert all(c["accounts"] > 0 for c in hard.labels["campaigns"].values())


def _by_population(sim: Simulation) -> dict[str, list]:
    out: dict[str, list] = defaultdict(list)
    for event in sim.events:
        out[sim.labels["accounts"][event.account_id]["population"]].append(event)
    return out


def test_every_hard_negative_population_is_present(hard: Simulation) -> None:
    populations = set(_by_population(hard))
    assert {
        "structured_habit_user",
        "research_lab",
        "eval_harness_real",
        "shared_prompt_tool",
        "sso_campus",
    } <= populations


def test_campaign_start_is_its_first_request(hard: Simulation) -> None:
    first: dict[str, float] = {}
    for event in hard.events:
        cid = hard.labels["accounts"][event.account_id]["campaign"]
        if cid is not None:
            first.setdefault(cid, event.ts)
    for cid, row in hard.labels["campaigns"].items():
        assert parse_timestamp(row["start"]) == pytest.approx(first[cid], abs=1e-3)


def test_low_and_slow_accounts_are_aged_quiet_and_static(hard: Simulation) -> None:
    events = _by_population(hard)["low_slow_farm"]
    per_account: dict[str, list] = defaultdict(list)
    for event in events:
        per_account[event.account_id].append(event)
    for account_events in per_account.values():
        assert len(account_events) <= 9
        assert len({e.ip for e in account_events}) == 1
        assert account_events[0].ts - account_events[0].account_created_at > 50 * 86400
        assert all(e.system_prompt for e in account_events)


def test_perturbed_wrappers_hide_characters_inside_trigger_words(hard: Simulation) -> None:
    prompts = [e.prompt for e in _by_population(hard)["perturbed_wrapper_farm"]]
    assert sum(any(c in INVISIBLE for c in p) for p in prompts) > len(prompts) * 0.2
    assert len(set(prompts)) > len(prompts) * 0.9


def test_mimic_developers_send_each_prompt_from_about_three_accounts(hard: Simulation) -> None:
    events = _by_population(hard)["mimic_developer_farm"]
    senders: dict[str, set[str]] = defaultdict(set)
    for event in events:
        senders[event.prompt].add(event.account_id)
    shared = Counter(len(s) for s in senders.values())
    assert shared[2] + shared[3] > shared[1]
    assert all(2 <= e.n <= 4 for e in events)
    assert all(e.system_prompt is None for e in events)
