"""Prompts made of real text (``corpus.Corpus``) for the ``hard`` scenario, and the ways
campaigns disguise them.

Benign people and campaigns draw from the same corpus: a benchmark question or a chat
prompt is no evidence by itself.  What differs is how text is wrapped, repeated, spread
across accounts and perturbed (``perturb`` applies the character tricks of the issue:
synonyms, typos, homoglyphs, zero-width, NBSP and soft-hyphen characters inside trigger
words, casing and chatter).
"""

from __future__ import annotations

import random
import re

from streams.simulation.corpus import Corpus
from streams.simulation.prompts import Prompt

# Orca-style system messages (Mukherjee et al., 2023, table 2), as distillation datasets
# and the labs reproducing them send them.
ORCA_SYSTEM_MESSAGES = (
    "You are an AI assistant. Provide a detailed answer so user don't need to search outside "
    "to understand the answer.",
    "You are an AI assistant. You will be given a task. You must generate a detailed and long "
    "answer.",
    "You are a helpful assistant, who always provide explanation. Think like you are answering "
    "to a five year old.",
    "You are an AI assistant that follows instruction extremely well. Help as much as you can.",
    "You are an AI assistant. User will you give you a task. Your goal is to complete the task "
    "as faithfully as you can. While performing the task think step-by-step and justify your "
    "steps.",
    "You should describe the task and explain your answer. While answering a multiple choice "
    "question, first output the correct answer(s). Then explain why other answers are wrong. "
    "Think like you are answering to a five year old.",
    "You are an AI assistant that helps people find information. User will you give you a "
    "question. Your task is to answer as faithfully as you can. While answering think "
    "step-by-step and justify your answer.",
    "You are a teacher. Given a task, you explain in simple steps what the task is asking, any "
    "guidelines it provides and how to use those guidelines to find the answer.",
)

_SLOT = re.compile(r"{{\s*([^}]*?)\s*}}")


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit].rsplit(" ", 1)[0]


def question_text(rng: random.Random, corpus: Corpus, options: bool = True) -> str:
    q = rng.choice(corpus.questions)
    return f"{q.stem}\n{q.options}" if options else q.stem


def flan_task(rng: random.Random, corpus: Corpus) -> Prompt:
    """One FLAN task template filled with real passages, statements and questions."""
    family, template = rng.choice(corpus.templates)
    question = rng.choice(corpus.questions)

    def fill(match: re.Match[str]) -> str:
        name = match.group(1)
        if name in ("premise", "passage", "sentence1"):
            return _clip(rng.choice(corpus.passages), 600)
        if name in ("hypothesis", "sentence2"):
            return rng.choice(corpus.claims)
        if name == "question":
            return question.stem if family.startswith("arc") else rng.choice(corpus.claims)
        return "\n- ".join(part.strip() for part in question.options.split("(")[1:])

    return Prompt(_SLOT.sub(fill, template), "classify")


_PASSAGE_ASKS = (
    "Summarize this passage in two sentences:\n\n{0}",
    "Who is speaking in this passage, and what is going on?\n\n{0}",
    "Rewrite this in modern English:\n\n{0}",
    "What is the tone of the following excerpt?\n{0}",
    "{0}\n\nWhat book is this from?",
    "Explain this passage to me like I'm in high school:\n\n{0}",
)
_CLAIM_ASKS = (
    "Is this true? {0}",
    "True or false: {0}",
    "{0} Is that right?",
    "someone told me: {0} is that correct",
    "Fact check: {0}",
)
_CODE_ASKS = (
    "Complete this function:\n\n```python\n{0}```",
    "{0}",
    "Can you implement this?\n\n{0}",
    "```python\n{0}```\nfinish the implementation please",
)


def real_prompt(rng: random.Random, corpus: Corpus) -> Prompt:
    """A prompt a person might send that is made of text others wrote, as is."""
    roll = rng.random()
    if roll < 0.3:
        return Prompt(rng.choice(corpus.chat), "writing")
    if roll < 0.5:
        return Prompt(rng.choice(_CLAIM_ASKS).format(rng.choice(corpus.claims)), "short")
    if roll < 0.7:
        passage = _clip(rng.choice(corpus.passages), 500)
        return Prompt(rng.choice(_PASSAGE_ASKS).format(passage), "chat")
    if roll < 0.85:
        return Prompt(question_text(rng, corpus), "reasoning")
    return Prompt(rng.choice(_CODE_ASKS).format(rng.choice(corpus.code)), "code")


def harvested_prompt(rng: random.Random, corpus: Corpus) -> Prompt:
    """What a harvesting operation sends: real prompts of every kind, unwrapped."""
    roll = rng.random()
    if roll < 0.4:
        return Prompt(rng.choice(corpus.chat), "writing")
    if roll < 0.65:
        return Prompt(question_text(rng, corpus, rng.random() < 0.6), "reasoning")
    if roll < 0.85:
        return Prompt(rng.choice(corpus.code), "code")
    return flan_task(rng, corpus)


# --- wrappers and their perturbation ----------------------------------------------------

_WRAPPERS = (
    "Think step by step and explain your reasoning before answering. Return JSON with the keys "
    '"reasoning" and "answer".\n\n{task}',
    "{task}\n\nLet's think step by step. Respond only with a JSON object: "
    '{"reasoning": ..., "answer": ...}',
    "You are an expert. Solve the following task. Show your reasoning step by step, then give "
    "the final answer.\n\nTask: {task}",
    "Answer the question below. First explain your reasoning step by step, then output the "
    'final answer as JSON {"answer": ...}.\n\n{task}',
    "Below is an instruction. Write a response that completes the request. Reason step by step "
    "first.\n\n### Instruction:\n{task}\n\n### Response:",
)
# Trigger words and the synonyms a rewriter swaps them for.
SYNONYMS = {
    "step by step": ("step-by-step", "one step at a time", "stepwise", "in clear steps"),
    "reasoning": ("rationale", "thinking", "thought process", "chain of thought"),
    "JSON": ("json", "Json", "a JSON object", "JSON format"),
    "explain": ("describe", "walk through", "justify", "lay out"),
    "answer": ("response", "result", "reply", "solution"),
    "Think": ("Reason", "Work", "Go"),
    "final": ("last", "ultimate", "concluding"),
}
_HOMOGLYPHS = {
    "a": "\u0430",
    "e": "\u0435",
    "o": "\u043e",
    "p": "\u0440",
    "c": "\u0441",
    "x": "\u0445",
    "i": "\u0456",
    "y": "\u0443",
    "s": "\u0455",
    "j": "\u0458",
    "N": "\u039d",
    "O": "\u039f",
    "S": "\u0405",
    "J": "\u0408",
}
_INVISIBLE = ("\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad")
_CHATTER_BEFORE = (
    "hey, quick one. ",
    "Hi! ",
    "ok so for my study group: ",
    "Need this for tomorrow. ",
    "Question from class: ",
    "",
)
_CHATTER_AFTER = ("", " thanks!", " Thanks in advance.", " ty", " (no rush)", " appreciate it")
_TRIGGERS = re.compile("|".join(re.escape(w) for w in sorted(SYNONYMS, key=len, reverse=True)))


def _disguise_word(rng: random.Random, word: str) -> str:
    """One trigger word with characters a reader does not see or cannot tell apart."""
    chars = list(word)
    trick = rng.random()
    if trick < 0.3:
        for i, ch in enumerate(chars):
            if ch in _HOMOGLYPHS and rng.random() < 0.5:
                chars[i] = _HOMOGLYPHS[ch]
    elif trick < 0.6 and len(chars) > 2:
        at = rng.randrange(1, len(chars) - 1)
        chars.insert(at, rng.choice(_INVISIBLE))
    elif trick < 0.75:
        return word.replace(" ", "\u00a0")
    elif trick < 0.9:
        return word.upper() if rng.random() < 0.5 else word.lower()
    elif len(chars) > 3:
        at = rng.randrange(1, len(chars) - 2)
        chars[at], chars[at + 1] = chars[at + 1], chars[at]
    return "".join(chars)


def perturb(rng: random.Random, text: str) -> str:
    """``text`` rewritten as a per-request rewriter would: every trigger word is swapped for
    a synonym or disguised, and chatter is added around it."""

    def swap(match: re.Match[str]) -> str:
        word = match.group(0)
        if rng.random() < 0.4:
            word = rng.choice(SYNONYMS[word])
        return _disguise_word(rng, word) if rng.random() < 0.7 else word

    body = _TRIGGERS.sub(swap, text)
    return rng.choice(_CHATTER_BEFORE) + body + rng.choice(_CHATTER_AFTER)


def wrapped_real_task(rng: random.Random, corpus: Corpus) -> Prompt:
    """A chain-of-thought / JSON wrapper around a real task, perturbed for this request."""
    task = harvested_prompt(rng, corpus)
    wrapper = perturb(rng, rng.choice(_WRAPPERS))
    kind = task.kind if task.kind == "code" else "reasoning"
    return Prompt(wrapper.replace("{task}", task.text), kind)
