"""Word lists and phrase tables of template extraction: data, no code.

Changing any of them changes template ids (``streams.config.TemplateConfig``).
"""

from __future__ import annotations

import re

# Capitalised words that are vocabulary, not names: keeping them preserves
# "return JSON" / "answer in French" as template material.
NOT_NAME_WORDS = """\
    python java javascript typescript rust go ruby swift kotlin scala haskell perl php
    sql bash shell linux windows macos excel markdown json yaml xml html css latex
    english french spanish german italian portuguese chinese japanese korean russian arabic
    hindi dutch polish turkish vietnamese indonesian first second third final answer
    question problem task step output input response reasoning explanation"""


# --------------------------------------------------------------------------- skeleton tokens

# Instruction vocabulary folded to one canonical word per concept, so that
# paraphrases, synonym swaps and reorderings of one wrapper share tokens.  Kept
# to words that describe what is asked for; domain words are left alone.
SYNONYMS: dict[str, str] = {
    "stepbystep": """step by step | step-by-step | one step at a time | think carefully |
        think it through | think through this | think through it | thinking it through |
        reason carefully | carefully reason | reason step by step | methodically | stepwise |
        work this out step by step | work it out step by step | work through this step by step |
        each step | every step | all steps | every single step | intermediate step |
        intermediate steps | skip steps | skip any steps | skip a step | omit any step""",
    "explain": """explain | explains | explaining | describe | elaborate on | walk through |
        clarify | justify | discuss""",
    "return": """return | returns | respond | respond with | reply | reply with | answer in |
        answer with | format your answer as | format your response as | format the output as |
        format the answer as | format as | formatted as | give your answer as |
        provide your answer in | provide the output in | present your answer as |
        structure your response as | emit | output | respond in | reply in | write in""",
    "json": "json object | json format | json | json only",
    "yaml": "yaml | yml",
    "field": """fields | field | keys | key | properties | attributes | entries | columns |
        column""",
    "solve": """solve | work out | figure out | work through | resolve | tackle | answer |
        address""",
    "problem": """problem | question | task | exercise | query | prompt | challenge |
        request""",
    "following": """following | below | given | provided | next | this | these | that follows |
        follows | above""",
    "reasoning": """reasoning | rationale | thought process | chain of thought | thinking |
        working | derivation | analysis | reasoning steps | your work | the work | thoughts""",
    "result": """final answer | result | solution | conclusion | outcome | verdict |
        one-line conclusion | one-sentence conclusion | single-line conclusion""",
    "detailed": """detailed | thorough | thoroughly | comprehensive | in-depth | complete |
        full | in detail | rigorous | rigour | rigor | rigorously""",
    "youare": """you are | you're | act as | pretend to be | behave as | your role is |
        as an | as a""",
    "expert": """expert | specialist | professional | seasoned | experienced | senior""",
    "ensure": """make sure | ensure | be sure | remember to | always | never | do not |
        don't | must""",
    "include": "include | including | contain | containing | add | with | using",
    "provide": """provide | give | supply | produce | generate | write down | present |
        put | state""",
    "write": "write | compose | draft | author",
    "summarize": "summarize | summarise | condense | sum up",
    "translate": "translate | render | translation",
    "concise": """concise | concisely | brief | briefly | short | succinct | terse |
        keep it brief | be concise""",
    "response": "response | reply | output | answer",
    "show": "show | display | list out | lay out",
    "comment": """well-commented | well commented | thoroughly commented | commented |
        well-documented | documented""",
    "pedagogical": "pedagogical | teacher-quality | textbook | educational | didactic",
    "list": "list | numbered list | bullet list | bullet points | enumerated",
    "student": "student | student's | learner | pupil",
}
STOPWORD_WORDS = """\
    a an the and or but of to in on at by for from as is are was were be been being it its
    this that these those your you yours our we us i me my please then than so such each every
    all any some into onto using use via do does did can could would should will shall may might
    must also just only very really here there what which who whom whose how when where why if
    not no nor own same too out up down over under again further once about above between both
    more most other s t re ll ve d now let lets kindly one two three four five six seven eight
    nine ten first second third own its itself it's"""
CUE_PHRASES = (
    "step by step",
    "you are",
    "you're",
    "act as",
    "your task",
    "your job",
    "your goal",
    "your role",
    "your answer",
    "your response",
    "your output",
    "your reasoning",
    "your final",
    "final answer",
    "chain of thought",
    "explain your",
    "explains its",
    "show your",
    "show all",
    "answer in",
    "answer with",
    "skip steps",
    "skip any",
    "skip a step",
    "intermediate step",
    "each step",
    "every step",
    "every single step",
    "all steps",
    "all the steps",
    "let's",
    "let us",
    "before answering",
    "before you answer",
    "in the form",
    "numbered list",
    "bullet points",
    "confidence score",
    "the user",
    "the following problem",
    "the following question",
    "the following text",
    "the following task",
    "the problem below",
    "the question below",
    "the text below",
    "the task below",
    "that follows",
)


# --------------------------------------------------------------------------- features

# Features use substring tests and one word split: C-speed scans instead of
# many regex alternations, which kept extract() several times slower.
COT_PHRASES = (
    "step by step",
    "step-by-step",
    "stepwise",
    "show your work",
    "show your working",
    "show your reasoning",
    "show all your",
    "show all of your",
    "show the reasoning",
    "show the steps",
    "explain your reasoning",
    "explain your thinking",
    "explain the reasoning",
    "explain each step",
    "explains its reasoning",
    "explain every step",
    "explains every step",
    "explaining all steps",
    "think carefully",
    "think through",
    "think it through",
    "thinking it through",
    "think before",
    "think about it",
    "chain of thought",
    "chain-of-thought",
    "reason carefully",
    "reason through",
    "reasoning steps",
    "reason in detail",
    "let's think",
    "lets think",
    "walk me through",
    "walk through each",
    "before answering",
    "before you answer",
    "thought process",
    "scratchpad",
    "do not skip",
    "don't skip",
    "never skip",
    "intermediate step",
    "work this out step",
    "rationale",
)
STRUCTURED = (
    ("asks_json", ("json",)),
    ("asks_yaml", ("yaml",)),
    ("asks_xml", ("xml", "> tags", "<answer>", "</answer>")),
    ("asks_table", ("table", "csv", "columns")),
    ("asks_fields", ("field", "keys", "schema", "properties")),
    ("asks_final_answer", ("final answer", "answer:", "\\boxed", "conclusion")),
    ("asks_role", ("you are a", "you are an", "act as", "your role", "you're a")),
)
CODE_LANGS = (
    ("python", ("```py", "def ", "import ", "print(", "self.", "elif ")),
    ("javascript", ("```js", "```javascript", "```ts", "const ", "=>", "console.log", "function(")),
    ("sql", ("```sql", "select ", "insert into", "create table", "group by")),
    ("cpp", ("```cpp", "```c++", "#include", "std::", "int main(")),
    ("java", ("```java", "public class", "public static", "system.out.", "public void")),
    ("rust", ("```rust", "fn ", "let mut", "impl ", "&mut")),
    ("go", ("```go", "func ", "package main", "fmt.")),
    ("bash", ("```bash", "```sh", "#!/bin/", "sudo ", "$ ")),
)
CODE_MARKERS = (
    "```",
    "\n    ",
    "\n\t",
    "def ",
    "function ",
    "#include",
    "public class",
    "=>",
    "console.log",
    "fn ",
    "func ",
    ");",
    "};",
)
CATEGORY_WORDS: dict[str, tuple[str, ...]] = {
    "coding": (
        "code",
        "function",
        "bug",
        "debug",
        "compile",
        "class",
        "method",
        "api",
        "python",
        "javascript",
        "typescript",
        "sql",
        "regex",
        "implement",
        "algorithm",
        "array",
        "exception",
        "error",
        "script",
        "library",
        "variable",
        "program",
        "runtime",
        "database",
        "endpoint",
        "refactor",
        "rust",
        "java",
        "golang",
        "c++",
        "query",
        "stack",
        "recursion",
        "linked",
        "unit",
        "tests",
        "deploy",
        "docker",
        "git",
        "json",
        "http",
        "frontend",
        "backend",
    ),
    "math": (
        "solve",
        "equation",
        "integral",
        "derivative",
        "prove",
        "probability",
        "triangle",
        "polynomial",
        "compute",
        "calculate",
        "sum",
        "fraction",
        "matrix",
        "theorem",
        "geometry",
        "algebra",
        "remainder",
        "digits",
        "prime",
        "primes",
        "divisible",
        "percent",
        "ratio",
        "radius",
        "angle",
        "area",
        "perimeter",
        "hypotenuse",
        "integers",
        "integer",
        "real",
        "dice",
        "roots",
        "root",
        "multiply",
        "divide",
        "average",
        "mean",
        "median",
        "x",
    ),
    "science": (
        "physics",
        "chemistry",
        "biology",
        "molecule",
        "atom",
        "atoms",
        "cell",
        "cells",
        "energy",
        "force",
        "velocity",
        "reaction",
        "protein",
        "gene",
        "genes",
        "dna",
        "species",
        "quantum",
        "electron",
        "gravity",
        "photosynthesis",
        "enzyme",
        "evolution",
        "climate",
        "ecosystem",
        "immune",
        "vaccine",
        "vaccines",
        "light",
        "electricity",
        "metals",
        "seasons",
    ),
    "writing": (
        "write",
        "essay",
        "story",
        "poem",
        "blog",
        "paragraph",
        "rewrite",
        "tone",
        "article",
        "letter",
        "email",
        "e-mail",
        "narrative",
        "character",
        "plot",
        "headline",
        "slogan",
        "tweet",
        "haiku",
        "draft",
        "words",
        "speech",
        "description",
        "style",
        "proofread",
    ),
    "translation": ("translate", "translation", "translated", "translating"),
    "reasoning": (
        "puzzle",
        "riddle",
        "logic",
        "deduce",
        "deduction",
        "infer",
        "syllogism",
        "knights",
        "knaves",
        "liar",
        "truth-teller",
        "paradox",
        "owns",
        "which",
    ),
}
CATEGORY_WEIGHT = {"translation": 4.0, "reasoning": 1.5}
LANG_OF = {
    **dict.fromkeys(("the", "and", "is", "of", "to", "what", "how", "with", "a"), "en"),
    **dict.fromkeys(("el", "los", "las", "una", "que", "para", "con", "por", "es"), "es"),
    **dict.fromkeys(("le", "les", "une", "des", "est", "pour", "avec", "dans", "du"), "fr"),
    **dict.fromkeys(("der", "die", "das", "und", "ist", "nicht", "mit", "ein", "eine"), "de"),
    **dict.fromkeys(("os", "uma", "não", "é", "em", "do", "da", "com"), "pt"),
}
SCRIPT = (
    ("ja", re.compile(r"[\u3040-\u30ff]")),
    ("ko", re.compile(r"[\uac00-\ud7af]")),
    ("zh", re.compile(r"[\u4e00-\u9fff]")),
    ("ru", re.compile(r"[\u0400-\u04ff]")),
    ("ar", re.compile(r"[\u0600-\u06ff]")),
    ("hi", re.compile(r"[\u0900-\u097f]")),
)

# Sentence classification (instruction or plain) of the skeleton step.
STRONG_CUE_WORDS = """\
    respond responds reply reasoning rationale think thinking instruction instructions
    concise concisely stepwise step-by-step pedagogical"""
WEAK_CUE_WORDS = """\
    json yaml xml markdown schema field fields keys format formatted formatting output tags
    response following follows below above table columns"""
META_LABEL_WORDS = """\
    system assistant instruction instructions format response output requirements rules
    note notes constraints guidelines example examples style"""
# "... with the fields: a, b" enumerates wrapper detail rather than introducing a payload.
ENUMERATION_NOUN_WORDS = """\
    fields field keys key columns column properties sections parts structure schema format
    tags attributes categories options"""
# A first-person line ("here is my code:") is the user talking inside a payload.
FIRST_PERSON_WORDS = "i i'm i've my me we our us"
# ASCII punctuation dropped when a text is split into words ("you're", "step-by-step" stay whole).
PUNCTUATION = '.,;:!?()[]{}"<>/\\=*&%$#@^|~`'
# The features that ask for structured output.
STRUCTURED_KINDS = ("asks_json", "asks_yaml", "asks_xml", "asks_table", "asks_fields")
