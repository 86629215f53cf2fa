//! The word lists of `streams/templates.py` (generated into `tables`) as lookup structures.

use std::sync::LazyLock;

use rustc_hash::{FxHashMap, FxHashSet};

use super::pyunicode::is_space;
use super::tables;

pub type WordSet = FxHashSet<&'static str>;

fn set(words: &'static [&'static str]) -> WordSet {
    words.iter().copied().collect()
}

pub static NOT_NAMES: LazyLock<WordSet> = LazyLock::new(|| set(tables::NOT_NAMES));
pub static STOPWORDS: LazyLock<WordSet> = LazyLock::new(|| set(tables::STOPWORDS));
pub static STRONG_CUE_WORDS: LazyLock<WordSet> = LazyLock::new(|| set(tables::STRONG_CUE_WORDS));
pub static WEAK_CUE_WORDS: LazyLock<WordSet> = LazyLock::new(|| set(tables::WEAK_CUE_WORDS));
pub static META_LABELS: LazyLock<WordSet> = LazyLock::new(|| set(tables::META_LABELS));
pub static ENUMERATION_NOUNS: LazyLock<WordSet> = LazyLock::new(|| set(tables::ENUMERATION_NOUNS));
pub static FIRST_PERSON: LazyLock<WordSet> = LazyLock::new(|| set(tables::FIRST_PERSON));
pub static STRUCTURED_KINDS: LazyLock<WordSet> = LazyLock::new(|| set(tables::STRUCTURED_KINDS));
pub static CATEGORY_OF: LazyLock<FxHashMap<&'static str, &'static str>> =
    LazyLock::new(|| tables::CATEGORY_OF.iter().copied().collect());
pub static LANG_OF: LazyLock<FxHashMap<&'static str, &'static str>> =
    LazyLock::new(|| tables::LANG_OF.iter().copied().collect());

/// `_CATEGORY_WEIGHT.get(category, 1.0)`.
pub fn category_weight(category: &str) -> f64 {
    tables::CATEGORY_WEIGHT
        .iter()
        .find(|(c, _)| *c == category)
        .map_or(1.0, |&(_, w)| w)
}

/// `_PhraseSet`: phrases by their first word, tested as substrings.
pub struct PhraseSet {
    by_first: FxHashMap<&'static str, &'static [&'static str]>,
}

impl PhraseSet {
    fn new(rows: &'static [(&'static str, &'static [&'static str])]) -> Self {
        PhraseSet {
            by_first: rows.iter().copied().collect(),
        }
    }

    /// Whether `text` (split by `words` into `words`) contains one of the phrases.
    pub fn found_in(&self, words: &[&str], text: &str) -> bool {
        words.iter().any(|w| {
            self.by_first
                .get(w)
                .is_some_and(|phrases| phrases.iter().any(|p| text.contains(p)))
        })
    }
}

pub static CUE_PHRASES: LazyLock<PhraseSet> = LazyLock::new(|| PhraseSet::new(tables::CUE_PHRASES));
pub static COT_PHRASES: LazyLock<PhraseSet> = LazyLock::new(|| PhraseSet::new(tables::COT_PHRASES));

/// `_SYN_BY_FIRST`: first token -> [(phrase tokens, canonical word)], longest first.
pub type SynIndex = FxHashMap<&'static str, Vec<(Vec<&'static str>, &'static str)>>;

pub static SYN_BY_FIRST: LazyLock<SynIndex> = LazyLock::new(|| {
    let mut index = SynIndex::default();
    for &(phrase, canon) in tables::SYN_INDEX {
        let key: Vec<&str> = phrase.split(' ').collect();
        index.entry(key[0]).or_default().push((key, canon));
    }
    index
});

fn is_punctuation(c: char) -> bool {
    c.is_ascii()
        && tables::PUNCTUATION
            .iter()
            .any(|p| p.as_bytes()[0] == c as u8)
}

static PUNCT_ASCII: LazyLock<[bool; 128]> = LazyLock::new(|| {
    let mut table = [false; 128];
    for (i, slot) in table.iter_mut().enumerate() {
        *slot = is_punctuation(char::from(i as u8));
    }
    table
});

/// `_words`: whitespace words with the ASCII punctuation of `_PUNCTUATION` dropped.
pub fn words(text: &str) -> Vec<&str> {
    let punct = &*PUNCT_ASCII;
    text.split(|c: char| (c.is_ascii() && punct[c as usize]) || is_space(c))
        .filter(|w| !w.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_drop_punctuation_only() {
        assert_eq!(
            words("you're (step-by-step): a/b"),
            ["you're", "step-by-step", "a", "b"]
        );
    }

    #[test]
    fn synonyms_longest_first() {
        let step = &SYN_BY_FIRST["step"];
        assert_eq!(step[0].1, "stepbystep");
        assert!(step.windows(2).all(|w| w[0].0.len() >= w[1].0.len()));
    }
}
