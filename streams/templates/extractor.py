"""Prompt templates: a stable skeleton, a near-duplicate template id and structural features.

Distillation traffic wraps a fixed instruction around a variable payload
("Solve the following problem step by step and return JSON ...: <question>").
The payload dominates the text, so comparing whole prompts says little.  The
extractor is a pure function of one prompt, in three steps:

1. ``normalise`` folds case and space and replaces volatile material (numbers,
   quotes, URLs, e-mails, code, list markers, hex/uuids, capitalised names,
   JSON literals) with slots.
2. ``skeleton`` tags each sentence as instruction (it talks *about* the prompt
   or the response: "respond", "step by step", "your task", "the following")
   or plain, and keeps only the instruction runs at the start and the end of
   the prompt: a wrapper sits around its payload.  Everything in between,
   and whatever follows an introducing colon ("Question:", "solve the
   following problem:"), becomes one ``<#payload>`` slot.  Cue words in the
   middle (a payload that mentions JSON) stay payload.
3. The skeleton's tokens are canonicalised (instruction synonyms folded,
   stop words and plurals dropped) and the template id is a hash of their
   bottom-k token hashes.  It depends on the prompt alone, so every worker,
   partition and replay assigns the same id with no shared index, whatever
   the event order; reordering and synonym swaps do not change it.  A
   prompt whose wrapper has fewer than ``min_wrapper_tokens`` canonical
   tokens is plain: its id comes from the whole text and stays its own.

The trade-off of a stateless id: paraphrases that canonicalisation does not
fold get ids of their own (measured by ``bench/templates.py``).  The MinHash
of the skeleton's shingles travels with every match so that the similarity
stage can still relate them, with graded rather than all-or-nothing evidence.
"""

from __future__ import annotations

import hashlib
import re
import struct
from collections import Counter, OrderedDict
from dataclasses import dataclass, field

import numpy as np

from streams.config import WRAPPER_PREFIX, TemplateConfig
from streams.errors import ConfigError
from streams.records import PromptFingerprint
from streams.sketches.minhash import MinHasher, combine_ngrams, stable_hash64

PLAIN_PREFIX = "p-"
"""Template ids of prompts without a wrapper: derived from the whole prompt."""
EMPTY_TEMPLATE_ID = "empty"
"""Template id of an event with no prompt text at all."""

PAYLOAD = "<#payload>"


@dataclass(frozen=True, slots=True)
class TemplateMatch:
    """What the detector learns about one prompt's template.

    ``template_id`` starts with ``w-`` (wrapper around a payload), ``p-``
    (plain prompt), or is ``empty``; the prefix survives privacy-mode
    fingerprints, so template statistics can ignore plain prompts there too.
    ``skeleton`` is the wrapper text with the payload slotted (empty when only
    a fingerprint was available): safe evidence that shows an analyst the template.
    """

    template_id: str
    exact_id: str
    minhash: tuple[int, ...]
    features: frozenset[str]
    wrapper: bool = False
    skeleton: str = field(default="", compare=False)


# --------------------------------------------------------------------------- normalise


def _word_set(words: str) -> frozenset[str]:
    """Word lists are kept as prose blocks: easier to review than one quoted string per word."""
    return frozenset(words.split())


_PUNCTUATION = str.maketrans(dict.fromkeys('.,;:!?()[]{}"<>/\\=*&%$#@^|~`', " "))


def _words(text: str) -> list[str]:
    """Whitespace words with ASCII punctuation dropped ("you're", "step-by-step" stay whole).

    ``str.translate`` + ``split`` is a C-level pass, a few times cheaper than a
    regex ``findall`` on every sentence.
    """
    return text.translate(_PUNCTUATION).split()


class _PhraseSet:
    """Multi-word phrases looked up by their first word, then tested as substrings.

    One C-level set intersection finds the few phrase-starting words a text
    contains; only their phrases get a substring test.
    """

    __slots__ = ("_by_first", "_firsts")

    def __init__(self, phrases: tuple[str, ...]) -> None:
        by_first: dict[str, list[str]] = {}
        for phrase in phrases:
            by_first.setdefault(_words(phrase)[0], []).append(phrase)
        self._by_first = by_first
        self._firsts = frozenset(by_first)

    def found_in(self, words: list[str], text: str) -> bool:
        """Whether ``text`` (split by ``_words`` into ``words``) contains one of the phrases."""
        return any(
            phrase in text
            for first in self._firsts.intersection(words)
            for phrase in self._by_first[first]
        )


# Every pattern starts with a literal or a character class (word-boundary checks
# come as look-behinds *after* the first character) so the regex engine can skip
# ahead to candidate positions instead of trying each branch at every offset.
# Boundary checks treat "<" and ">" like word characters: a neighbour that a
# later rule turns into a slot must not change what an earlier rule matches,
# or a second normalisation would differ from the first.
_ODD_SPACE = re.compile(r"[^\S\n\t ]")
_FENCED_CODE = re.compile(r"```[^\n`]*\n?.*?(?:```|\Z)", re.DOTALL)
_INDENTED_CODE = re.compile(r"(?:\n(?: {4}|\t)[^\n]*\S[^\n]*)+")
_ELEMENT = re.compile(r"<([A-Za-z_][A-Za-z0-9_\-]{0,30})>(.+?)</\1>", re.DOTALL | re.IGNORECASE)
_LIST_MARKER = re.compile(r"\n[ \t]*(?:[-*\u2022+]|\d{1,3}[.)]|[a-zA-Z][.)])[ \t]+(?=\S)")
_URL = re.compile(r"(?:h(?<![\w>].)ttps?://|w(?<![\w>].)ww\.)\S+")
_EMAIL = re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_HEXLIKE = re.compile(r"[0-9a-fA-F](?<![\w>].)(?:[xX][0-9a-fA-F]+|[0-9a-fA-F-]{7,})(?![\w<-])")
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_HEX_DIGITS = frozenset("0123456789abcdefABCDEF")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*(?:[eE][-+]?\d+)?")
_BRACES = re.compile(r"\{[^{}\n]*\}")
_QUOTE = re.compile(
    r'"""(?:.+?)"""'
    r'|"(?:(?P<w1>\w{1,30})|[^"\n]+)"'
    r"|\u201c(?:(?P<w2>\w{1,30})|[^\u201d\n]+)\u201d"
    r"|`[^`\n]+`"
    r"|'(?<![\w'>]')(?:(?P<w3>\w{1,30})|[^'\n]+)'(?![\w'<])",
    re.DOTALL,
)
_NAME = re.compile(r"[A-Z](?<=[a-z0-9][ \t].)[a-z]+(?: [A-Z][a-z]+)*(?!\w)")
_BLANK_LINES = re.compile(r"\n{3,}")

# Capitalised words that are vocabulary, not names: keeping them preserves
# "return JSON" / "answer in French" as template material.
_NOT_NAME_WORDS = """\
    python java javascript typescript rust go ruby swift kotlin scala haskell perl php
    sql bash shell linux windows macos excel markdown json yaml xml html css latex
    english french spanish german italian portuguese chinese japanese korean russian arabic
    hindi dutch polish turkish vietnamese indonesian first second third final answer
    question problem task step output input response reasoning explanation"""
_NOT_NAMES = _word_set(_NOT_NAME_WORDS)


def _name_slot(match: re.Match[str]) -> str:
    words = match.group(0).split(" ")
    if all(w.lower() in _NOT_NAMES for w in words):
        return match.group(0)
    return "<#name>"


def _quote_slot(match: re.Match[str]) -> str:
    """A quoted single word is vocabulary (a field name, a label); longer quotes are payload."""
    return match.group("w1") or match.group("w2") or match.group("w3") or "<#quote>"


def _until_fixed(pattern: re.Pattern[str], repl, text: str) -> str:
    """Apply a pairing rule until nothing pairs: removing one pair can expose another.

    Each round removes at least one pair of delimiters, so this terminates;
    running to the fixed point is what makes ``normalise`` idempotent.
    """
    while True:
        text, count = pattern.subn(repl, text)
        if not count:
            return text


def _hex_slot(match: re.Match[str]) -> str:
    token = match.group(0)
    if _UUID.fullmatch(token):
        return "<#uuid>"
    if token[:2] in ("0x", "0X") and len(token) > 2 and _HEX_DIGITS.issuperset(token[2:]):
        return "<#hex>"
    if (
        _HEX_DIGITS.issuperset(token)
        and any(c.isdigit() for c in token)
        and any(c.isalpha() for c in token)
    ):
        return "<#hex>"
    return token  # e.g. a date: its digits become number slots next


def normalise(prompt: str, config: TemplateConfig | None = None) -> str:
    """Lexical skeleton of a prompt: volatile material slotted, case and whitespace folded.

    Idempotent (``normalise(normalise(x)) == normalise(x)``) so a skeleton
    can be re-normalised by any consumer without drifting.  Never raises on
    text; ``None`` is the caller's business.
    """
    cfg = config or _DEFAULT_CONFIG
    # A leading newline lets line-anchored rules match on a literal "\n".
    text = "\n" + prompt.replace("\r\n", "\n").replace("\r", "\n")
    text = _ODD_SPACE.sub(" ", text)  # before line rules: they only know " " and "\t"
    if cfg.slot_named_entities:
        text = _NAME.sub(_name_slot, text)
    # Fold case before every other rule: lower() can change word boundaries
    # ("İ" becomes "i" and a combining dot), so rules must see folded text in
    # the first pass exactly as they would in a second one.
    text = text.lower()
    if "```" in text:
        text = _FENCED_CODE.sub("\n<#code>\n", text)
    if "\n    " in text or "\n\t" in text:
        text = _INDENTED_CODE.sub("\n<#code>", text)
    if "</" in text:
        text = _until_fixed(_ELEMENT, r"<\1> <#quote>", text)
    if cfg.slot_list_markers:
        text = _LIST_MARKER.sub("\n<#item> ", text)
    if "://" in text or "www." in text:
        text = _URL.sub("<#url>", text)
    if "@" in text:
        text = _EMAIL.sub("<#email>", text)
    text = _HEXLIKE.sub(_hex_slot, text)
    text = _NUMBER.sub("<#num>", text)
    if "{" in text:
        text = _until_fixed(_BRACES, "<#json>", text)
    if cfg.slot_quotes:
        text = _until_fixed(_QUOTE, _quote_slot, text)
    # str.split() folds every Unicode space; per line so newlines keep their structure.
    text = "\n".join(" ".join(line.split()) for line in text.split("\n"))
    text = _BLANK_LINES.sub("\n\n", text)
    return text.strip()


# --------------------------------------------------------------------------- canonical tokens

# Instruction vocabulary folded to one canonical word per concept, so that
# paraphrases, synonym swaps and reorderings of one wrapper share tokens.  Kept
# to words that describe what is asked for; domain words are left alone.
_SYNONYMS: dict[str, str] = {
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
_TOKEN = re.compile(r"</?#?\w+>|\w+")


def _synonym_index() -> dict[str, list[tuple[tuple[str, ...], str]]]:
    """First word -> [(phrase tokens, canonical word)], longest phrase first."""
    canon_of: dict[tuple[str, ...], str] = {}
    for canon, phrases in _SYNONYMS.items():
        for phrase in phrases.split("|"):
            canon_of.setdefault(tuple(_TOKEN.findall(phrase.strip())), canon)
    index: dict[str, list[tuple[tuple[str, ...], str]]] = {}
    for key, canon in sorted(canon_of.items(), key=lambda kv: -len(kv[0])):
        index.setdefault(key[0], []).append((key, canon))
    return index


_SYN_BY_FIRST = _synonym_index()
_STOPWORD_WORDS = """\
    a an the and or but of to in on at by for from as is are was were be been being it its
    this that these those your you yours our we us i me my please then than so such each every
    all any some into onto using use via do does did can could would should will shall may might
    must also just only very really here there what which who whom whose how when where why if
    not no nor own same too out up down over under again further once about above between both
    more most other s t re ll ve d now let lets kindly one two three four five six seven eight
    nine ten first second third own its itself it's"""
_STOPWORDS = _word_set(_STOPWORD_WORDS)


def plain_tokens(text: str) -> list[str]:
    """Content tokens of a prompt without a wrapper: stop words out, nothing folded.

    Plain ids should stay close to exact, so the synonym folding that makes
    wrappers paraphrase-tolerant is skipped here (and with it most of the cost).
    """
    return [w for w in _TOKEN.findall(text) if w not in _STOPWORDS]


def canonical_tokens(skeleton_text: str) -> list[str]:
    """Content tokens of a skeleton: longest-match synonym folding, stop words and plurals out.

    Phrases are matched on the token stream through an index by first word,
    so the common case (a word that starts no phrase) costs one dict lookup.
    """
    words = _TOKEN.findall(skeleton_text)
    out: list[str] = []
    i, n = 0, len(words)
    while i < n:
        word = words[i]
        candidates = _SYN_BY_FIRST.get(word)
        if candidates is not None:
            for key, canon in candidates:
                if tuple(words[i : i + len(key)]) == key:
                    out.append(canon)
                    i += len(key)
                    break
            else:
                candidates = None
            if candidates is not None:
                continue
        i += 1
        if word in _STOPWORDS:
            continue
        if len(word) > 3 and word[-1] == "s" and word[-2] != "s" and word[0] != "<":
            word = word[:-1]
        out.append(word)
    return out


# --------------------------------------------------------------------------- wrapper / payload

# Words and phrases that talk about the prompt or the response rather than the
# task itself.  Strong cues address the model ("respond", "step by step", "your
# task"); weak cues ("json", "below") also occur inside payloads ("serialise it
# to JSON", "primes below 100"), so a sentence needs two of them.
_STRONG_CUE_WORDS = _word_set(
    """respond responds reply reasoning rationale think thinking instruction instructions
    concise concisely stepwise step-by-step pedagogical"""
)
_WEAK_CUE_WORDS = _word_set(
    """json yaml xml markdown schema field fields keys format formatted formatting output tags
    response following follows below above table columns"""
)
_CUE_PHRASES = (
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
_CUE_PHRASE_SET = _PhraseSet(_CUE_PHRASES)
_META_LABELS = _word_set(
    """system assistant instruction instructions format response output requirements rules
    note notes constraints guidelines example examples style"""
)
# "... with the fields: a, b" enumerates wrapper detail rather than introducing a payload.
_ENUMERATION_NOUNS = _word_set(
    """fields field keys key columns column properties sections parts structure schema format
    tags attributes categories options"""
)
# Sentences end at punctuation, and after a quote or code slot: a delimited
# payload ("<task> <#quote> provide ...") is a segment of its own.
_SENTENCE_SPLIT = re.compile(r"(?<=[.!?:;])\s+|(?<=<#quote>)\s+|(?<=<#code>)\s+")
_SLOT_ONLY = re.compile(r"(?:\s*</?#?\w+>)+\s*[.!?:;,]?")


def _slot_only(text: str) -> bool:
    """Text made only of slots and tags; the "<" test skips the regex for most sentences."""
    return "<" in text and _SLOT_ONLY.fullmatch(text) is not None


_INSTRUCTION, _PLAIN, _FORCED = 0, 1, 2


@dataclass(frozen=True, slots=True)
class Skeleton:
    """The wrapper view of a prompt: text with payload slotted, and its canonical tokens."""

    text: str
    tokens: tuple[str, ...]
    has_payload: bool

    @property
    def wrapper_tokens(self) -> frozenset[str]:
        """Distinct canonical tokens of the wrapper, structural slots included, payload not."""
        return frozenset(t for t in self.tokens if t != PAYLOAD)


@dataclass(slots=True)
class _Segment:
    kind: int
    block: int
    text: str


def _has_cue(words: list[str], segment: str) -> bool:
    if not _STRONG_CUE_WORDS.isdisjoint(words) or _CUE_PHRASE_SET.found_in(words, segment):
        return True
    if segment.startswith("be "):  # "be concise", "be rigorous": addressed to the model
        return True
    return len(_WEAK_CUE_WORDS.intersection(words)) >= 2


_FIRST_PERSON = _word_set("i i'm i've my me we our us")


def _colon_kind(words: list[str], cue: bool, label_max_tokens: int) -> str:
    """What a segment ending in ':' does: 'meta' (labels wrapper text), 'intro' or 'plain'.

    A first-person line ("here is my code:", "i tried this:") is the user
    talking inside a payload, not a label of the wrapper.
    """
    short = len(words) <= label_max_tokens and _FIRST_PERSON.isdisjoint(words)
    if short and not _META_LABELS.isdisjoint(words):
        return "meta"  # "output format:", "system:"
    if words and words[-1] in _ENUMERATION_NOUNS:
        return "meta"  # "respond in yaml with the fields:"
    if cue or short:
        return "intro"  # "solve the following problem:", "question:"
    return "plain"


def _classify(normalised: str, label_max_tokens: int, share: float) -> list[_Segment]:
    """Sentence-level segments tagged instruction, plain or forced payload.

    Before the first payload, an introducing colon forces what follows to be
    payload, whatever it says: the rest of its line; else the following lines
    of its block; else, at the end of a block, the next block.  Forcing stops
    after a line made only of slots: that payload is already delimited by
    quotes, code or tags.  After a payload, a colon only introduces more
    wrapper ("be rigorous: reply with numbered steps").
    """
    out: list[_Segment] = []
    force_block = -1
    seen_payload = False
    for b, block in enumerate(normalised.split("\n\n")):
        lines = [line for line in block.split("\n") if line]
        forcing = b == force_block
        start = len(out)
        for li, line in enumerate(lines):
            segments = [s for s in _SENTENCE_SPLIT.split(line) if s]
            if forcing:
                out.extend(_Segment(_FORCED, b, seg) for seg in segments)
                forcing = not _slot_only(line)
                continue
            for si, seg in enumerate(segments):
                if _slot_only(seg):
                    out.append(_Segment(_FORCED, b, seg))  # a delimited payload
                    continue
                words = _words(seg)
                cue = _has_cue(words, seg)
                colon = _colon_kind(words, cue, label_max_tokens) if seg[-1] == ":" else ""
                if colon != "intro" or seen_payload:
                    is_instruction = cue or seg[0] == "#" or colon in ("meta", "intro")
                    out.append(_Segment(_INSTRUCTION if is_instruction else _PLAIN, b, seg))
                    continue
                out.append(_Segment(_INSTRUCTION, b, seg))
                out.extend(_Segment(_FORCED, b, rest) for rest in segments[si + 1 :])
                if si == len(segments) - 1:
                    if li < len(lines) - 1:
                        forcing = True
                    else:
                        force_block = b + 1
                break
        block_segments = out[start:]
        if any(seg.kind == _FORCED for seg in block_segments) or not _mostly_instruction(
            block_segments, share
        ):
            seen_payload = True
    return out


def _mostly_instruction(segments: list[_Segment], share: float) -> bool:
    """Instruction text is at least ``share`` of the (unforced) characters."""
    inst = total = 0
    for seg in segments:
        if seg.kind == _FORCED:
            continue
        total += len(seg.text)
        if seg.kind == _INSTRUCTION:
            inst += len(seg.text)
    return inst >= share * total


def _instruction_blocks(segments: list[_Segment], share: float) -> set[int]:
    """Blocks mostly made of instruction text.

    A wrapper run may not reach into a payload-dominated block: that is how a
    payload sentence that happens to mention JSON stays payload.
    """
    by_block: dict[int, list[_Segment]] = {}
    for seg in segments:
        by_block.setdefault(seg.block, []).append(seg)
    return {b for b, segs in by_block.items() if _mostly_instruction(segs, share)}


def _run(segments: list[_Segment], order: list[int], blocks: set[int]) -> list[int]:
    """Indices of the wrapper run from one end of the prompt.

    Instructions extend it; a plain sentence does too when an instruction of
    the same block comes next, so a line of wrapper prose without cue words
    does not cut the wrapper short.
    """
    taken: list[int] = []
    for pos, i in enumerate(order):
        seg = segments[i]
        if seg.block not in blocks:
            break
        if seg.kind == _INSTRUCTION:
            taken.append(i)
            continue
        if seg.kind == _PLAIN and pos + 1 < len(order):
            nxt = segments[order[pos + 1]]
            if nxt.kind == _INSTRUCTION and nxt.block == seg.block:
                taken.append(i)
                continue
        break
    return taken


def skeleton(normalised: str, config: TemplateConfig | None = None) -> Skeleton:
    """Wrapper = the instruction runs at the start and end; all in between is one payload slot.

    Wrappers sit around their payload, so only the prefix and suffix runs of
    instruction sentences are kept; cue words in the middle belong to a
    payload that happens to mention JSON or a step.  Input must be ``normalise``d.
    """
    cfg = config or _DEFAULT_CONFIG
    segments = _classify(normalised, cfg.label_max_tokens, cfg.wrapper_cue_share)
    blocks = _instruction_blocks(segments, cfg.wrapper_cue_share)
    n = len(segments)
    prefix = _run(segments, list(range(n)), blocks)
    rest = list(range(n - 1, len(prefix) - 1, -1))
    keep = set(prefix) | set(_run(segments, rest, blocks))
    pieces: list[str] = []
    last_block = 0
    for i, seg in enumerate(segments):
        piece = seg.text if i in keep else PAYLOAD
        if piece == PAYLOAD and pieces and pieces[-1] == PAYLOAD:
            continue
        if pieces:
            pieces.append("\n\n" if seg.block != last_block else " ")
        pieces.append(piece)
        last_block = seg.block
    text = "".join(pieces)
    has_payload = PAYLOAD in pieces
    return Skeleton(text=text, tokens=tuple(canonical_tokens(text)), has_payload=has_payload)


# --------------------------------------------------------------------------- features

# Features use substring tests and one word split: C-speed scans instead of
# many regex alternations, which kept extract() several times slower.
_COT_PHRASES = (
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
_STRUCTURED = (
    ("asks_json", ("json",)),
    ("asks_yaml", ("yaml",)),
    ("asks_xml", ("xml", "> tags", "<answer>", "</answer>")),
    ("asks_table", ("table", "csv", "columns")),
    ("asks_fields", ("field", "keys", "schema", "properties")),
    ("asks_final_answer", ("final answer", "answer:", "\\boxed", "conclusion")),
    ("asks_role", ("you are a", "you are an", "act as", "your role", "you're a")),
)
_STRUCTURED_KINDS = frozenset({"asks_json", "asks_yaml", "asks_xml", "asks_table", "asks_fields"})
# One flat loop of (needle, feature) pairs: a generator per feature costs more than the scans.
_STRUCTURED_NEEDLES = tuple((n, name) for name, needles in _STRUCTURED for n in needles)
_CODE_LANGS = (
    ("python", ("```py", "def ", "import ", "print(", "self.", "elif ")),
    ("javascript", ("```js", "```javascript", "```ts", "const ", "=>", "console.log", "function(")),
    ("sql", ("```sql", "select ", "insert into", "create table", "group by")),
    ("cpp", ("```cpp", "```c++", "#include", "std::", "int main(")),
    ("java", ("```java", "public class", "public static", "system.out.", "public void")),
    ("rust", ("```rust", "fn ", "let mut", "impl ", "&mut")),
    ("go", ("```go", "func ", "package main", "fmt.")),
    ("bash", ("```bash", "```sh", "#!/bin/", "sudo ", "$ ")),
)
_CODE_MARKERS = (
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
_LIST_LINES = re.compile(r"(?m)^[ \t]*(?:[-*\u2022+]|\d{1,3}[.)])[ \t]+\S")
_CATEGORY_WORDS: dict[str, tuple[str, ...]] = {
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
_CATEGORY_OF = {w: cat for cat, words in _CATEGORY_WORDS.items() for w in words}
_CATEGORY_WEIGHT = {"translation": 4.0, "reasoning": 1.5}
_LANG_OF = {
    **dict.fromkeys(("the", "and", "is", "of", "to", "what", "how", "with", "a"), "en"),
    **dict.fromkeys(("el", "los", "las", "una", "que", "para", "con", "por", "es"), "es"),
    **dict.fromkeys(("le", "les", "une", "des", "est", "pour", "avec", "dans", "du"), "fr"),
    **dict.fromkeys(("der", "die", "das", "und", "ist", "nicht", "mit", "ein", "eine"), "de"),
    **dict.fromkeys(("os", "uma", "não", "é", "em", "do", "da", "com"), "pt"),
}
_SCRIPT = (
    ("ja", re.compile(r"[\u3040-\u30ff]")),
    ("ko", re.compile(r"[\uac00-\ud7af]")),
    ("zh", re.compile(r"[\u4e00-\u9fff]")),
    ("ru", re.compile(r"[\u0400-\u04ff]")),
    ("ar", re.compile(r"[\u0600-\u06ff]")),
    ("hi", re.compile(r"[\u0900-\u097f]")),
)
_COT_PHRASE_SET = _PhraseSet(_COT_PHRASES)


def _language(sample: str, words: list[str]) -> str:
    if not sample.isascii():
        for lang, script in _SCRIPT:
            if len(script.findall(sample)) >= 5:
                return lang
    counts = Counter(filter(None, map(_LANG_OF.get, words)))
    return max(sorted(counts), key=counts.__getitem__) if counts else "unknown"


def _category(words: list[str]) -> str:
    counts = Counter(filter(None, map(_CATEGORY_OF.get, words)))
    if not counts:
        return "general"
    scores = {cat: n * _CATEGORY_WEIGHT.get(cat, 1.0) for cat, n in counts.items()}
    return max(sorted(scores), key=scores.__getitem__)


def prompt_features(
    prompt: str, system_prompt: str | None, config: TemplateConfig | None = None
) -> frozenset[str]:
    """Cheap structural features: what the prompt asks for matters more than what it says."""
    cfg = config or _DEFAULT_CONFIG
    raw = prompt if system_prompt is None else f"{system_prompt}\n\n{prompt}"
    low = raw.lower()
    words = _words(low)
    feats = {f"length:{_length_bucket(len(prompt), cfg.length_buckets)}"}
    if _COT_PHRASE_SET.found_in(words, low) or "<thinking>" in low:
        feats.add("asks_step_by_step")
    for needle, name in _STRUCTURED_NEEDLES:
        if needle in low:
            feats.add(name)
    if not feats.isdisjoint(_STRUCTURED_KINDS):
        feats.add("asks_structured")
    if any(m in low for m in _CODE_MARKERS):
        for lang, needles in _CODE_LANGS:
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


# --------------------------------------------------------------------------- extractor


def _digest(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=8).hexdigest()


def _bounded(text: str, limit: int) -> str:
    """Cap the work per prompt; wrappers live at the ends, so keep head and tail."""
    if len(text) <= limit:
        return text
    half = limit // 2
    return f"{text[:half]}\n\n{text[-half:]}"


def _shingles(token_hashes: np.ndarray, shingle_size: int) -> np.ndarray:
    """Hashes of all 1..shingle_size word n-grams, mixed from the token hashes."""
    grams = [token_hashes, *(combine_ngrams(token_hashes, n) for n in range(2, shingle_size + 1))]
    return np.concatenate(grams) if len(grams) > 1 else token_hashes


@dataclass(frozen=True, slots=True)
class _Analysis:
    """Everything of a ``TemplateMatch`` but the MinHash, which is computed per batch."""

    template_id: str
    exact_id: str
    token_hashes: np.ndarray
    features: frozenset[str]
    wrapper: bool
    skeleton: str

    def match(self, signature: np.ndarray) -> TemplateMatch:
        return TemplateMatch(
            template_id=self.template_id,
            exact_id=self.exact_id,
            minhash=tuple(signature.tolist()),
            features=self.features,
            wrapper=self.wrapper,
            skeleton=self.skeleton,
        )


def _analyse(cfg: TemplateConfig, prompt: str, system: str | None) -> _Analysis:
    """Template of a (bounded) prompt and system prompt, MinHash aside: a pure function."""
    norm = normalise(prompt, cfg)
    skel = skeleton(norm, cfg)
    sys_norm = normalise(system, cfg) if system else ""
    if sys_norm:
        # A system prompt is fixed per application: wrapper by definition, and a
        # user message without a wrapper of its own is then the payload.
        body = skel if skel.has_payload else Skeleton(PAYLOAD, (PAYLOAD,), True)
        skel = Skeleton(
            text=f"{sys_norm}\n\n{body.text}",
            tokens=tuple(canonical_tokens(sys_norm)) + body.tokens,
            has_payload=True,
        )
    is_wrapper = skel.has_payload and len(skel.wrapper_tokens) >= cfg.min_wrapper_tokens
    if is_wrapper:
        text, id_tokens = skel.text, skel.tokens
        k, prefix = cfg.id_tokens, WRAPPER_PREFIX
    else:
        text = f"{sys_norm}\n\n{norm}" if sys_norm else norm
        id_tokens = tuple(plain_tokens(text))
        k, prefix = cfg.plain_id_tokens, PLAIN_PREFIX
    exact_id = _digest(text.encode("utf-8", "surrogatepass"))
    hashes = [stable_hash64(t) for t in id_tokens]
    if hashes:
        bottom = sorted(set(hashes))[:k]  # the bottom-k sketch of distinct token hashes
        template_id = prefix + _digest(struct.pack(f"<{len(bottom)}Q", *bottom))
    else:
        template_id = prefix + exact_id
    features = prompt_features(prompt, system, cfg)
    if is_wrapper:
        features = features | {"has_wrapper"}
    return _Analysis(
        template_id=template_id,
        exact_id=exact_id,
        token_hashes=np.array(hashes, dtype=np.uint64),
        features=features,
        wrapper=is_wrapper,
        skeleton=text if is_wrapper else "",
    )


class TemplateExtractor:
    """Pure function from prompt text to ``TemplateMatch``, memoised per exact prompt.

    Holds only the MinHash family and a bounded LRU of recent matches: a
    prompt seen again verbatim (retries, fixed prompts, benchmark loops)
    costs one dict lookup instead of a full extraction.
    """

    __slots__ = ("_cache", "_empty", "_hasher", "config")

    def __init__(self, config: TemplateConfig | None = None) -> None:
        cfg = self.config = config or _DEFAULT_CONFIG
        self._hasher = hasher = MinHasher(cfg.num_perm, cfg.seed)
        self._empty = TemplateMatch(
            template_id=EMPTY_TEMPLATE_ID,
            exact_id=EMPTY_TEMPLATE_ID,
            minhash=tuple(hasher.empty().tolist()),
            features=frozenset({"empty_prompt"}),
        )
        self._cache: OrderedDict[tuple[str, str | None], TemplateMatch] = OrderedDict()

    def _cached(self, key: tuple[str, str | None]) -> TemplateMatch | None:
        match = self._cache.get(key)
        if match is not None:
            self._cache.move_to_end(key)
        return match

    def _remember(self, key: tuple[str, str | None], match: TemplateMatch) -> None:
        if self.config.cache_size:
            self._cache[key] = match
            if len(self._cache) > self.config.cache_size:
                self._cache.popitem(last=False)

    def _key(self, prompt: str | None, system_prompt: str | None) -> tuple[str, str | None]:
        limit = self.config.max_prompt_chars
        system = _bounded(system_prompt, limit) if system_prompt else None
        return _bounded(prompt or "", limit), system

    def _fingerprint_match(self, fingerprint: PromptFingerprint) -> TemplateMatch:
        if len(fingerprint.minhash) != self.config.num_perm:
            raise ConfigError(
                f"fingerprint minhash has {len(fingerprint.minhash)} values, "
                f"expected {self.config.num_perm}"
            )
        return TemplateMatch(
            template_id=fingerprint.template_id,
            exact_id=fingerprint.template_id,
            minhash=tuple(fingerprint.minhash),
            features=frozenset({"privacy_mode"}),
            wrapper=fingerprint.template_id.startswith(WRAPPER_PREFIX),
        )

    def extract_texts(self, texts: list[tuple[str | None, str | None]]) -> list[TemplateMatch]:
        """Templates of many (prompt, system prompt) pairs: ``extract`` of each pair.

        The MinHash of all prompts not in the cache is computed in one vectorised pass
        (``MinHasher.signatures_of_token_hashes``), and a prompt repeated within the batch
        is analysed once.
        """
        empty = ("", None)
        keys = [self._key(p, s) if p or s else empty for p, s in texts]
        found: dict[tuple[str, str | None], TemplateMatch] = {empty: self._empty}
        pending: dict[tuple[str, str | None], _Analysis] = {}
        for key in keys:
            if key in found or key in pending:
                continue
            match = self._cached(key)
            if match is not None:
                found[key] = match
            else:
                pending[key] = _analyse(self.config, *key)
        if pending:
            signatures = self._hasher.signatures_of_token_hashes(
                [a.token_hashes for a in pending.values()], self.config.shingle_size
            )
            for (key, analysis), signature in zip(pending.items(), signatures, strict=True):
                found[key] = match = analysis.match(signature)
                self._remember(key, match)
        return [found[key] for key in keys]

    def extract(
        self,
        prompt: str | None,
        system_prompt: str | None = None,
        fingerprint: PromptFingerprint | None = None,
    ) -> TemplateMatch:
        """Template of one request; text wins over a fingerprint when both are present.

        Raises ``ConfigError`` for a fingerprint whose MinHash length does not
        match this extractor's ``num_perm`` (a gateway on different settings),
        so the caller can dead-letter it instead of comparing garbage.
        """
        if not prompt and not system_prompt:
            if fingerprint is None:
                return self._empty
            return self._fingerprint_match(fingerprint)
        key = self._key(prompt, system_prompt)
        match = self._cached(key)
        if match is None:
            cfg = self.config
            analysis = _analyse(cfg, *key)
            shingles = _shingles(analysis.token_hashes, cfg.shingle_size)
            match = analysis.match(self._hasher.signature_from_hashes(shingles))
            self._remember(key, match)
        return match


_DEFAULT_CONFIG = TemplateConfig()
