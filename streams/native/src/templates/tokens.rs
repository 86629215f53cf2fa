//! `canonical_tokens` and `plain_tokens`: the tokens template ids hash.

use std::sync::LazyLock;

use regex::Regex;

use super::lexicon::{STOPWORDS, SYN_BY_FIRST};
use super::pyunicode::pattern;

static TOKEN: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(&pattern(r"</?#?[{W}]+>|[{W}]+")).expect("a valid pattern"));

/// `_TOKEN.findall(text)`.
pub fn findall(text: &str) -> Vec<&str> {
    TOKEN.find_iter(text).map(|m| m.as_str()).collect()
}

/// Content tokens of a prompt without a wrapper: stop words out, nothing folded.
pub fn plain_tokens(text: &str) -> Vec<&str> {
    findall(text)
        .into_iter()
        .filter(|w| !STOPWORDS.contains(w))
        .collect()
}

/// Content tokens of a skeleton: longest-match synonym folding, stop words and plurals out.
pub fn canonical_tokens(skeleton_text: &str) -> Vec<&str> {
    let words = findall(skeleton_text);
    let mut out = Vec::with_capacity(words.len());
    let mut i = 0;
    let n = words.len();
    'outer: while i < n {
        let word = words[i];
        if let Some(candidates) = SYN_BY_FIRST.get(word) {
            for (key, canon) in candidates {
                if words.len() >= i + key.len() && words[i..i + key.len()] == key[..] {
                    out.push(*canon);
                    i += key.len();
                    continue 'outer;
                }
            }
        }
        i += 1;
        if STOPWORDS.contains(word) {
            continue;
        }
        let b = word.as_bytes();
        if word.chars().count() > 3
            && b[b.len() - 1] == b's'
            && !word.ends_with("ss")
            && b[0] != b'<'
        {
            out.push(&word[..word.len() - 1]);
        } else {
            out.push(word);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_synonyms_and_plurals() {
        assert_eq!(
            canonical_tokens("please respond with the fields in json format, step by step"),
            ["return", "field", "json", "stepbystep"]
        );
        assert_eq!(
            canonical_tokens("<#payload> cats glass"),
            ["<#payload>", "cat", "glass"]
        );
        assert_eq!(
            plain_tokens("what is the capital of <#name>"),
            ["capital", "<#name>"]
        );
    }
}
