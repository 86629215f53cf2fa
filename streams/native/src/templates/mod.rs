//! Prompt template extraction, the implementation behind `streams.templates.TemplateExtractor`
//! (ported from the former Python extractor, whose results it reproduces byte for byte, pinned
//! by `tests/streams/templates/data/golden_matches.jsonl.gz`): template id, exact id, MinHash
//! of the id tokens' shingles, features, wrapper flag and skeleton.
//!
//! Python semantics that Rust does not share (ids and features must not change) are reproduced from tables generated from the
//! Python interpreter (`tables`, see `tools/gen_tables.py`): `re`'s `\w`/`\d`/`\s`,
//! `str.split`/`strip`/`isspace` and `str.lower` (with final sigma).  Lengths and slices are
//! counted in code points, as Python's are.  Rust strings cannot hold lone surrogates; the
//! binding reports such a prompt ("surrogates: ...") and `TemplateExtractor` replaces them.

mod features;
mod lexicon;
mod normalise;
mod pyunicode;
mod skeleton;
#[allow(clippy::all, clippy::pedantic)]
#[rustfmt::skip]
mod tables;
mod tokens;

use std::borrow::Cow;
use std::fmt;

use rustc_hash::FxHashSet;

use crate::minhash::{digest_hex, stable_hash64, MinHasher};

pub use features::prompt_features;
pub use normalise::{fold_confusables, normalise};
pub use skeleton::skeleton;
pub use tokens::{canonical_tokens, plain_tokens};

/// Version of the Unicode database the tables were generated from.
pub const UNIDATA_VERSION: &str = tables::UNIDATA_VERSION;

pub const WRAPPER_PREFIX: &str = "w-";
pub const PLAIN_PREFIX: &str = "p-";
pub const EMPTY_TEMPLATE_ID: &str = "empty";
pub const PAYLOAD: &str = "<#payload>";

/// `streams.config.TemplateConfig`, the fields extraction reads.
#[derive(Clone, Debug)]
pub struct Config {
    pub num_perm: usize,
    pub seed: u64,
    pub shingle_size: usize,
    pub id_tokens: usize,
    pub plain_id_tokens: usize,
    pub min_wrapper_tokens: usize,
    pub wrapper_cue_share: f64,
    pub label_max_tokens: usize,
    pub max_prompt_chars: usize,
    pub length_buckets: Vec<usize>,
    pub slot_quotes: bool,
    pub slot_named_entities: bool,
    pub slot_list_markers: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            num_perm: 64,
            seed: 1,
            shingle_size: 2,
            id_tokens: 4,
            plain_id_tokens: 16,
            min_wrapper_tokens: 5,
            wrapper_cue_share: 0.5,
            label_max_tokens: 4,
            max_prompt_chars: 16_000,
            length_buckets: vec![100, 300, 1000, 3000],
            slot_quotes: true,
            slot_named_entities: true,
            slot_list_markers: true,
        }
    }
}

impl Config {
    /// The checks of `TemplateConfig.__post_init__` that concern extraction.
    pub fn validate(&self) -> Result<(), String> {
        if self.num_perm < 1 {
            return Err("num_perm must be >= 1".into());
        }
        if self.id_tokens < 1 || self.plain_id_tokens < 1 || self.shingle_size < 1 {
            return Err("id_tokens, plain_id_tokens and shingle_size must be >= 1".into());
        }
        if !(self.wrapper_cue_share > 0.0 && self.wrapper_cue_share <= 1.0) {
            return Err("wrapper_cue_share must be in (0, 1]".into());
        }
        if self.length_buckets.windows(2).any(|w| w[0] > w[1]) {
            return Err("length_buckets must be ascending".into());
        }
        Ok(())
    }
}

/// Why a prompt could not be extracted (the caller dead-letters it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ExtractError {
    /// A pattern gave up (backtracking limit): pathological input.
    Regex(String),
}

impl fmt::Display for ExtractError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExtractError::Regex(e) => write!(f, "template extraction failed: {e}"),
        }
    }
}

impl std::error::Error for ExtractError {}

/// `streams.templates.extractor.TemplateMatch`; `features` sorted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TemplateMatch {
    pub template_id: String,
    pub exact_id: String,
    pub minhash: Vec<u32>,
    pub features: Vec<String>,
    pub wrapper: bool,
    pub skeleton: String,
}

/// `_bounded`: head and tail halves of a text longer than `limit` code points.
fn bounded(text: &str, limit: usize) -> Cow<'_, str> {
    let n = text.chars().count();
    if n <= limit {
        return Cow::Borrowed(text);
    }
    let half = limit / 2;
    let head = &text[..pyunicode::char_offset(text, half)];
    // text[-0:] is the whole text
    let tail = if half == 0 {
        text
    } else {
        &text[pyunicode::char_offset(text, n - half)..]
    };
    Cow::Owned(format!("{head}\n\n{tail}"))
}

/// `TemplateExtractor` without its cache: a pure function of the text.
#[derive(Clone, Debug)]
pub struct Extractor {
    config: Config,
    hasher: MinHasher,
}

impl Extractor {
    pub fn new(config: Config) -> Result<Self, String> {
        config.validate()?;
        let hasher = MinHasher::new(config.num_perm, config.seed);
        Ok(Extractor { config, hasher })
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    fn empty(&self) -> TemplateMatch {
        TemplateMatch {
            template_id: EMPTY_TEMPLATE_ID.to_string(),
            exact_id: EMPTY_TEMPLATE_ID.to_string(),
            minhash: self.hasher.empty(),
            features: vec!["empty_prompt".to_string()],
            wrapper: false,
            skeleton: String::new(),
        }
    }

    /// `TemplateExtractor.extract(prompt, system_prompt)` for text.
    pub fn extract(
        &self,
        prompt: Option<&str>,
        system_prompt: Option<&str>,
    ) -> Result<TemplateMatch, ExtractError> {
        let prompt = prompt.unwrap_or("");
        let system = system_prompt.filter(|s| !s.is_empty());
        if prompt.is_empty() && system.is_none() {
            return Ok(self.empty());
        }
        let limit = self.config.max_prompt_chars;
        // Features read the text as a reader sees it, as `normalise` does (look-alikes and
        // invisible characters folded).
        let system = system.map(|s| bounded(&fold_confusables(s), limit).into_owned());
        let prompt = fold_confusables(prompt);
        self.analyse(&bounded(&prompt, limit), system.as_deref())
    }

    /// `_analyse` and the MinHash of its token hashes.
    fn analyse(&self, prompt: &str, system: Option<&str>) -> Result<TemplateMatch, ExtractError> {
        let cfg = &self.config;
        let norm = normalise(prompt, cfg)?;
        let mut skel = skeleton(&norm, cfg.label_max_tokens, cfg.wrapper_cue_share);
        let sys_norm = match system {
            Some(s) => normalise(s, cfg)?,
            None => String::new(),
        };
        if !sys_norm.is_empty() {
            let body = if skel.has_payload {
                skel.text.as_str()
            } else {
                PAYLOAD
            };
            skel = skeleton::Skeleton {
                text: format!("{sys_norm}\n\n{body}"),
                has_payload: true,
            };
        }
        // Tokens of a system-prompt skeleton are those of the system prompt and of the body,
        // each tokenised on its own (as the Python concatenates the two token tuples).
        let skel_tokens: Vec<&str> = if sys_norm.is_empty() {
            skel.tokens()
        } else {
            let body = &skel.text[sys_norm.len() + 2..];
            let mut t = canonical_tokens(&sys_norm);
            t.extend(canonical_tokens(body));
            t
        };
        let wrapper_tokens: FxHashSet<&str> = skel_tokens
            .iter()
            .copied()
            .filter(|t| *t != PAYLOAD)
            .collect();
        let is_wrapper = skel.has_payload && wrapper_tokens.len() >= cfg.min_wrapper_tokens;
        let plain_text;
        let (text, id_tokens, k, prefix) = if is_wrapper {
            (
                skel.text.as_str(),
                skel_tokens,
                cfg.id_tokens,
                WRAPPER_PREFIX,
            )
        } else {
            plain_text = if sys_norm.is_empty() {
                norm.clone()
            } else {
                format!("{sys_norm}\n\n{norm}")
            };
            (
                plain_text.as_str(),
                plain_tokens(&plain_text),
                cfg.plain_id_tokens,
                PLAIN_PREFIX,
            )
        };
        let exact_id = digest_hex(text.as_bytes());
        let hashes: Vec<u64> = id_tokens.iter().map(|t| stable_hash64(t)).collect();
        let template_id = if hashes.is_empty() {
            format!("{prefix}{exact_id}")
        } else {
            let mut bottom = hashes.clone();
            bottom.sort_unstable();
            bottom.dedup();
            bottom.truncate(k);
            let packed: Vec<u8> = bottom.iter().flat_map(|h| h.to_le_bytes()).collect();
            format!("{prefix}{}", digest_hex(&packed))
        };
        let mut features = prompt_features(prompt, system, &cfg.length_buckets);
        if is_wrapper {
            features.insert("has_wrapper".to_string());
        }
        Ok(TemplateMatch {
            template_id,
            exact_id,
            minhash: self.hasher.signature_of_tokens(&hashes, cfg.shingle_size),
            features: features.into_iter().collect(),
            wrapper: is_wrapper,
            skeleton: if is_wrapper {
                text.to_string()
            } else {
                String::new()
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_keeps_head_and_tail_by_code_point() {
        assert_eq!(bounded("ééééé", 4), "éé\n\néé");
        assert_eq!(bounded("abc", 3), "abc");
        assert_eq!(bounded("abc", 0), "\n\nabc");
    }

    #[test]
    fn empty_and_plain_and_wrapper() {
        let x = Extractor::new(Config::default()).unwrap();
        let e = x.extract(None, Some("")).unwrap();
        assert_eq!(e.template_id, "empty");
        assert_eq!(e.minhash, vec![u32::MAX; 64]);
        let p = x
            .extract(Some("What is the capital of France?"), None)
            .unwrap();
        assert!(p.template_id.starts_with("p-") && !p.wrapper && p.skeleton.is_empty());
        let w = x
            .extract(
                Some("You are an expert tutor. Solve the following problem step by step and return JSON with the fields reasoning and answer.\n\nProblem: what is 17 times 23?"),
                None,
            )
            .unwrap();
        assert!(w.template_id.starts_with("w-"), "{w:?}");
        assert!(w.wrapper && w.features.contains(&"has_wrapper".to_string()));
        assert_eq!(w.minhash.len(), 64);
    }
}
