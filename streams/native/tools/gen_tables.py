"""Writes src/templates/tables.rs: the word lists of streams.templates.lexicon and Unicode tables.

The word lists are reviewable data in ``streams/templates/lexicon.py``; this tool groups them
the way the crate looks them up (synonym phrases by first word, longest first; phrase sets by
first word) and reads Python's own definitions of ``\\w``, ``\\d``, ``\\s`` (``re`` on str),
``str.isspace``/``split``/``strip`` and ``str.lower`` (with its final-sigma rule) from the
running interpreter rather than retyping them.  Usage (from the repository root)::

    .venv/bin/python streams/native/tools/gen_tables.py

``tests/streams/templates/test_golden.py`` regenerates the text and compares it with the file.
"""

from __future__ import annotations

import re
import sys
import unicodedata
from pathlib import Path
from types import SimpleNamespace

OUT = Path(__file__).resolve().parents[1] / "src" / "templates" / "tables.rs"
_SURROGATES = range(0xD800, 0xE000)


def _chars():
    return (c for c in range(0x110000) if c not in _SURROGATES)


def _ranges(pred) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for c in _chars():
        if pred(chr(c)):
            if out and out[-1][1] == c - 1:
                out[-1] = (out[-1][0], c)
            else:
                out.append((c, c))
    return out


def _rs_str(s: str) -> str:
    return (
        '"'
        + "".join(
            ch if 0x20 <= ord(ch) < 0x7F and ch not in '"\\' else f"\\u{{{ord(ch):x}}}" for ch in s
        )
        + '"'
    )


def _rs_ranges(name: str, ranges: list[tuple[int, int]], doc: str) -> str:
    body = ", ".join(f"(0x{a:x}, 0x{b:x})" for a, b in ranges)
    return f"/// {doc}\npub static {name}: &[(u32, u32)] = &[{body}];\n"


def _rs_words(name: str, words, doc: str) -> str:
    body = ", ".join(_rs_str(w) for w in words)
    return f"/// {doc}\npub static {name}: &[&str] = &[{body}];\n"


def _rs_pairs(name: str, pairs, doc: str) -> str:
    body = ", ".join(f"({_rs_str(a)}, {_rs_str(b)})" for a, b in pairs)
    return f"/// {doc}\npub static {name}: &[(&str, &str)] = &[{body}];\n"


def _rs_phrase_set(name: str, by_first: dict[str, list[str]], doc: str) -> str:
    rows = ", ".join(
        f"({_rs_str(first)}, &[{', '.join(_rs_str(p) for p in phrases)}])"
        for first, phrases in by_first.items()
    )
    return f"/// {doc}\npub static {name}: &[(&str, &[&str])] = &[{rows}];\n"


def _sigma_final(text: str) -> bool:
    return text.lower()[-1] == "\u03c2"


def _split_words(text: str, punctuation: str) -> list[str]:
    return text.translate(str.maketrans(dict.fromkeys(punctuation, " "))).split()


def _by_first(phrases, punctuation: str) -> dict[str, list[str]]:
    """Phrases grouped by their first word, in order (the crate's ``PhraseSet``)."""
    out: dict[str, list[str]] = {}
    for phrase in phrases:
        out.setdefault(_split_words(phrase, punctuation)[0], []).append(phrase)
    return out


def _synonym_index(synonyms: dict[str, str]) -> list[tuple[str, str]]:
    """(phrase, canonical word), grouped by first token, longest phrase first."""
    token = re.compile(r"</?#?\w+>|\w+")
    canon_of: dict[tuple[str, ...], str] = {}
    for canon, phrases in synonyms.items():
        for phrase in phrases.split("|"):
            canon_of.setdefault(tuple(token.findall(phrase.strip())), canon)
    index: dict[str, list[tuple[tuple[str, ...], str]]] = {}
    for key, canon in sorted(canon_of.items(), key=lambda kv: -len(kv[0])):
        index.setdefault(key[0], []).append((key, canon))
    return [(" ".join(key), canon) for entries in index.values() for key, canon in entries]


def _lexicon() -> SimpleNamespace:
    """The tables, grouped from ``streams.templates.lexicon``."""
    from streams.templates import lexicon as x

    punct = x.PUNCTUATION
    return SimpleNamespace(
        _PUNCTUATION=str.maketrans(dict.fromkeys(punct, " ")),
        _NOT_NAMES=frozenset(x.NOT_NAME_WORDS.split()),
        _SYN_INDEX=_synonym_index(x.SYNONYMS),
        _STOPWORDS=frozenset(x.STOPWORD_WORDS.split()),
        _STRONG_CUE_WORDS=frozenset(x.STRONG_CUE_WORDS.split()),
        _WEAK_CUE_WORDS=frozenset(x.WEAK_CUE_WORDS.split()),
        _CUE_PHRASE_SET=_by_first(x.CUE_PHRASES, punct),
        _META_LABELS=frozenset(x.META_LABEL_WORDS.split()),
        _ENUMERATION_NOUNS=frozenset(x.ENUMERATION_NOUN_WORDS.split()),
        _FIRST_PERSON=frozenset(x.FIRST_PERSON_WORDS.split()),
        _COT_PHRASE_SET=_by_first(x.COT_PHRASES, punct),
        _STRUCTURED_NEEDLES=tuple((n, name) for name, needles in x.STRUCTURED for n in needles),
        _STRUCTURED_KINDS=frozenset(x.STRUCTURED_KINDS),
        _CODE_MARKERS=x.CODE_MARKERS,
        _CODE_LANGS=x.CODE_LANGS,
        _CATEGORY_OF={w: cat for cat, words in x.CATEGORY_WORDS.items() for w in words},
        _CATEGORY_WEIGHT=x.CATEGORY_WEIGHT,
        _LANG_OF=x.LANG_OF,
        _SCRIPT=x.SCRIPT,
    )


def render() -> str:
    t = _lexicon()

    one = re.compile(r"\w")
    word = _ranges(lambda ch: one.match(ch) is not None)
    dig = re.compile(r"\d")
    decimal = _ranges(lambda ch: dig.match(ch) is not None)
    sp = re.compile(r"\s")
    space = _ranges(lambda ch: sp.match(ch) is not None)
    assert space == _ranges(str.isspace) == _ranges(lambda ch: ch.split() == [] and ch != "")
    # The _ELEMENT tag-name classes as ``re.IGNORECASE`` extends them.
    name0 = re.compile(r"[A-Za-z_]", re.IGNORECASE)
    name1 = re.compile(r"[A-Za-z0-9_\-]", re.IGNORECASE)
    tag_first = _ranges(lambda ch: name0.fullmatch(ch) is not None)
    tag_rest = _ranges(lambda ch: name1.fullmatch(ch) is not None)
    lower = [(chr(c), chr(c).lower()) for c in _chars() if chr(c).lower() != chr(c)]
    # Final sigma: str.lower() skips case-ignorable characters around a capital sigma and
    # looks at the first cased one.  Probed from str.lower() itself (see lower() in pyunicode).
    ignorable = _ranges(
        lambda ch: (
            _sigma_final("A" + ch + "\u03a3")
            and not _sigma_final("1" + ch + "\u03a3")
            and ("A\u03a3" + ch).lower()[1] == "\u03c2"
        )
    )
    cased = _ranges(lambda ch: _sigma_final("1" + ch + "\u03a3"))

    syn_index = t._SYN_INDEX
    scripts = []
    for lang, pattern in t._SCRIPT:
        m = re.fullmatch(r"\[\\u([0-9a-f]{4})-\\u([0-9a-f]{4})\]", pattern.pattern)
        assert m, pattern.pattern
        scripts.append(f"({_rs_str(lang)}, 0x{m[1]}, 0x{m[2]})")
    code_langs = ", ".join(
        f"({_rs_str(lang)}, &[{', '.join(_rs_str(n) for n in needles)}])"
        for lang, needles in t._CODE_LANGS
    )
    weights = ", ".join(f"({_rs_str(k)}, {v!r})" for k, v in sorted(t._CATEGORY_WEIGHT.items()))
    parts = [
        "// @generated by streams/native/tools/gen_tables.py from streams/templates/lexicon.py\n"
        f"// and the Unicode {unicodedata.unidata_version} database of Python "
        f"{sys.version_info.major}.{sys.version_info.minor}; do not edit.\n",
        "#![allow(clippy::all)]\n",
        f'pub const UNIDATA_VERSION: &str = "{unicodedata.unidata_version}";\n',
        _rs_ranges("WORD", word, r"Python `re` `\w` on str: `str.isalnum()` or `_`."),
        _rs_ranges("DECIMAL", decimal, r"Python `re` `\d` on str: `str.isdecimal()`."),
        _rs_ranges("SPACE", space, r"Python `re` `\s`, `str.isspace()`, `str.split()`."),
        _rs_ranges("TAG_FIRST", tag_first, "`[A-Za-z_]` under `re.IGNORECASE`."),
        _rs_ranges("TAG_REST", tag_rest, r"`[A-Za-z0-9_\-]` under `re.IGNORECASE`."),
        _rs_pairs("LOWER", lower, "`str.lower()` of each character it changes, by code point."),
        _rs_ranges(
            "CASE_IGNORABLE", ignorable, "Skipped by the final-sigma rule of `str.lower()`."
        ),
        _rs_ranges("CASED", cased, "Cased (and not case-ignorable) for the final-sigma rule."),
        _rs_words("PUNCTUATION", sorted(chr(c) for c in t._PUNCTUATION), "Dropped by `_words`."),
        _rs_words("NOT_NAMES", sorted(t._NOT_NAMES), "`_NOT_NAMES`."),
        _rs_pairs(
            "SYN_INDEX", syn_index, "`_SYN_BY_FIRST` flattened in its order: (phrase, canon)."
        ),
        _rs_words("STOPWORDS", sorted(t._STOPWORDS), "`_STOPWORDS`."),
        _rs_words("STRONG_CUE_WORDS", sorted(t._STRONG_CUE_WORDS), "`_STRONG_CUE_WORDS`."),
        _rs_words("WEAK_CUE_WORDS", sorted(t._WEAK_CUE_WORDS), "`_WEAK_CUE_WORDS`."),
        _rs_phrase_set("CUE_PHRASES", t._CUE_PHRASE_SET, "`_CUE_PHRASE_SET` by first word."),
        _rs_words("META_LABELS", sorted(t._META_LABELS), "`_META_LABELS`."),
        _rs_words("ENUMERATION_NOUNS", sorted(t._ENUMERATION_NOUNS), "`_ENUMERATION_NOUNS`."),
        _rs_words("FIRST_PERSON", sorted(t._FIRST_PERSON), "`_FIRST_PERSON`."),
        _rs_phrase_set("COT_PHRASES", t._COT_PHRASE_SET, "`_COT_PHRASE_SET` by first word."),
        _rs_pairs(
            "STRUCTURED_NEEDLES", t._STRUCTURED_NEEDLES, "`_STRUCTURED_NEEDLES`: (needle, feature)."
        ),
        _rs_words("STRUCTURED_KINDS", sorted(t._STRUCTURED_KINDS), "`_STRUCTURED_KINDS`."),
        _rs_words("CODE_MARKERS", t._CODE_MARKERS, "`_CODE_MARKERS`."),
        "/// `_CODE_LANGS`, in order.\n"
        f"pub static CODE_LANGS: &[(&str, &[&str])] = &[{code_langs}];\n",
        _rs_pairs(
            "CATEGORY_OF", sorted(t._CATEGORY_OF.items()), "`_CATEGORY_OF`: (word, category)."
        ),
        f"/// `_CATEGORY_WEIGHT`.\npub static CATEGORY_WEIGHT: &[(&str, f64)] = &[{weights}];\n",
        _rs_pairs("LANG_OF", sorted(t._LANG_OF.items()), "`_LANG_OF`: (word, language)."),
        f"/// `_SCRIPT`, in order: (language, first, last).\n"
        f"pub static SCRIPTS: &[(&str, u32, u32)] = &[{', '.join(scripts)}];\n",
    ]
    return "\n".join(parts)


def main() -> None:
    OUT.write_text(render(), encoding="utf-8")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
