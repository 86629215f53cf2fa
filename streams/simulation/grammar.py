"""A tiny alternation grammar for composing natural-looking text.

``{a|b|c}`` picks one alternative (alternatives nest), ``[[name]]`` inserts a
slot supplied at render time, and ``\\{``, ``\\}``, ``\\|`` are literal
characters.  Prompts built this way vary in wording, order and length the way
people's do, while staying reproducible from a seeded ``random.Random``.
Compiled templates are cached: the simulator renders the same few hundred
templates hundreds of thousands of times.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping, Sequence
from functools import cache

from streams.errors import GrammarError

SlotValue = str | Sequence[str] | Callable[[random.Random], str]
# A compiled node is plain text, ("alt", alternatives) or ("slot", name).
Node = str | tuple


def _parse(text: str, i: int, nested: bool) -> tuple[tuple[Node, ...], int]:
    nodes: list[Node] = []
    buf: list[str] = []

    def flush() -> None:
        if buf:
            nodes.append("".join(buf))
            buf.clear()

    while i < len(text):
        c = text[i]
        if c == "\\" and i + 1 < len(text) and text[i + 1] in "{}|\\":
            buf.append(text[i + 1])
            i += 2
        elif c == "{":
            flush()
            alternatives: list[tuple[Node, ...]] = []
            i += 1
            while True:
                seq, i = _parse(text, i, nested=True)
                alternatives.append(seq)
                if i >= len(text):
                    raise GrammarError(f"unclosed '{{' in template {text[:60]!r}")
                i += 1
                if text[i - 1] == "}":
                    break
            nodes.append(("alt", tuple(alternatives)))
        elif c in "|}":
            if nested:
                break
            if c == "}":
                raise GrammarError(f"unbalanced '}}' in template {text[:60]!r}")
            buf.append(c)
            i += 1
        elif text.startswith("[[", i):
            end = text.find("]]", i + 2)
            if end < 0:
                raise GrammarError(f"unterminated slot in template {text[:60]!r}")
            flush()
            nodes.append(("slot", text[i + 2 : end]))
            i = end + 2
        else:
            buf.append(c)
            i += 1
    flush()
    return tuple(nodes), i


@cache
def compile_template(template: str) -> tuple[Node, ...]:
    """Parse ``template`` once; raises GrammarError when it is malformed."""
    nodes, _ = _parse(template, 0, nested=False)
    return nodes


def _emit(
    nodes: tuple[Node, ...], rng: random.Random, slots: Mapping[str, SlotValue], out: list[str]
) -> None:
    for node in nodes:
        if type(node) is str:
            out.append(node)
        elif node[0] == "alt":
            _emit(rng.choice(node[1]), rng, slots, out)
        else:
            value = slots[node[1]]
            if isinstance(value, str):
                out.append(value)
            elif callable(value):
                out.append(value(rng))
            else:
                out.append(rng.choice(value))


def render(template: str, rng: random.Random, slots: Mapping[str, SlotValue] | None = None) -> str:
    """Expand ``template`` with choices drawn from ``rng``.

    A slot value may be text, a sequence to pick from, or a function of the
    generator (for nested generators such as a code snippet).
    """
    out: list[str] = []
    _emit(compile_template(template), rng, slots or {}, out)
    return "".join(out)


def pick(rng: random.Random, templates: Sequence[str], slots: Mapping[str, SlotValue]) -> str:
    """Render one template chosen uniformly from ``templates``."""
    return render(rng.choice(templates), rng, slots)
