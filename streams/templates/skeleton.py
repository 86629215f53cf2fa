"""The instruction skeleton of a normalised prompt and its canonical tokens."""

from __future__ import annotations

import re
from dataclasses import dataclass

from streams.config import TemplateConfig
from streams.templates.lexicon import CUE_PHRASES, STOPWORD_WORDS, SYNONYMS
from streams.templates.normalise import DEFAULT_CONFIG, PAYLOAD, PhraseSet, split_words, word_set

_TOKEN = re.compile(r"</?#?\w+>|\w+")


def _synonym_index() -> dict[str, list[tuple[tuple[str, ...], str]]]:
    """First word -> [(phrase tokens, canonical word)], longest phrase first."""
    canon_of: dict[tuple[str, ...], str] = {}
    for canon, phrases in SYNONYMS.items():
        for phrase in phrases.split("|"):
            canon_of.setdefault(tuple(_TOKEN.findall(phrase.strip())), canon)
    index: dict[str, list[tuple[tuple[str, ...], str]]] = {}
    for key, canon in sorted(canon_of.items(), key=lambda kv: -len(kv[0])):
        index.setdefault(key[0], []).append((key, canon))
    return index


_SYN_BY_FIRST = _synonym_index()
_STOPWORDS = word_set(STOPWORD_WORDS)


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
_STRONG_CUE_WORDS = word_set(
    """respond responds reply reasoning rationale think thinking instruction instructions
    concise concisely stepwise step-by-step pedagogical"""
)
_WEAK_CUE_WORDS = word_set(
    """json yaml xml markdown schema field fields keys format formatted formatting output tags
    response following follows below above table columns"""
)
_CUE_PHRASE_SET = PhraseSet(CUE_PHRASES)
_META_LABELS = word_set(
    """system assistant instruction instructions format response output requirements rules
    note notes constraints guidelines example examples style"""
)
# "... with the fields: a, b" enumerates wrapper detail rather than introducing a payload.
_ENUMERATION_NOUNS = word_set(
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


_FIRST_PERSON = word_set("i i'm i've my me we our us")


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
                words = split_words(seg)
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
    cfg = config or DEFAULT_CONFIG
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
