"""Prompt normalisation: variable spans (code, quotes, numbers, names, URLs...) become slots."""

from __future__ import annotations

import re

from streams.config import TemplateConfig
from streams.templates.lexicon import NOT_NAME_WORDS

PAYLOAD = "<#payload>"


# --------------------------------------------------------------------------- normalise


def word_set(words: str) -> frozenset[str]:
    """Word lists are kept as prose blocks: easier to review than one quoted string per word."""
    return frozenset(words.split())


_PUNCTUATION = str.maketrans(dict.fromkeys('.,;:!?()[]{}"<>/\\=*&%$#@^|~`', " "))


def split_words(text: str) -> list[str]:
    """Whitespace words with ASCII punctuation dropped ("you're", "step-by-step" stay whole).

    ``str.translate`` + ``split`` is a C-level pass, a few times cheaper than a
    regex ``findall`` on every sentence.
    """
    return text.translate(_PUNCTUATION).split()


class PhraseSet:
    """Multi-word phrases looked up by their first word, then tested as substrings.

    One C-level set intersection finds the few phrase-starting words a text
    contains; only their phrases get a substring test.
    """

    __slots__ = ("_by_first", "_firsts")

    def __init__(self, phrases: tuple[str, ...]) -> None:
        by_first: dict[str, list[str]] = {}
        for phrase in phrases:
            by_first.setdefault(split_words(phrase)[0], []).append(phrase)
        self._by_first = by_first
        self._firsts = frozenset(by_first)

    def found_in(self, words: list[str], text: str) -> bool:
        """Whether ``text`` (``split_words`` gave ``words``) contains one of the phrases."""
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
_NOT_NAMES = word_set(NOT_NAME_WORDS)


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
    cfg = config or DEFAULT_CONFIG
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


DEFAULT_CONFIG = TemplateConfig()
