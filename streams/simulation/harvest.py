"""What a distillation operation sends: capability-spanning tasks in paraphrased wrappers.

Operators want coverage (coding, maths, science, reasoning, writing, many
languages) and answers they can train on (reasoning traces, structured
output).  They also know templates get fingerprinted, so each wrapper exists in
many paraphrases: synonyms, reordered instructions, renamed JSON keys.
"""

from __future__ import annotations

import random

from streams.simulation import code
from streams.simulation import lexicon as lx
from streams.simulation.grammar import render
from streams.simulation.prompts import math_problem, paragraph, puzzle

TASK_CATEGORIES = ("coding", "math", "science", "reasoning", "writing", "multilingual")
_TASK_WEIGHTS = (28, 20, 16, 14, 12, 10)

_CODING_TASKS = (
    "Write a [[Lang]] function to [[task]].",
    "Implement a [[Lang]] program that can [[task]]. Include error handling and comments.",
    "Given the following [[Lang]] code, identify any bugs and provide a corrected version.\n"
    "[[snippet]]",
    "Explain what the following code does and analyze its time complexity.\n[[snippet]]",
    "Write unit tests for the following function.\n[[snippet]]",
    "Translate the following code into [[Lang2]].\n[[snippet]]",
    "Design a data structure to [[task]]. Describe the API and implement it in [[Lang]].",
)
_SCIENCE_TASKS = (
    "Explain [[concept]] {in detail|with a worked example|at the level of an undergraduate "
    "course|and its practical applications}.",
    "What are the main differences between [[a]] and [[b]]? Give concrete examples.",
    "Describe the history and significance of [[history]].",
    "[[why]]? Give a scientifically accurate explanation.",
    "Summarize the current understanding of [[concept]] and open questions in the field.",
)
_WRITING_TASKS = (
    "Write a [[form]] about [[theme]].",
    "Write a short story about [[theme]] in under 400 words.",
    "Write a persuasive essay arguing for or against [[a]] over [[b]].",
    "Write a [[tone]] email [[purpose]].",
    "Summarize the following text in three sentences.\n\n[[paragraph]]",
    "Rewrite the following text to be more [[tone]].\n\n[[paragraph]]",
)
_MULTILINGUAL_TASKS = (
    "Translate the following sentence into [[lang]] and explain any grammar points: [[sentence]]",
    "Answer in [[lang]]: [[why]]?",
    "Write a short dialogue in [[lang]] between two people planning a trip to [[city]].",
    "Explain [[concept]] in [[lang]] for a high school student.",
)


def _slots(rng: random.Random) -> dict[str, object]:
    lang = code.pick_language(rng)
    a, b = rng.choice(lx.COMPARE_PAIRS)
    domain = rng.choice(tuple(lx.CONCEPTS))
    return {
        "Lang": code.DISPLAY[lang],
        "Lang2": code.DISPLAY[code.pick_language(rng)],
        "task": code.TASKS,
        "snippet": lambda r: code.snippet(r, lang),
        "concept": lx.CONCEPTS[domain],
        "a": a,
        "b": b,
        "history": lx.CONCEPTS["history"],
        "why": lambda r: r.choice(lx.WHY_QUESTIONS).capitalize(),
        "form": lx.POEM_FORMS,
        "theme": lx.WRITING_THEMES,
        "tone": lx.TONES,
        "purpose": lx.EMAIL_PURPOSES,
        "paragraph": paragraph,
        "lang": lx.LANGUAGES_HUMAN,
        "sentence": lx.ENGLISH_SENTENCES,
        "city": rng.choice(lx.CITIES)[0],
    }


def seed_task(rng: random.Random) -> tuple[str, str]:
    """A task statement and its category, spread across capabilities."""
    category = rng.choices(TASK_CATEGORIES, _TASK_WEIGHTS)[0]
    if category == "math":
        return math_problem(rng), "math"
    if category == "reasoning":
        return puzzle(rng), "reasoning"
    templates = {
        "coding": _CODING_TASKS,
        "science": _SCIENCE_TASKS,
        "writing": _WRITING_TASKS,
        "multilingual": _MULTILINGUAL_TASKS,
    }[category]
    kind = {"coding": "code", "science": "chat", "writing": "long_form", "multilingual": "chat"}[
        category
    ]
    return render(rng.choice(templates), rng, _slots(rng)), kind


# --- campaign A: paraphrased wrappers around the task ----------------------------------

_REASONING_KEYS = (
    "reasoning",
    "rationale",
    "thought_process",
    "explanation",
    "steps",
    "chain_of_thought",
    "analysis",
    "thinking",
)
_ANSWER_KEYS = ("answer", "final_answer", "solution", "result", "output", "response")

_ROLE = (
    "{You are|Act as|Pretend you are|Imagine you are|Assume the role of} {a world-class|an "
    "expert|a highly skilled|a senior|a top-tier|an experienced} {problem solver|specialist|"
    "tutor|professor|engineer|domain expert}."
)
_COT = (
    "{Think step by step|Reason through the problem carefully, step by step|Work through it "
    "step by step|Break the problem down and reason about each part|Lay out your reasoning "
    "one step at a time} {before answering|before giving the final answer|and show all of "
    "your work|before you commit to an answer}."
)
_FORMAT = (
    "{Return|Respond with|Output|Give|Produce} {a JSON object|JSON|valid JSON|a single JSON "
    'object} with {the keys|fields|two keys|exactly two fields} "[[k1]]" {(your step-by-step '
    'reasoning)|for the reasoning|containing the full reasoning} and "[[k2]]" {(the final '
    "answer)|for the final answer|with only the final answer}."
)
_INTRO = ("{Task|Problem|Question|Input|Request}:", "{Here is the task|The task is as follows}:")
_DETAILED = (
    "{Provide|Write|Give} {a thorough|a detailed|a comprehensive|a complete} {answer|response|"
    "solution} to the {following task|question below|task below}. {Explain every step of your "
    "reasoning.|Include your full chain of reasoning.|Show all intermediate steps.} {Make sure "
    "the answer is correct and self-contained.|Double-check the final result.|Be precise and "
    "complete.}"
)
_SCHEMA_NOTE = (
    '{Use this schema|Follow this schema|Your output must match}: \\{"[[k1]]": string, '
    '"[[k2]]": string{|, "confidence": number|, "difficulty": string}\\}'
)
_DATASET_STYLE = (
    "{Below is|Here is|The following is} {an instruction|a task|a request} {that describes a "
    "task|from a user}. {Write a response that appropriately completes the request.|Complete it "
    "as well as you can.|Respond helpfully and accurately.} {First reason step by step, then "
    "answer.|Include your reasoning before the answer.|Explain your reasoning, then answer.}"
    "\n\n### {Instruction|Task}:\n[[task]]\n\n### {Response format|Output format|Format}:\n"
    '{JSON with keys [[k1]] and [[k2]]|A JSON object: \\{"[[k1]]": ..., "[[k2]]": ...\\}|'
    'JSON ("[[k1]]", "[[k2]]")}'
)


def wrapped_task(rng: random.Random) -> tuple[str, str]:
    """Campaign A's prompt: a seed task inside one paraphrase of one of three wrappers."""
    task, kind = seed_task(rng)
    slots = {"k1": rng.choice(_REASONING_KEYS), "k2": rng.choice(_ANSWER_KEYS), "task": task}
    base = rng.randrange(3)
    if base == 0:
        role, cot, fmt = (render(t, rng, slots) for t in (_ROLE, _COT, _FORMAT))
        intro = render(rng.choice(_INTRO), rng, slots)
        layout = rng.randrange(4)
        if layout == 0:
            text = f"{role} {cot} {fmt}\n\n{intro} {task}"
        elif layout == 1:
            text = f"{role}\n\n{intro}\n{task}\n\n{cot} {fmt}"
        elif layout == 2:
            text = f"{intro} {task}\n\n{cot}\n{fmt}"
        else:
            text = f"{role} {fmt} {cot}\n\n{task}"
    elif base == 1:
        head = render(_DETAILED, rng, slots)
        schema = render(_SCHEMA_NOTE, rng, slots)
        text = (
            f"{head}\n\n{task}\n\n{schema}" if rng.random() < 0.6 else f"{head} {schema}\n\n{task}"
        )
    else:
        text = render(_DATASET_STYLE, rng, slots)
    return text, kind


# --- campaign B: one operator system prompt, bare tasks --------------------------------

OPERATOR_SYSTEM_PROMPTS = (
    "You are a meticulous expert assistant. For every request, reason step by step and show all "
    "intermediate work before giving the final answer. Be complete and precise; never skip steps. "
    'When asked for JSON, put your reasoning in "reasoning" and the result in "answer".',
    "You are a careful and knowledgeable assistant. Always think through each request step by "
    "step, showing every intermediate step, and only then state the final answer. Never omit "
    'steps. If JSON is requested, use the keys "reasoning" and "answer".',
    "You are an expert tutor. Reason carefully, one step at a time, and write out all of your "
    "intermediate reasoning before the final answer. Be thorough and exact. For JSON output, "
    'return {"reasoning": ..., "answer": ...}.',
)
_B_PREFIX = ("", "", "", "Question: ", "Q: ", "Task: ", "Please help with this: ", "Solve: ")
_B_SUFFIX = ("", "", "", " Answer in JSON.", " Show your work.", " Be thorough.")


def bare_task(rng: random.Random) -> tuple[str, str]:
    """Campaign B's user message: the task with light, varied framing."""
    task, kind = seed_task(rng)
    return rng.choice(_B_PREFIX) + task + rng.choice(_B_SUFFIX), kind
