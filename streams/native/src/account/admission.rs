//! Admission of decoded events on one requests partition (`streams.stages.admission`):
//! future, late and duplicate events are refused; the partition's event-time watermark is
//! the running maximum of admitted event times.

use std::collections::VecDeque;

use rustc_hash::FxHashSet;

use super::config::Config;
use crate::minhash::blake2b8;
use crate::request::timeparse::{MAX_EPOCH, MIN_EPOCH};
use crate::request::Event;

/// Why an event was refused; the Python side words the detail.
#[derive(Clone, Debug, PartialEq)]
pub enum Refused {
    Future { ts: f64, record_ts: f64 },
    Late { ts: f64, watermark: f64 },
    Duplicate { event_id: String },
}

/// A broker timestamp, or None when missing or outside the supported range (`_known`).
pub fn known(record_ts: Option<f64>) -> Option<f64> {
    record_ts.filter(|ts| MIN_EPOCH < *ts && *ts < MAX_EPOCH)
}

#[derive(Clone, Debug)]
pub struct Admission {
    pub watermark: f64,
    recent: VecDeque<[u8; 8]>,
    seen: FxHashSet<[u8; 8]>,
}

impl Default for Admission {
    fn default() -> Self {
        Admission {
            watermark: f64::NEG_INFINITY,
            recent: VecDeque::new(),
            seen: FxHashSet::default(),
        }
    }
}

/// The 8-byte BLAKE2b of `account \0 event_id`: an event id may be arbitrarily long.
fn identity(e: &Event) -> [u8; 8] {
    let mut text = Vec::with_capacity(e.account_id.len() + e.event_id.len() + 1);
    text.extend_from_slice(e.account_id.as_bytes());
    text.push(0);
    text.extend_from_slice(e.event_id.as_bytes());
    blake2b8(&text)
}

impl Admission {
    /// None when the event is admitted (and recorded), else why not.
    pub fn check(&mut self, e: &Event, record_ts: Option<f64>, c: &Config) -> Option<Refused> {
        let ts = e.ts;
        if let Some(record_ts) = known(record_ts) {
            if ts > record_ts + c.max_future_s {
                return Some(Refused::Future { ts, record_ts });
            }
        }
        if ts < self.watermark - c.max_lateness_s {
            return Some(Refused::Late {
                ts,
                watermark: self.watermark,
            });
        }
        let key = identity(e);
        if !self.seen.insert(key) {
            return Some(Refused::Duplicate {
                event_id: e.event_id.clone(),
            });
        }
        self.recent.push_back(key);
        if self.recent.len() > c.dedup_max_ids {
            if let Some(old) = self.recent.pop_front() {
                self.seen.remove(&old);
            }
        }
        if ts > self.watermark {
            self.watermark = ts;
        }
        None
    }

    /// The remembered identities, oldest first, concatenated (the checkpoint's `ids`).
    pub fn ids(&self) -> Vec<u8> {
        self.recent.iter().flatten().copied().collect()
    }

    pub fn restore(watermark: Option<f64>, ids: &[u8]) -> Self {
        let mut admission = Admission {
            watermark: watermark.unwrap_or(f64::NEG_INFINITY),
            ..Default::default()
        };
        for chunk in ids.chunks_exact(8) {
            let key: [u8; 8] = chunk.try_into().expect("8 bytes");
            if admission.seen.insert(key) {
                admission.recent.push_back(key);
            }
        }
        admission
    }
}
