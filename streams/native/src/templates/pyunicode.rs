//! Python's definitions of word, digit and space characters and of `str.lower()`.
//!
//! Rust's own (`char::is_alphanumeric`, the `regex` crate's `\w`, `str::to_lowercase`)
//! follow another Unicode version and slightly different rules (marks and connector
//! punctuation are `\w` in Rust, not in Python; `\x1c`..`\x1f` are Python whitespace), so
//! every test and every regex class here comes from the tables generated from Python.

use std::sync::LazyLock;

use super::tables;

fn in_ranges(ranges: &[(u32, u32)], c: char) -> bool {
    let c = c as u32;
    ranges
        .binary_search_by(|&(lo, hi)| {
            if hi < c {
                std::cmp::Ordering::Less
            } else if lo > c {
                std::cmp::Ordering::Greater
            } else {
                std::cmp::Ordering::Equal
            }
        })
        .is_ok()
}

/// Python `re` `\w` (str pattern): `c.isalnum() or c == "_"` (the regexes use `W`).
#[cfg_attr(not(test), allow(dead_code))]
#[inline]
pub fn is_word(c: char) -> bool {
    if c.is_ascii() {
        c.is_ascii_alphanumeric() || c == '_'
    } else {
        in_ranges(tables::WORD, c)
    }
}

/// `str.isspace()`, Python `re` `\s`, what `str.split()` and `str.strip()` remove.
#[inline]
pub fn is_space(c: char) -> bool {
    if c.is_ascii() {
        matches!(c, '\t'..='\r' | '\x1c'..='\x1f' | ' ')
    } else {
        in_ranges(tables::SPACE, c)
    }
}

/// `str.split()` without arguments.
pub fn split(text: &str) -> impl Iterator<Item = &str> {
    text.split(is_space).filter(|w| !w.is_empty())
}

/// `str.strip()` without arguments.
pub fn strip(text: &str) -> &str {
    text.trim_matches(is_space)
}

/// Body of a regex character class (no brackets) holding exactly `ranges`.
pub fn class_body(ranges: &[(u32, u32)]) -> String {
    let mut s = String::new();
    for &(lo, hi) in ranges {
        if lo == hi {
            s.push_str(&format!("\\x{{{lo:x}}}"));
        } else {
            s.push_str(&format!("\\x{{{lo:x}}}-\\x{{{hi:x}}}"));
        }
    }
    s
}

/// Class bodies: `W` (`\w`), `D` (`\d`), `S` (`\s`); `[^S]` is `\S`.
pub static W: LazyLock<String> = LazyLock::new(|| class_body(tables::WORD));
pub static D: LazyLock<String> = LazyLock::new(|| class_body(tables::DECIMAL));
pub static S: LazyLock<String> = LazyLock::new(|| class_body(tables::SPACE));

/// A regex written with `{W}`, `{D}` and `{S}` for the class bodies, and `{TAG0}`, `{TAG1}`
/// for the tag-name classes of `_ELEMENT`.
pub fn pattern(template: &str) -> String {
    template
        .replace("{W}", &W)
        .replace("{D}", &D)
        .replace("{S}", &S)
        .replace("{TAG0}", &class_body(tables::TAG_FIRST))
        .replace("{TAG1}", &class_body(tables::TAG_REST))
}

static LOWER: LazyLock<Vec<(char, &'static str)>> = LazyLock::new(|| {
    tables::LOWER
        .iter()
        .map(|&(from, to)| (from.chars().next().expect("one character"), to))
        .collect()
});

const CAPITAL_SIGMA: char = '\u{3a3}';

fn final_sigma(text: &str, at: usize) -> bool {
    let ignorable = |c: &char| in_ranges(tables::CASE_IGNORABLE, *c);
    let before = text[..at].chars().rev().find(|c| !ignorable(c));
    if !before.is_some_and(|c| in_ranges(tables::CASED, c)) {
        return false;
    }
    let after = text[at + CAPITAL_SIGMA.len_utf8()..]
        .chars()
        .find(|c| !ignorable(c));
    !after.is_some_and(|c| in_ranges(tables::CASED, c))
}

/// `str.lower()`, final-sigma rule included.
pub fn lower(text: &str) -> String {
    if text.is_ascii() {
        return text.to_ascii_lowercase();
    }
    let mut out = String::with_capacity(text.len());
    for (i, c) in text.char_indices() {
        if c.is_ascii() {
            out.push(c.to_ascii_lowercase());
        } else if c == CAPITAL_SIGMA {
            out.push(if final_sigma(text, i) {
                '\u{3c2}'
            } else {
                '\u{3c3}'
            });
        } else {
            match LOWER.binary_search_by_key(&c, |&(from, _)| from) {
                Ok(k) => out.push_str(LOWER[k].1),
                Err(_) => out.push(c),
            }
        }
    }
    out
}

/// Byte offset of the `n`-th character (the length when there are fewer).
pub fn char_offset(text: &str, n: usize) -> usize {
    text.char_indices().nth(n).map_or(text.len(), |(i, _)| i)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_word_and_space() {
        assert!(is_word('_') && is_word('é') && is_word('²') && is_word('〇'));
        assert!(!is_word('\u{301}')); // a combining mark is \w in Rust, not in Python
        assert!(!is_word('\u{203f}')); // nor is connector punctuation other than "_"
        assert!(is_space('\x1f') && is_space('\u{85}') && is_space('\u{3000}'));
        assert!(!is_space('\u{200b}'));
        assert_eq!(
            split(" a\x1cb \u{3000}c ").collect::<Vec<_>>(),
            ["a", "b", "c"]
        );
    }

    #[test]
    fn python_lower() {
        assert_eq!(lower("ÀB"), "àb");
        assert_eq!(lower("İ"), "i\u{307}");
        assert_eq!(lower("ΟΔΟΣ ΣΑ"), "οδος σα");
        assert_eq!(lower("Σ"), "σ");
        assert_eq!(lower("A'Σ'"), "a'ς'");
    }
}
