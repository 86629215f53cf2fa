//! One requests partition's account stage (`agents.stages.account`): a batch of raw records
//! decoded, admitted, extracted and folded into the profiles, with the cap run before each
//! event that advances the partition's event time and the idle TTL after the batch.

use std::panic::{catch_unwind, AssertUnwindSafe};

use rustc_hash::{FxHashMap, FxHashSet};

use super::admission::{Admission, Refused};
use super::config::Config;
use super::profile::{EventOutput, Profiles};
use crate::minhash::digest_hex;
use crate::request::decode::{decode_guarded, Limits};
use crate::request::{Event, Refusal};
use crate::signatures::Book;
use crate::templates::{Extractor, TemplateMatch, EMPTY_TEMPLATE_ID, PLAIN_PREFIX};

/// Feature of a prompt the extractor failed on (`streams.templates.extractor`).
pub const EXTRACTION_FAILED: &str = "extraction_failed";

/// One record of a batch.
pub struct Record<'a> {
    pub key: Option<&'a [u8]>,
    pub value: &'a [u8],
    pub offset: i64,
    pub broker_ts: Option<f64>,
}

/// Why a record of the batch was refused.
#[derive(Debug)]
pub enum Letter {
    Decode(Refusal),
    Admission(Refused),
    /// A fault of the stage itself (a panic), with its message.
    Internal(String),
}

/// An applied event and what it produced.
pub struct Applied {
    pub index: usize,
    pub order_ts: f64,
    pub event: Event,
    pub output: EventOutput,
}

#[derive(Default)]
pub struct BatchOutput {
    /// `(record index, why)`, in record order.
    pub letters: Vec<(usize, Letter)>,
    pub applied: Vec<Applied>,
    pub events: usize,
    pub skipped: usize,
    pub misrouted: usize,
    pub evicted: usize,
    pub fingerprint_mismatch: usize,
}

fn panic_text(payload: Box<dyn std::any::Any + Send>) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into())
}

/// `_bounded` of the extractor, for the digest of a failed prompt.
fn bounded(text: &str, limit: usize) -> String {
    let n = text.chars().count();
    if n <= limit {
        return text.to_string();
    }
    let half = limit / 2;
    let head: String = text.chars().take(half).collect();
    let tail: String = if half == 0 {
        text.to_string()
    } else {
        text.chars().skip(n - half).collect()
    };
    format!("{head}\n\n{tail}")
}

/// The template match of an event, as `Detector.extract` gives it.
pub fn template_match(x: &Extractor, e: &Event, mismatches: &mut usize) -> TemplateMatch {
    let prompt = e.prompt.as_deref().filter(|p| !p.is_empty());
    let system = e.system_prompt.as_deref().filter(|s| !s.is_empty());
    if prompt.is_none() && system.is_none() {
        let empty_minhash = Vec::new;
        return match &e.prompt_fingerprint {
            None => TemplateMatch {
                template_id: EMPTY_TEMPLATE_ID.into(),
                exact_id: EMPTY_TEMPLATE_ID.into(),
                minhash: empty_minhash(),
                features: vec!["empty_prompt".into()],
                wrapper: false,
                skeleton: String::new(),
            },
            Some(fp) => {
                let fits = fp.minhash.len() == x.config().num_perm;
                if !fits {
                    *mismatches += 1;
                }
                TemplateMatch {
                    template_id: fp.template_id.clone(),
                    exact_id: fp.template_id.clone(),
                    minhash: empty_minhash(),
                    features: vec!["privacy_mode".into()],
                    wrapper: fits && fp.template_id.starts_with(crate::templates::WRAPPER_PREFIX),
                    skeleton: String::new(),
                }
            }
        };
    }
    let found = catch_unwind(AssertUnwindSafe(|| x.extract(prompt, system)));
    match found {
        Ok(Ok(m)) => m,
        _ => {
            let limit = x.config().max_prompt_chars;
            let p = bounded(prompt.unwrap_or(""), limit);
            let text = match system {
                Some(s) => format!("{}\n\n{p}", bounded(s, limit)),
                None => p,
            };
            let digest = digest_hex(text.as_bytes());
            TemplateMatch {
                template_id: format!("{PLAIN_PREFIX}{digest}"),
                exact_id: digest,
                minhash: Vec::new(),
                features: vec![EXTRACTION_FAILED.into()],
                wrapper: false,
                skeleton: String::new(),
            }
        }
    }
}

/// Accounts of one requests partition, its admission and what the checkpoint still owes.
#[derive(Default)]
pub struct Partition {
    pub profiles: Profiles,
    pub admission: Admission,
    pub next_evict: f64,
    /// Accounts forgotten since the last checkpoint (tombstones unless tracked again).
    pub evicted: FxHashSet<Box<str>>,
}

impl Partition {
    pub fn new() -> Self {
        Partition {
            next_evict: f64::NEG_INFINITY,
            ..Default::default()
        }
    }

    fn cap(&mut self, c: &Config, out: &mut BatchOutput) {
        let victims = self.profiles.enforce_cap(c);
        out.evicted += victims.len();
        for account in victims {
            self.evicted.insert(account.into_boxed_str());
        }
    }

    /// Forget idle accounts; result-neutral (a stale account restarts anyway).
    fn evict_idle(&mut self, c: &Config) {
        let wm = self.admission.watermark;
        if wm < self.next_evict || wm == f64::NEG_INFINITY {
            return;
        }
        for account in self.profiles.evict(wm, c) {
            self.evicted.insert(account.into_boxed_str());
        }
        let interval = c.evict_interval_s;
        self.next_evict = ((wm / interval).floor() + 1.0) * interval;
    }

    /// Apply records of this partition in offset order (all at or after its next offset).
    pub fn process(
        &mut self,
        records: &[Record<'_>],
        x: &Extractor,
        book: &Book,
        c: &Config,
    ) -> BatchOutput {
        let mut out = BatchOutput::default();
        let limits = Limits {
            max_prompt_bytes: c.max_prompt_bytes,
            max_record_bytes: c.max_record_bytes,
        };
        // Decoding and admission first: refused events never reach extraction.
        let mut admitted: Vec<(usize, Event, bool, f64)> = Vec::new();
        for (index, record) in records.iter().enumerate() {
            let event = match decode_guarded(record.value, limits) {
                Ok(event) => event,
                Err(refusal) => {
                    out.letters.push((index, Letter::Decode(refusal)));
                    continue;
                }
            };
            let before = self.admission.watermark;
            if let Some(refused) = self.admission.check(&event, record.broker_ts, c) {
                out.letters.push((index, Letter::Admission(refused)));
                continue;
            }
            let wm = self.admission.watermark;
            admitted.push((index, event, wm > before, wm));
        }
        // One extraction per distinct prompt of the batch.
        let mut seen: FxHashMap<(Option<&str>, Option<&str>), usize> = FxHashMap::default();
        let mut matches: Vec<TemplateMatch> = Vec::with_capacity(admitted.len());
        let mut slot_of: Vec<usize> = Vec::with_capacity(admitted.len());
        for (_, event, _, _) in &admitted {
            let text = (event.prompt.as_deref(), event.system_prompt.as_deref());
            let has_text =
                text.0.is_some_and(|p| !p.is_empty()) || text.1.is_some_and(|s| !s.is_empty());
            if has_text {
                if let Some(&slot) = seen.get(&text) {
                    slot_of.push(slot);
                    continue;
                }
                seen.insert(text, matches.len());
            }
            slot_of.push(matches.len());
            matches.push(template_match(x, event, &mut out.fingerprint_mismatch));
        }
        drop(seen);
        let mut letters = Vec::new();
        for ((index, event, advanced, order_ts), slot) in admitted.into_iter().zip(slot_of) {
            if advanced {
                self.cap(c, &mut out);
            }
            let record = &records[index];
            if record.key.is_some_and(|k| k != event.account_id.as_bytes()) {
                out.misrouted += 1;
            }
            let applied = self
                .profiles
                .map
                .get(event.account_id.as_str())
                .map_or(-1, |t| t.applied);
            if applied >= record.offset {
                out.skipped += 1;
                continue;
            }
            let m = &matches[slot];
            let profiles = &mut self.profiles;
            let result = catch_unwind(AssertUnwindSafe(|| profiles.process(&event, m, book, c)));
            match result {
                Ok(output) => {
                    out.events += 1;
                    if let Some(t) = self.profiles.map.get_mut(event.account_id.as_str()) {
                        t.applied = record.offset;
                        t.dirty = true;
                    }
                    out.applied.push(Applied {
                        index,
                        order_ts,
                        event,
                        output,
                    });
                }
                Err(panic) => letters.push((
                    index,
                    Letter::Internal(format!("account stage fault panic: {}", panic_text(panic))),
                )),
            }
        }
        if !letters.is_empty() {
            out.letters.extend(letters);
            out.letters.sort_by_key(|(index, _)| *index);
        }
        self.evict_idle(c);
        self.profiles.trim(c.hot_accounts);
        out
    }

    /// Changed accounts' checkpoint values `{"o":offset,"s":state}` and tombstones of
    /// forgotten ones, by account id; clears what the checkpoint owed.
    pub fn checkpoint(&mut self) -> Vec<(String, Option<String>)> {
        let mut out: Vec<(String, Option<String>)> = Vec::new();
        let mut gone: Vec<&str> = self
            .evicted
            .iter()
            .map(|a| &**a)
            .filter(|a| !self.profiles.map.contains_key(*a))
            .collect();
        gone.sort_unstable();
        out.extend(gone.into_iter().map(|a| (a.to_string(), None)));
        let mut dirty: Vec<(&str, &super::profile::Tracked)> = self
            .profiles
            .map
            .iter()
            .filter(|(_, t)| t.dirty)
            .map(|(a, t)| (&**a, &**t))
            .collect();
        dirty.sort_unstable_by(|x, y| x.0.cmp(y.0));
        for (account, t) in dirty {
            let mut value = format!("{{\"o\":{},\"s\":", t.applied);
            t.encode(&mut value);
            value.push('}');
            out.push((account.to_string(), Some(value)));
        }
        for t in self.profiles.map.values_mut() {
            t.dirty = false;
        }
        self.evicted.clear();
        out
    }
}
