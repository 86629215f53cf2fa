"""Template extraction and template statistics: quality, speed and state size, as JSON.

Usage: ``.venv/bin/python -m bench.templates [--payloads 40] [--ordinary 1600] [--seed 7]``

Quality set: wrapper families, each written in five paraphrases (reordering,
synonym swaps, different labels) and filled with many generated payloads
(coding questions with code, math word problems, writing and science tasks,
logic puzzles), plus ordinary prompts without a wrapper (bare questions,
casual framings, context paragraphs, debugging requests).  Families are split
into ``dev`` (used while tuning the extractor) and ``held_out`` (not tuned on).
Ground truth: all prompts of one family are one template; every distinct
ordinary prompt is its own template.  Reported: pairwise precision/recall/F1
and adjusted Rand index of ``template_id``, ids per family, wrapper
detection rates, MinHash similarity within and across templates, and
``extract()`` throughput on one core (match cache off; cache hits apart).

Statistics: a synthetic event stream with a campaign (hundreds of accounts in
different organisations sharing one wrapper), a single-account SaaS template
at high volume, a three-account benchmark run and background templates;
reported: whether each is flagged, ``observe()`` throughput and serialised
bytes per template.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import time
from collections import Counter, defaultdict
from collections.abc import Callable

import numpy as np
from streams._native import normalise

from streams.config import TemplateConfig, TemplateStatsConfig
from streams.sketches.minhash import jaccard_estimate
from streams.stages.template_stats import TemplateStats
from streams.templates.extractor import TemplateExtractor

# ----------------------------------------------------------------------------- payloads
# A small grammar: frames with slots filled from word lists, so that payloads
# differ in their words (not only in numbers and names, which normalise slots).

W: dict[str, list[str]] = {
    "name": ["Alice", "Bob", "Priya", "Chen Wei", "Fatima", "Marco", "Olga", "Kenji", "Ama"],
    "place": ["Boston", "Lisbon", "Nairobi", "Osaka", "Denver", "Lyon", "Pune", "Toronto"],
    "lang": ["Python", "JavaScript", "Go", "Rust", "Java", "TypeScript", "C++", "Kotlin", "SQL"],
    "data": [
        "a list of integers",
        "a string of lowercase letters",
        "a binary tree",
        "a dictionary mapping user ids to scores",
        "a sorted array with duplicates",
        "a CSV file of bank transactions",
        "a directed graph given as an adjacency list",
        "a stream of sensor timestamps",
        "a matrix of floats",
        "a singly linked list",
        "a nested JSON document",
        "a log file with one request per line",
        "an RGB image",
        "a set of meeting intervals",
        "a text corpus of product reviews",
        "a trie of words",
    ],
    "goal": [
        "returns the length of the longest strictly increasing subsequence",
        "removes duplicates while preserving the original order",
        "finds the k most frequent elements",
        "detects whether it contains a cycle",
        "groups the records by month and sums the amounts",
        "returns every root-to-leaf path whose sum equals a target",
        "keeps a running median as new values arrive",
        "merges overlapping intervals",
        "rotates it by ninety degrees in place",
        "checks that the brackets are balanced",
        "returns the shortest path between two given nodes",
        "flattens it into dotted keys",
        "counts the distinct words ignoring punctuation",
        "detects anomalies with a z-score",
        "splits it into chunks of roughly equal size",
        "finds the longest palindromic substring",
        "computes a moving average over a sliding window",
        "deduplicates near-identical rows",
    ],
    "constraint": [
        "The input can be huge, so the solution must run in linear or n log n time.",
        "Do not use any external libraries.",
        "It must handle empty input gracefully.",
        "Explain the time and space complexity.",
        "Include a few unit tests.",
        "Memory is tight, so avoid copying the input.",
        "It will be called from many threads.",
        "Prefer readability over cleverness.",
        "Add docstrings and type annotations.",
        "It should also work with negative values.",
        "Keep it under thirty lines if possible.",
    ],
    "symptom": [
        "an index error on the last element",
        "a null pointer exception after a refresh",
        "the wrong total for the last month",
        "a timeout on large inputs",
        "a deadlock under load",
        "a memory leak that grows every hour",
        "duplicated rows in the output",
        "an off-by-one error at the boundaries",
        "garbled unicode characters",
        "a race condition in the cache",
        "a stack overflow on deep recursion",
    ],
    "object": [
        "marbles",
        "stickers",
        "apples",
        "trading cards",
        "coins",
        "books",
        "pencils",
        "seashells",
        "cupcakes",
        "postcards",
        "stamps",
        "lego bricks",
    ],
    "shape": [
        "rectangle",
        "right triangle",
        "cylinder",
        "trapezoid",
        "cone",
        "sphere",
        "cube",
        "regular hexagon",
        "parallelogram",
        "circular sector",
    ],
    "quantity": ["area", "perimeter", "volume", "surface area", "diagonal", "height"],
    "topic": [
        "a lighthouse keeper who finds a message in a bottle",
        "the first day at a robotics startup",
        "a city where it has not rained for years",
        "two rival chefs forced to cook together",
        "an astronaut coming home after a year",
        "a grandmother teaching her grandson to fish",
        "a bug that predicts the future",
        "a small bakery fighting a supermarket chain",
        "a dog that learns to read",
        "a violinist who loses her hearing",
        "a ghost who haunts a coworking space",
        "the last bookshop on the moon",
        "a detective who is afraid of the dark",
        "a village that votes to abolish clocks",
        "a teenager who inherits a volcano",
    ],
    "genre": [
        "short story",
        "poem",
        "blog post",
        "cover letter",
        "product description",
        "speech",
        "limerick",
        "newsletter intro",
        "toast",
        "movie pitch",
        "diary entry",
    ],
    "tone": [
        "humorous",
        "melancholic",
        "formal",
        "upbeat",
        "suspenseful",
        "nostalgic",
        "whimsical",
        "sarcastic",
        "inspiring",
        "minimalist",
    ],
    "phenomenon": [
        "the sky looks blue at noon but red at sunset",
        "vaccines train the immune system",
        "ice floats on water",
        "photosynthesis stores light energy",
        "the Earth has seasons",
        "metals conduct electricity",
        "CRISPR edits a specific gene",
        "a spinning top stays up",
        "bread dough rises",
        "the moon causes tides",
        "soap removes grease",
        "airplanes generate lift",
        "batteries lose capacity in the cold",
        "rainbows form",
    ],
    "audience": [
        "a ten-year-old",
        "a first-year physics student",
        "my grandmother",
        "a software engineer",
        "a high-school chemistry class",
        "someone who hates math",
    ],
    "pet": ["a cat", "a dog", "a parrot", "a hamster", "a goldfish", "a tortoise"],
}
FRAMES: dict[str, list[str]] = {
    "coding": [
        "Write a {lang} function that takes {data} and {goal}. {constraint}",
        "How do I write something in {lang} that {goal} for {data}? {constraint} {constraint}",
        "I need a {lang} class that wraps {data} and {goal}. {constraint}",
        "I have this {lang} code that is supposed to process {data}:\n\n```\n{code}```\n\n"
        "In production it fails with {symptom}. What is wrong, and how should I fix it? "
        "{constraint}",
        "My {lang} service reads {data} and {goal}, but under real traffic it shows {symptom}. "
        "Walk me through how to debug it and propose a fix. {constraint}",
        "Review this {lang} snippet that {goal}:\n\n```\n{code}```\n\n{constraint} "
        "Point out bugs and style problems.",
    ],
    "math": [
        "A {shape} has one side of {n} cm and another of {n} cm. What is its {quantity}? "
        "Round the result to two decimal places.",
        "Find every real x with {n}x^2 + {n}x - {n} = 0 and check each root by substitution.",
        "{name} has {n} {object}, gives {n} to each of {n} friends, then buys {n} more in "
        "{place}. How many {object} does {name} have now, and what fraction of the start is that?",
        "{n} fair dice are rolled. What is the probability that the faces sum to exactly {n}? "
        "Express the answer as a reduced fraction.",
        "How many positive integers below {n} are divisible by {n} or {n} but not both? "
        "Prove the count.",
        "A tank fills through one pipe in {n} hours and drains through another in {n} hours. "
        "If both are open, how long until a half-full tank of {object} overflows?",
        "The average of {n} test scores is {n}. After one more test the average rises to {n}. "
        "What was the score of the last test, and is it plausible on a 100-point scale?",
        "A {shape} is scaled by a factor of {n}. By what factor does its {quantity} change, "
        "and why?",
    ],
    "writing": [
        "Write a {tone} {genre} of about {n} words about {topic}. The main character is "
        "{name} and it takes place in {place}.",
        "Draft a {tone} email to {name} asking to move our meeting to the {n}th because of "
        "{topic}. Keep it under {n} words.",
        "Rewrite this {genre} opening in a more {tone} voice: {name} walked into {place} "
        "thinking about {topic}.",
        "Give me five titles for a {tone} {genre} about {topic}, then pick the best one and "
        "say why.",
    ],
    "science": [
        "Explain why {phenomenon}. Use an analogy that {audience} would understand and mention "
        "one common misconception.",
        "Why is it that {phenomenon}? I asked {audience} and we could not agree.",
        "Design a simple home experiment that shows {phenomenon}, suitable for {audience}.",
    ],
    "puzzle": [
        "{name}, {name} and {name} each own a different pet: {pet}, {pet} and {pet}. The "
        "first is allergic to fur. The second lives next to the owner of the {object} shop. "
        "Who owns which pet?",
        "A box holds {n} red and {n} blue {object}. Without looking, what is the fewest you "
        "must draw to be sure of two of the same colour? Give the reasoning behind it.",
        "On an island of knights and knaves, {name} says that {name} is a knave, and {name} "
        "says they are both knights. Who is who?",
    ],
}
SNIPPETS = [
    "def {f}(xs):\n    seen = set()\n    out = []\n    for x in xs:\n        if x in seen:\n"
    "            continue\n        out.append(x)\n    return out\n",
    "function {f}(items) {{\n  const out = {{}};\n  for (const it of items) {{\n"
    "    out[it.id] = (out[it.id] || 0) + it.amount;\n  }}\n  return out;\n}}\n",
    "SELECT user_id, COUNT(*) AS n\nFROM orders\nWHERE created_at > '2024-01-{d:02d}'\n"
    "GROUP BY user_id\nHAVING n > {n};\n",
    "fn {f}(v: &mut Vec<i32>) -> i32 {{\n    v.sort();\n    v[v.len() / 2]\n}}\n",
]
CATEGORY_WEIGHTS = {"coding": 3, "math": 3, "writing": 2, "science": 1, "puzzle": 1}
_SLOT = re.compile(r"\{(\w+)\}")


def _fill(frame: str, rng: random.Random) -> str:
    def one(match: re.Match[str]) -> str:
        key = match.group(1)
        if key == "n":
            return str(rng.randint(2, 400))
        if key == "code":
            ident = rng.choice(["parse", "merge", "count", "load", "find", "sum"]) + "_"
            ident += rng.choice(["items", "rows", "events", "scores", "nodes"])
            snippet = rng.choice(SNIPPETS)
            return snippet.format(f=ident, d=rng.randint(1, 28), n=rng.randint(2, 99))
        return rng.choice(W[key])

    return _SLOT.sub(one, frame)


LEAD_INS: dict[str, list[str]] = {
    "coding": [
        "This runs as part of a nightly batch job that feeds our reporting dashboard.",
        "We are still on an old version of {lang} and cannot upgrade this quarter.",
        "The data comes from a partner API that is not always consistent.",
        "I inherited this module from a colleague who left, and there are no tests.",
        "Performance matters because this is called on every request to the checkout page.",
    ],
    "math": [
        "This is from a practice exam for a regional olympiad.",
        "My textbook gives an answer that I cannot reproduce.",
        "I am preparing worked examples for tutoring sessions.",
        "We argued about this problem at dinner yesterday.",
    ],
    "writing": [
        "It is for a competition with a strict word limit.",
        "The audience is mostly people who have never read this kind of text.",
        "I want something I can read aloud in under two minutes.",
    ],
    "science": [
        "I keep reading contradictory explanations online.",
        "This came up while preparing a museum tour.",
    ],
    "puzzle": ["A friend sent me this and claims it has a unique solution."],
}
FOLLOW_UPS = [
    "I tried a couple of approaches already but none of them felt right.",
    "Please be precise about any assumptions you make along the way.",
    "If there are several valid answers, mention the trade-offs between them.",
    "I would also appreciate a short note on common mistakes people make here.",
    "Keep the explanation self-contained; I will share it with my team.",
]


def payload(rng: random.Random) -> str:
    """One task: a coding question, math problem, writing or science task or a puzzle."""
    cats = list(CATEGORY_WEIGHTS)
    cat = rng.choices(cats, weights=[CATEGORY_WEIGHTS[c] for c in cats])[0]
    parts = [_fill(rng.choice(FRAMES[cat]), rng)]
    if rng.random() < 0.6:
        parts.insert(0, _fill(rng.choice(LEAD_INS[cat]), rng))
    if rng.random() < 0.5:
        parts.append(rng.choice(FOLLOW_UPS))
    return " ".join(parts)


# ----------------------------------------------------------------------------- wrappers

Q = '"'
DEV_FAMILIES: dict[str, list[str]] = {
    "cot_json_prefix": [
        "Solve the following problem step by step and return JSON with fields "
        '"reasoning" and "answer":\n\n{p}',
        "Work through the problem below step-by-step, then respond in JSON with the keys "
        '"reasoning" and "answer":\n\n{p}',
        'Solve this problem step by step. Output a JSON object with two fields, "reasoning" '
        'and "answer".\n\nProblem: {p}',
        'Return JSON with fields "reasoning" and "answer" after solving the following problem '
        "step by step:\n{p}",
        "Please solve the problem below, thinking step by step, and format your answer as JSON "
        'with keys "reasoning" and "answer".\n\n{p}',
    ],
    "cot_final_suffix": [
        "{p}\n\nThink through this carefully before answering. Show your reasoning, then give "
        "the final answer on its own line prefixed with 'Final answer:'.",
        "{p}\n\nThink carefully before you answer. Show all of your reasoning, and then write "
        "the final answer on a separate line starting with 'Final answer:'.",
        "{p}\n\nShow your reasoning first, thinking it through step by step. Put the final "
        "answer on its own line, prefixed by 'Final answer:'.",
        "{p}\n\nBefore answering, reason carefully and show your work. End with the final "
        "answer on its own line beginning with 'Final answer:'.",
        "{p}\n\nLet's think step by step and show the reasoning. Then state the final answer "
        "alone on the last line, prefixed with 'Final answer:'.",
    ],
    "role_question_json": [
        "You are an expert software engineer. Your task is to answer the user's question with "
        "a complete, well-commented solution.\n\nQuestion: {p}\n\nFormat your response as JSON "
        "with keys explanation, code, complexity.",
        "You are a senior software engineer. Answer the user's question below with a complete "
        "and well-commented solution.\n\nQuestion: {p}\n\nRespond in JSON with the keys "
        "explanation, code and complexity.",
        "Act as an expert programmer. Your job is to give a complete, thoroughly commented "
        "solution to the question.\n\nQuestion: {p}\n\nReturn JSON containing the fields "
        "explanation, code, complexity.",
        "You are an experienced software engineer. Provide a complete, well-documented "
        "solution to the user's question.\n\nQuestion:\n{p}\n\nOutput format: JSON object with "
        "explanation, code and complexity keys.",
        "As an expert software engineer, your task is to write a complete, well-commented "
        "answer to the following question.\n\nQuestion: {p}\n\nStructure your response as JSON "
        "with keys: explanation, code, complexity.",
    ],
    "markdown_yaml": [
        "### Instruction\n{p}\n\n### Response format\nRespond in YAML with the fields: steps "
        "(a list of reasoning steps) and result.",
        "### Task\n{p}\n\n### Output format\nReply in YAML using the fields steps (a list of "
        "the reasoning steps) and result.",
        "## Instruction\n{p}\n\n## Format\nYour response must be YAML with two fields: steps, "
        "a list of reasoning steps, and result.",
        "### Instruction\n{p}\n\n### Response format\nOutput YAML. Fields: steps (list of "
        "reasoning steps), result.",
        "### Instructions\n{p}\n\n### Expected response\nFormat the answer as YAML with the "
        "fields steps (your reasoning, as a list) and result.",
    ],
    "xml_thinking": [
        "<task>{p}</task>\nProvide a detailed chain of thought inside <thinking> tags and the "
        "final answer inside <answer> tags.",
        "<task>{p}</task>\nWrite your detailed chain of thought in <thinking> tags, then put "
        "the final answer in <answer> tags.",
        "Here is a task:\n<task>{p}</task>\nThink step by step inside <thinking> tags and give "
        "the final answer inside <answer> tags.",
        "<task>\n{p}\n</task>\nReason in detail within <thinking> tags before giving your final "
        "answer within <answer> tags.",
        "<task>{p}</task>\nFirst provide a thorough chain of thought in <thinking> tags. Then "
        "provide the final answer in <answer> tags.",
    ],
    "textbook_solution": [
        "Below is a question from a student. Write a detailed, pedagogical answer that explains "
        "every step, suitable for a textbook solution manual. Do not skip steps.\n\n"
        "Student question: {p}",
        "The following question was asked by a student. Write a thorough, pedagogical answer "
        "that explains each step, suitable for a textbook solutions manual. Never skip a step."
        "\n\nStudent question: {p}",
        "Write a detailed pedagogical answer, suitable for a textbook solution manual, to the "
        "student question below. Explain every step and do not skip any.\n\nQuestion from the "
        "student: {p}",
        "A student asked the question below. Produce a detailed, teacher-quality answer that "
        "explains every single step, as in a textbook solution manual. Do not skip steps.\n\n"
        "Student question:\n{p}",
        "Below is a student's question. Give a detailed and pedagogical answer explaining all "
        "steps, in the style of a textbook solution manual. Don't skip any steps.\n\n"
        "Student question: {p}",
    ],
    "translate_table": [
        "Translate the text below into French, then explain each grammatical choice step by "
        'step in a markdown table.\n\nText: """{p}"""',
        "Translate the following text into French. Then, in a markdown table, explain every "
        'grammatical choice step by step.\n\nText: """{p}"""',
        "Render the text below in French and explain each grammar decision step-by-step using "
        'a markdown table.\n\nText:\n"""{p}"""',
        "First translate the text below into French; then explain each of your grammatical "
        'choices, step by step, in a markdown table.\n\nText: """{p}"""',
        "Translate this text to French and then walk through each grammatical choice step by "
        'step in a markdown table.\n\nText: """{p}"""',
    ],
    "concise_json_suffix": [
        '{p}\n\nAnswer concisely and respond only with JSON of the form {{"answer": ..., '
        '"confidence": ...}}.',
        '{p}\n\nRespond only with JSON like {{"answer": ..., "confidence": ...}} and keep the '
        "answer concise.",
        '{p}\n\nGive a concise answer. Output only JSON in the form {{"answer": ..., '
        '"confidence": ...}}.',
        '{p}\n\nReply with JSON only, shaped as {{"answer": ..., "confidence": ...}}; be concise.',
        '{p}\n\nKeep it brief and return only a JSON object {{"answer": ..., "confidence": ...}}.',
    ],
}
HELD_OUT_FAMILIES: dict[str, list[str]] = {
    "dataset_rationale": [
        "I am building a dataset of high-quality solutions. For the problem that follows, "
        "produce (1) a rationale explaining the approach in detail and (2) the final solution. "
        'Use the JSON schema {{"rationale": string, "solution": string}}.\n\n{p}',
        "I'm assembling a dataset of high quality solutions. For the next problem, produce a "
        "detailed rationale of the approach and then the final solution, using the JSON schema "
        '{{"rationale": string, "solution": string}}.\n\n{p}',
        'Using the JSON schema {{"rationale": string, "solution": string}}, produce a detailed '
        "rationale and the final solution for the problem that follows. This is for a dataset "
        "of high-quality solutions.\n\n{p}",
        "We are collecting high-quality solutions for a dataset. For the problem below, write "
        "(1) a detailed rationale for the approach and (2) the final solution, following the "
        'JSON schema {{"rationale": string, "solution": string}}.\n\n{p}',
        "Dataset of high-quality solutions: for the problem that follows, give a detailed "
        "rationale explaining your approach and the final solution. JSON schema: "
        '{{"rationale": string, "solution": string}}.\n\n{p}',
    ],
    "numbered_steps_suffix": [
        "{p}\n\n---\nRespond with a numbered list of reasoning steps followed by a one-line "
        "conclusion. Be rigorous and do not omit any intermediate step.",
        "{p}\n\n---\nAnswer with a numbered list of reasoning steps and then a one-line "
        "conclusion. Be rigorous; do not leave out any intermediate step.",
        "{p}\n\n---\nBe rigorous and never omit an intermediate step: reply with numbered "
        "reasoning steps followed by a single-line conclusion.",
        "{p}\n\n---\nGive your reasoning as a numbered list of steps, then a one-line "
        "conclusion. Be rigorous and include every intermediate step.",
        "{p}\n\n---\nRespond with numbered reasoning steps and finish with a one-sentence "
        "conclusion. Rigour matters: do not omit intermediate steps.",
    ],
    "chat_transcript": [
        "System: You are a helpful assistant that always explains its reasoning.\nUser: {p}\n"
        "Assistant: Let's work this out step by step.",
        "System: You are a helpful assistant who always explains your reasoning.\nUser: {p}\n"
        "Assistant: Let's work through this step by step.",
        "System: You're a helpful assistant and you always explain your reasoning.\nUser: {p}\n"
        "Assistant: Let us work this out step-by-step.",
        "System: You are a helpful AI assistant. Always explain the reasoning.\nUser: {p}\n"
        "Assistant: Let's work it out step by step.",
        "System: Helpful assistant; always explains its reasoning.\nUser: {p}\n"
        "Assistant: Let's solve this step by step.",
    ],
    "confidence_table": [
        "Answer the question and give a confidence score from 0 to 1. Output a table with "
        "columns Answer, Reasoning, Confidence.\nQ: {p}",
        "Answer the question below, including a confidence score between 0 and 1, as a table "
        "with the columns Answer, Reasoning and Confidence.\nQ: {p}",
        "Output a table with columns Answer, Reasoning, Confidence (a score from 0 to 1) for "
        "the following question.\nQ: {p}",
        "Give the answer, your reasoning and a confidence score from 0 to 1 in a table with "
        "columns Answer, Reasoning, Confidence.\nQ: {p}",
        "Respond to the question with a table (columns: Answer, Reasoning, Confidence) where "
        "confidence is a score from 0 to 1.\nQ: {p}",
    ],
}

# ----------------------------------------------------------------------------- ordinary

CASUAL = [
    "{p}",
    "{p}",
    "{p}",
    "hey, quick question: {p} thanks!",
    "{p} Please explain step by step.",
    "I'm stuck on this. {p} Any ideas?",
    "Can you help me with something? {p}",
    "{p} Answer in JSON please.",
    "For my homework: {p}",
    "{p}\n\nAlso, explain your reasoning so I can learn from it.",
    "Explain the following to me like I'm new to this:\n\n{p}",
]
CONTEXT = [
    "I'm working on a side project for my {who}'s {biz} in {place}.",
    "Our team at a {biz} startup is migrating an old system to the cloud.",
    "I teach a {level} class and want to prepare material for next week.",
    "My manager asked me to look into this before the meeting on {day}.",
    "I've been going back and forth on this with a colleague for an hour.",
    "Context: this is for a {level} course I'm taking at night.",
]
EVERYDAY = [
    "What should I pack for a {n}-day hiking trip near {place} in {month}?",
    "Suggest a {diet} dinner I can cook in under {n} minutes with {food} and {food}.",
    "How do I politely tell my {who} that I can't lend them money again?",
    "Compare renting and buying a flat in {place} for someone earning {n}k a year.",
    "My {plant} has yellow leaves and I water it every {n} days. What am I doing wrong?",
    "Plan a {n}-week beginner running schedule to get to a 5k without injury.",
    "What are good questions to ask at the end of a job interview for a {role} role?",
    "Summarise the pros and cons of {tech} for a small {biz}.",
]
EVERYDAY_WORDS = {
    "month": ["March", "July", "October", "December"],
    "diet": ["vegetarian", "vegan", "gluten-free", "high-protein", "cheap"],
    "food": ["chickpeas", "spinach", "rice", "eggs", "tofu", "salmon", "lentils", "feta"],
    "plant": ["monstera", "fiddle-leaf fig", "basil", "orchid", "snake plant"],
    "role": ["data analyst", "product manager", "nurse", "backend engineer", "teacher"],
    "tech": ["Kubernetes", "a no-code CRM", "solar panels", "an electric van", "open banking"],
    "who": ["aunt", "friend", "cousin", "brother", "neighbour"],
    "biz": ["bakery", "bike shop", "dental clinic", "fintech", "logistics firm", "florist"],
    "level": ["high school", "first-year university", "evening", "bootcamp"],
    "day": ["Monday", "Thursday", "Friday"],
}


def ordinary_prompt(rng: random.Random) -> str:
    """A prompt as people type it: no fixed wrapper, sometimes a casual framing or context."""
    if rng.random() < 0.25:
        frame = rng.choice(EVERYDAY)
        text = _SLOT.sub(
            lambda m: (
                str(rng.randint(2, 60))
                if m.group(1) == "n"
                else rng.choice(EVERYDAY_WORDS.get(m.group(1)) or W[m.group(1)])
            ),
            frame,
        )
    else:
        text = rng.choice(CASUAL).format(p=payload(rng))
    if rng.random() < 0.3:
        ctx = _SLOT.sub(
            lambda m: rng.choice(EVERYDAY_WORDS.get(m.group(1)) or W[m.group(1)]),
            rng.choice(CONTEXT),
        )
        text = f"{ctx} {text}" if rng.random() < 0.5 else f"{ctx}\n\n{text}"
    return text


# ----------------------------------------------------------------------------- metrics


def _pairs(counts: np.ndarray) -> float:
    counts = counts.astype(np.float64)
    return float((counts * (counts - 1) / 2).sum())


def pair_metrics(truth: list[str], pred: list[str]) -> dict[str, float]:
    """Pairwise precision/recall/F1 and adjusted Rand index from the contingency table."""
    _, t = np.unique(np.asarray(truth), return_inverse=True)
    _, p = np.unique(np.asarray(pred), return_inverse=True)
    joint = np.unique(t.astype(np.int64) * (p.max() + 1) + p, return_counts=True)[1]
    same_both = _pairs(joint)
    same_truth = _pairs(np.bincount(t))
    same_pred = _pairs(np.bincount(p))
    total = len(truth) * (len(truth) - 1) / 2
    precision = same_both / same_pred if same_pred else 1.0
    recall = same_both / same_truth if same_truth else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    expected = same_truth * same_pred / total
    max_index = (same_truth + same_pred) / 2
    ari = (same_both - expected) / (max_index - expected) if max_index != expected else 1.0
    return {
        "pair_precision": round(precision, 4),
        "pair_recall": round(recall, 4),
        "pair_f1": round(f1, 4),
        "adjusted_rand": round(ari, 4),
    }


def build_set(rng: random.Random, families: dict[str, list[str]], payloads: int):
    rows = []
    for family, variants in families.items():
        for variant, wrapper in enumerate(variants):
            for _ in range(payloads):
                rows.append((family, variant, wrapper.format(p=payload(rng))))
    return rows


def quality(extractor: TemplateExtractor, rows, ordinary: list[str]) -> dict:
    matches = [extractor.extract(text) for _, _, text in rows]
    plain = [extractor.extract(text) for text in ordinary]
    # Ordinary prompts differing only in slotted material (numbers, names) are one template.
    truth = [fam for fam, _, _ in rows] + [f"ordinary:{normalise(text)}" for text in ordinary]
    pred = [m.template_id for m in matches + plain]
    result = pair_metrics(truth, pred)
    variant_truth = [f"{fam}/{v}" for fam, v, _ in rows] + truth[len(rows) :]
    result["paraphrase_as_own_template"] = pair_metrics(variant_truth, pred)
    per_family = {}
    by_family: dict[str, list] = defaultdict(list)
    for (fam, _, _), m in zip(rows, matches, strict=True):
        by_family[fam].append(m)
    for fam, ms in by_family.items():
        ids = Counter(m.template_id for m in ms)
        per_family[fam] = {
            "ids": len(ids),
            "top_id_share": round(ids.most_common(1)[0][1] / len(ms), 3),
            "wrapper_detected": round(sum(m.wrapper for m in ms) / len(ms), 3),
        }
    result["families"] = per_family
    result["wrapper_detected"] = round(sum(m.wrapper for m in matches) / len(matches), 4)
    plain_ids = Counter(m.template_id for m in plain)
    label_of_id: dict[str, set[str]] = defaultdict(set)
    for text, m in zip(ordinary, plain, strict=True):
        label_of_id[m.template_id].add(normalise(text))
    wrapper_ids = {m.template_id for m in matches}
    result["ordinary"] = {
        "count": len(ordinary),
        "distinct_texts": len(set(ordinary)),
        "distinct_normalised": len({normalise(t) for t in ordinary}),
        "distinct_ids": len(plain_ids),
        "wrapper_detected": round(sum(m.wrapper for m in plain) / len(plain), 4),
        "falsely_merged": sum(
            1 for m in plain if len(label_of_id[m.template_id]) > 1 or m.template_id in wrapper_ids
        ),
    }
    return result


def similarity(extractor: TemplateExtractor, rows, ordinary: list[str], rng: random.Random):
    """MinHash Jaccard estimates: same family (other payload/paraphrase) vs unrelated prompts."""
    sigs = [np.asarray(extractor.extract(t).minhash, dtype=np.uint32) for _, _, t in rows]
    plain = [np.asarray(extractor.extract(t).minhash, dtype=np.uint32) for t in ordinary[:400]]
    fams = [fam for fam, _, _ in rows]
    same, cross, ordinary_pairs = [], [], []
    for _ in range(3000):
        i, j = rng.randrange(len(rows)), rng.randrange(len(rows))
        if i == j:
            continue
        (same if fams[i] == fams[j] else cross).append(jaccard_estimate(sigs[i], sigs[j]))
        a, b = rng.randrange(len(plain)), rng.randrange(len(plain))
        if a != b:
            ordinary_pairs.append(jaccard_estimate(plain[a], plain[b]))

    def summary(values: list[float]) -> dict[str, float]:
        arr = np.asarray(values)
        return {
            "mean": round(float(arr.mean()), 3),
            "p10": round(float(np.quantile(arr, 0.1)), 3),
            "p90": round(float(np.quantile(arr, 0.9)), 3),
        }

    return {
        "same_family": summary(same),
        "different_family": summary(cross),
        "ordinary_pairs": summary(ordinary_pairs),
    }


def _best_time(fn: Callable[[str], object], texts: list[str], repeats: int) -> tuple[float, float]:
    """Best wall and CPU seconds per call over ``repeats`` passes (other load only adds time)."""
    wall, cpu = [], []
    for _ in range(repeats):
        w0, c0 = time.perf_counter(), time.process_time()
        for text in texts:
            fn(text)
        wall.append((time.perf_counter() - w0) / len(texts))
        cpu.append((time.process_time() - c0) / len(texts))
    return min(wall), min(cpu)


def throughput(texts: list[str], repeats: int = 3) -> dict:
    """Single-core cost of ``extract()`` and of its ``normalise`` step, on the whole mixed set.

    Timed with the match cache off, so every pass computes every prompt; the
    cost of a prompt seen again verbatim (a cache hit) is reported apart, and so
    is ``extract_texts`` on batches of 512 (one native call per batch, the
    detector's path): CPU time of this process, as the native call releases the
    GIL but runs on the calling thread.
    """
    extractor = TemplateExtractor(TemplateConfig(cache_size=0))
    extractor.extract(texts[0])
    extract_wall, extract_cpu = _best_time(extractor.extract, texts, repeats)
    norm_wall, _ = _best_time(normalise, texts, repeats)
    lengths = np.asarray([len(t) for t in texts])
    band = [t for t in texts if 300 <= len(t) <= 1500]
    band_wall, _ = _best_time(extractor.extract, band, repeats)
    cached = TemplateExtractor()
    seen = texts[: cached.config.cache_size]
    for text in seen:
        cached.extract(text)
    hit_wall, _ = _best_time(cached.extract, seen, repeats)
    batches = [[(t, None) for t in texts[i : i + 512]] for i in range(0, len(texts), 512)]
    batch_cpu = []
    for _ in range(repeats):
        c0 = time.process_time()
        for batch in batches:
            extractor.extract_texts(batch)
        batch_cpu.append((time.process_time() - c0) / len(texts))
    return {
        "prompts": len(texts),
        "chars_mean": round(float(lengths.mean()), 1),
        "chars_p10": int(np.quantile(lengths, 0.1)),
        "chars_p90": int(np.quantile(lengths, 0.9)),
        "extract_per_s": round(1 / extract_wall, 1),
        "extract_per_cpu_s": round(1 / extract_cpu, 1),
        "extract_us_mean": round(extract_wall * 1e6, 1),
        "normalise_us_mean": round(norm_wall * 1e6, 1),
        "prompts_300_1500_chars": len(band),
        "extract_per_s_300_1500_chars": round(1 / band_wall, 1),
        "extract_per_s_repeated_prompt": round(1 / hit_wall, 1),
        "extract_texts_per_cpu_s_batch_512": round(1 / min(batch_cpu), 1),
    }


# ----------------------------------------------------------------------------- statistics


def stats_bench(rng: random.Random) -> dict:
    """Six hours of synthetic template traffic through ``TemplateStats``."""
    cfg = TemplateStatsConfig()
    stats = TemplateStats(cfg)
    start, hours = 1_700_000_000.0, 6
    events = []
    for i in range(hours * 3600 // 2):  # background: 400 small wrappers, one app account each
        t = rng.randrange(400)
        events.append((start + i * 2.0 + rng.random(), f"w-bg{t}", f"app{t}", f"org-app{t}"))
    for i in range(hours * 3600):  # SaaS product: one account, one template, 1 req/s
        events.append((start + i + rng.random(), "w-saas", "saas-acct", "saas-org"))
    for i in range(3000):  # benchmark run from three research accounts
        acct = i % 3
        events.append((start + 3600 + i * 0.5, "w-bench", f"lab{acct}", f"org-lab{acct}"))
    campaign_start = start + 4 * 3600
    for _ in range(8000):  # campaign: 400 fresh accounts in 350 orgs, one wrapper, 2 hours
        acct = rng.randrange(400)
        ts = campaign_start + rng.random() * 7200
        events.append((ts, "w-campaign", f"c{acct}", f"corg{acct % 350}"))
    events.sort()
    flagged: Counter[str] = Counter()
    first_flag: dict[str, float] = {}
    half = len(events) // 2
    begin = time.perf_counter()
    for ts, tid, acct, org in events:
        finding = stats.observe(tid, acct, org, ts)
        if finding is not None:
            flagged[tid] += 1
            first_flag.setdefault(tid, finding.ts)
    elapsed = time.perf_counter() - begin
    sizes = [len(stats.state_bytes(t) or b"") for t in stats.templates]
    # Checkpoint half-way, restore, and finish: a restarted worker must emit the same findings.
    first = TemplateStats(cfg)
    for ts, tid, acct, org in events[:half]:
        first.observe(tid, acct, org, ts)
    restored = TemplateStats.from_bytes(first.to_bytes(), cfg)
    tail_restored = [restored.observe(tid, a, o, ts) for ts, tid, a, o in events[half:]]
    tail_live = [first.observe(tid, a, o, ts) for ts, tid, a, o in events[half:]]
    return {
        "events": len(events),
        "observe_per_s": round(len(events) / elapsed, 1),
        "templates_tracked": len(stats.templates),
        "bytes_per_template_mean": round(float(np.mean(sizes)), 1),
        "bytes_per_template_max": int(max(sizes)),
        "snapshot_bytes": len(stats.to_bytes()),
        "restore_mid_stream_same_findings": tail_restored == tail_live,
        "findings": dict(flagged),
        "campaign_detect_delay_s": round(
            first_flag.get("w-campaign", float("nan")) - campaign_start, 1
        ),
        "late_events": stats.late_events,
    }


def sweep(rows, ordinary: list[str]) -> list[dict]:
    """Quality as the two main knobs move: wrapper size gate and bottom-k size of the id."""
    out = []
    for knob, values in (("min_wrapper_tokens", (3, 4, 5, 6, 8)), ("id_tokens", (2, 3, 4, 6))):
        for value in values:
            q = quality(TemplateExtractor(TemplateConfig(**{knob: value})), rows, ordinary)
            out.append(
                {
                    knob: value,
                    "pair_precision": q["pair_precision"],
                    "pair_recall": q["pair_recall"],
                    "paraphrase_pair_recall": q["paraphrase_as_own_template"]["pair_recall"],
                    "ordinary_wrapper_detected": q["ordinary"]["wrapper_detected"],
                    "ordinary_falsely_merged": q["ordinary"]["falsely_merged"],
                }
            )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--payloads", type=int, default=40, help="payloads per paraphrase")
    parser.add_argument("--ordinary", type=int, default=1600, help="ordinary prompts")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--sweep", action="store_true", help="also score other min_wrapper_tokens / id_tokens"
    )
    args = parser.parse_args()
    rng = random.Random(args.seed)
    extractor = TemplateExtractor()
    dev = build_set(rng, DEV_FAMILIES, args.payloads)
    held = build_set(rng, HELD_OUT_FAMILIES, args.payloads)
    ordinary = [ordinary_prompt(rng) for _ in range(args.ordinary)]
    texts = [t for _, _, t in dev + held] + ordinary
    rng.shuffle(texts)
    report = {
        "name": "templates",
        "command": "python -m bench.templates "
        + f"--payloads {args.payloads} --ordinary {args.ordinary} --seed {args.seed}",
        "dev": quality(extractor, dev, ordinary),
        "held_out": quality(extractor, held, ordinary),
        "all": quality(extractor, dev + held, ordinary),
        "minhash_similarity": similarity(extractor, dev + held, ordinary, rng),
        "throughput": throughput(texts),
        "template_stats": stats_bench(rng),
    }
    if args.sweep:
        report["sweep"] = sweep(dev + held, ordinary)
    print(json.dumps(report))


if __name__ == "__main__":
    main()
