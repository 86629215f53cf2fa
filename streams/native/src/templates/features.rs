//! Prompt features: cheap structural features of a prompt.

use std::collections::BTreeSet;
use std::sync::LazyLock;

use regex::Regex;
use rustc_hash::FxHashMap;

use super::lexicon::{category_weight, words, CATEGORY_OF, COT_PHRASES, LANG_OF, STRUCTURED_KINDS};
use super::pyunicode::{char_offset, lower, pattern};
use super::tables;

static LIST_LINES: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&pattern(
        r"(?m)^[ \t]*(?:[\-*\x{2022}+]|[{D}]{1,3}[.)])[ \t]+[^{S}]",
    ))
    .expect("a valid pattern")
});

const NAMES: [&str; 7] = ["xs", "s", "m", "l", "xl", "xxl", "xxxl"];

/// `_length_bucket`.
pub fn length_bucket(n: usize, buckets: &[usize]) -> String {
    for (i, &limit) in buckets.iter().enumerate() {
        if n < limit {
            return NAMES
                .get(i)
                .map_or_else(|| format!("lt{limit}"), |s| s.to_string());
        }
    }
    let i = buckets.len();
    NAMES
        .get(i)
        .map_or_else(|| format!("ge{}", buckets[i - 1]), |s| s.to_string())
}

/// The most frequent key, the alphabetically first of equals (`max(sorted(counts), key=...)`).
fn most<K: Ord + Copy + std::hash::Hash>(counts: &FxHashMap<K, f64>) -> Option<K> {
    let mut keys: Vec<K> = counts.keys().copied().collect();
    keys.sort();
    let mut best: Option<(K, f64)> = None;
    for k in keys {
        let v = counts[&k];
        if best.is_none_or(|(_, b)| v > b) {
            best = Some((k, v));
        }
    }
    best.map(|(k, _)| k)
}

fn language(sample: &str, words: &[&str]) -> &'static str {
    if !sample.is_ascii() {
        for &(lang, lo, hi) in tables::SCRIPTS {
            if sample
                .chars()
                .filter(|&c| (lo..=hi).contains(&(c as u32)))
                .count()
                >= 5
            {
                return lang;
            }
        }
    }
    let mut counts: FxHashMap<&'static str, f64> = FxHashMap::default();
    for w in words {
        if let Some(&lang) = LANG_OF.get(w) {
            *counts.entry(lang).or_default() += 1.0;
        }
    }
    most(&counts).unwrap_or("unknown")
}

fn category(words: &[&str]) -> &'static str {
    let mut counts: FxHashMap<&'static str, f64> = FxHashMap::default();
    for w in words {
        if let Some(&cat) = CATEGORY_OF.get(w) {
            *counts.entry(cat).or_default() += 1.0;
        }
    }
    for (cat, n) in counts.iter_mut() {
        *n *= category_weight(cat);
    }
    most(&counts).unwrap_or("general")
}

/// `prompt_features(prompt, system_prompt)`; `system_prompt` is `None` or not empty.
pub fn prompt_features(
    prompt: &str,
    system_prompt: Option<&str>,
    buckets: &[usize],
) -> BTreeSet<String> {
    let raw = match system_prompt {
        None => prompt.to_string(),
        Some(s) => format!("{s}\n\n{prompt}"),
    };
    let low = lower(&raw);
    let words = words(&low);
    let mut feats = BTreeSet::new();
    feats.insert(format!(
        "length:{}",
        length_bucket(prompt.chars().count(), buckets)
    ));
    if COT_PHRASES.found_in(&words, &low) || low.contains("<thinking>") {
        feats.insert("asks_step_by_step".to_string());
    }
    for &(needle, name) in tables::STRUCTURED_NEEDLES {
        if low.contains(needle) {
            feats.insert(name.to_string());
        }
    }
    if feats.iter().any(|f| STRUCTURED_KINDS.contains(f.as_str())) {
        feats.insert("asks_structured".to_string());
    }
    if tables::CODE_MARKERS.iter().any(|m| low.contains(m)) {
        let lang = tables::CODE_LANGS
            .iter()
            .find(|(_, needles)| needles.iter().any(|n| low.contains(n)));
        if let Some((lang, _)) = lang {
            feats.insert("has_code".to_string());
            feats.insert(format!("code:{lang}"));
        } else if low.contains("```") {
            feats.insert("has_code".to_string());
        }
    }
    if LIST_LINES.find_iter(&raw).nth(1).is_some() {
        feats.insert("has_list".to_string());
    }
    if system_prompt.is_some_and(|s| !s.is_empty()) {
        feats.insert("has_system_prompt".to_string());
    }
    let sample = &low[..char_offset(&low, 600)];
    let head = &words[..words.len().min(120)];
    feats.insert(format!("language:{}", language(sample, head)));
    feats.insert(format!("category:{}", category(&words)));
    feats
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets() {
        let b = [100, 300, 1000, 3000];
        assert_eq!(length_bucket(0, &b), "xs");
        assert_eq!(length_bucket(300, &b), "m");
        assert_eq!(length_bucket(5000, &b), "xl");
        assert_eq!(length_bucket(5000, &[]), "xs");
        assert_eq!(length_bucket(9, &[1, 2, 3, 4, 5, 6, 7, 8]), "ge8");
    }

    #[test]
    fn features_of_a_wrapper() {
        let f = prompt_features(
            "Explain step by step and return JSON with the fields a, b",
            None,
            &[100],
        );
        for want in [
            "asks_step_by_step",
            "asks_json",
            "asks_fields",
            "asks_structured",
            "language:en",
        ] {
            assert!(f.contains(want), "{want} missing from {f:?}");
        }
    }
}
