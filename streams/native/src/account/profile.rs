//! The account profiler (`streams.stages.profile.profiler`): each event folded into its
//! account's state, the snapshot decision, signature hits and the account_extraction
//! decision; the cap and the idle TTL over the profiles.

use std::collections::VecDeque;

use rustc_hash::FxHashMap;

use super::checkpoint;
use super::config::{self as cfg, severity_rank, Config, Feature};
use super::pyfloat::write_json_str;
use super::sketch::U32;
use super::state::{AccountState, Metrics, Suspicion, EVIDENCE_METRICS};
use crate::minhash::stable_hash64;
use crate::request::Event;
use crate::signatures::Book;
use crate::templates::TemplateMatch;

/// A message to the cross-account stages (an envelope entry's kind and payload).
#[derive(Clone, Debug, PartialEq)]
pub enum Message {
    /// `TemplateHit` (the account and org are the event's).
    Hit {
        template_id: String,
        risk: f64,
    },
    Snapshot(Box<Snapshot>),
    /// `SignatureHit` (the account and org are the event's).
    Signature {
        id: String,
        matched: Vec<String>,
        confidence: f64,
    },
}

#[derive(Clone, Debug, PartialEq)]
pub struct Snapshot {
    pub org_id: String,
    pub first_ts: f64,
    pub n_events: i64,
    pub tokens: Vec<String>,
    pub new_tokens: Vec<String>,
    pub recount: bool,
    pub behaviour: [f32; 10],
    pub risk: f64,
    /// `(METRICS index, value)` of the evidence metrics present.
    pub features: Vec<(usize, f64)>,
}

/// An account_extraction finding: what its alert and action are built from.
#[derive(Clone, Debug, PartialEq)]
pub struct Extraction {
    pub revision: i64,
    pub severity: String,
    pub risk: f64,
    pub metrics: Metrics,
    pub asns: Vec<String>,
    pub ip_prefixes: Vec<String>,
    pub user_agents: Vec<String>,
    pub payment_fingerprints: Vec<String>,
    pub first_ts: f64,
    pub last_ts: f64,
}

/// What one event produced, in the former Python order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct EventOutput {
    pub messages: Vec<Message>,
    pub extraction: Option<Extraction>,
}

/// A profile kept decoded while the account is active, and as its checkpoint bytes (about a
/// third of the memory) while it is idle; encoding round-trips exactly, so which accounts
/// happen to be decoded changes memory and time, never a result.
#[derive(Clone, Debug)]
pub enum Slot {
    Hot(Box<AccountState>),
    Packed(Box<[u8]>),
}

/// One tracked account.
#[derive(Clone, Debug)]
pub struct Tracked {
    pub slot: Slot,
    /// The state's `n` and `last_ts`, which the cap and the TTL read without decoding.
    pub n: i64,
    pub last_ts: f64,
    /// Insertion order of the account (a replaced state keeps its place).
    pub seq: u64,
    /// When it was last used (a counter): the least recently used are packed first.
    pub used: u64,
    /// Last input offset applied (-1: none, e.g. the in-process detector).
    pub applied: i64,
    /// Changed since the last checkpoint.
    pub dirty: bool,
}

impl Tracked {
    /// The decoded state, decoding a packed one.
    pub fn state(&mut self, c: &Config) -> &mut AccountState {
        if let Slot::Packed(data) = &self.slot {
            let state = decode_packed(data, c);
            self.slot = Slot::Hot(Box::new(state));
        }
        match &mut self.slot {
            Slot::Hot(state) => state,
            Slot::Packed(_) => unreachable!("decoded above"),
        }
    }

    /// A decoded copy (the stored slot unchanged).
    pub fn view(&self, c: &Config) -> AccountState {
        match &self.slot {
            Slot::Hot(state) => (**state).clone(),
            Slot::Packed(data) => decode_packed(data, c),
        }
    }

    /// The checkpoint bytes of the state (`AccountState.to_bytes`).
    pub fn encode(&self, out: &mut String) {
        match &self.slot {
            Slot::Hot(state) => checkpoint::encode(state, out),
            Slot::Packed(data) => out.push_str(std::str::from_utf8(data).expect("JSON text")),
        }
    }

    fn pack(&mut self) {
        if let Slot::Hot(state) = &self.slot {
            let mut text = String::new();
            checkpoint::encode(state, &mut text);
            self.slot = Slot::Packed(text.into_bytes().into_boxed_slice());
        }
    }

    fn is_hot(&self) -> bool {
        matches!(self.slot, Slot::Hot(_))
    }
}

/// A packed state this process wrote itself.
fn decode_packed(data: &[u8], c: &Config) -> AccountState {
    let row: serde_json::Value = serde_json::from_slice(data).expect("packed state is JSON");
    checkpoint::decode(&row, c).expect("packed state decodes")
}

/// Account id -> profile.
#[derive(Clone, Debug, Default)]
pub struct Profiles {
    /// Boxed: the table then holds a pointer per slot, not a whole profile.
    pub map: FxHashMap<Box<str>, Box<Tracked>>,
    next_seq: u64,
    clock: u64,
    /// How many states are held decoded.
    hot: usize,
    /// `(use, account)` of every use since the last trim or compaction, oldest first: the
    /// last use of each decoded account is in it, so trimming finds the least recent.
    recent: VecDeque<(u64, Box<str>)>,
}

const AUTOMATION: [Feature; 4] = [
    Feature::Young,
    Feature::AsnRotation,
    Feature::IpRotation,
    Feature::Diurnal,
];

fn snapshot_due(s: &AccountState, ts: f64, c: &Config) -> bool {
    let (n, last) = (s.n, s.last_snap_n);
    if n < c.snapshot_first_after {
        return false;
    }
    if last == 0 {
        return true;
    }
    let since = n - last;
    if since >= last.min(c.snapshot_every) {
        return true;
    }
    if since < c.snapshot_min_events_between {
        return false;
    }
    s.pending_tokens >= c.snapshot_on_new_tokens || ts - s.last_snap_ts >= c.snapshot_max_interval_s
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

fn hash32(token: &str) -> u32 {
    (stable_hash64(token) & U32) as u32
}

impl Profiles {
    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Insert or replace a state, keeping an existing account's place.
    pub fn put(&mut self, account: &str, state: AccountState, applied: i64) -> &mut Tracked {
        let seq = &mut self.next_seq;
        self.clock += 1;
        let entry = self.map.entry(account.into()).or_insert_with(|| {
            *seq += 1;
            Box::new(Tracked {
                slot: Slot::Packed(Box::default()),
                n: 0,
                last_ts: 0.0,
                seq: *seq,
                used: 0,
                applied: -1,
                dirty: false,
            })
        });
        if !entry.is_hot() {
            self.hot += 1;
        }
        (entry.n, entry.last_ts, entry.used) = (state.n, state.last_ts, self.clock);
        entry.slot = Slot::Hot(Box::new(state));
        entry.applied = applied;
        self.recent.push_back((self.clock, account.into()));
        entry
    }

    /// Insert or replace a restored state, packed (it is decoded on its next event).
    pub fn put_packed(&mut self, account: &str, state: AccountState, applied: i64) {
        self.put(account, state, applied).pack();
        self.hot -= 1;
    }

    /// Forget an account.
    fn remove(&mut self, account: &str) {
        if let Some(t) = self.map.remove(account) {
            if t.is_hot() {
                self.hot -= 1;
            }
        }
    }

    /// Pack the least recently used decoded states beyond `limit`.
    pub fn trim(&mut self, limit: usize) {
        while self.hot > limit {
            let Some((used, account)) = self.recent.pop_front() else {
                break;
            };
            if let Some(t) = self.map.get_mut(&account) {
                if t.is_hot() && t.used == used {
                    t.pack();
                    self.hot -= 1;
                }
            }
        }
        if self.recent.len() > 2 * (self.hot + 1024) {
            // Keep only each decoded account's last use.
            let map = &self.map;
            self.recent.retain(|(used, account)| {
                map.get(account)
                    .is_some_and(|t| t.is_hot() && t.used == *used)
            });
        }
    }

    /// How many states are held decoded.
    pub fn decoded(&self) -> usize {
        self.hot
    }

    /// Accounts in insertion order.
    pub fn ordered(&self) -> Vec<(&str, &Tracked)> {
        let mut v: Vec<(&str, &Tracked)> = self.map.iter().map(|(k, t)| (&**k, &**t)).collect();
        v.sort_unstable_by_key(|(_, t)| t.seq);
        v
    }

    /// Fold one event into its account; what it produced.
    pub fn process(
        &mut self,
        e: &Event,
        m: &TemplateMatch,
        book: &Book,
        c: &Config,
    ) -> EventOutput {
        let ts = e.ts;
        let fresh = match self.map.get(e.account_id.as_str()) {
            None => true,
            Some(t) => ts - t.last_ts > c.account_ttl_s,
        };
        self.clock += 1;
        let clock = self.clock;
        let tracked = if fresh {
            let applied = self
                .map
                .get(e.account_id.as_str())
                .map_or(-1, |t| t.applied);
            self.put(&e.account_id, AccountState::new(&e.org_id, ts), applied)
        } else {
            let tracked = self.map.get_mut(e.account_id.as_str()).expect("present");
            if !tracked.is_hot() {
                self.hot += 1;
            }
            self.recent.push_back((clock, e.account_id.as_str().into()));
            tracked.used = clock;
            tracked
        };
        let state = tracked.state(c);
        state.update(e, m, c);
        (tracked.n, tracked.last_ts) = (state.n, state.last_ts);
        let state = tracked.state(c);
        let mut out = EventOutput::default();
        out.messages.push(Message::Hit {
            template_id: m.template_id.clone(),
            risk: state.last_risk,
        });
        let mut metrics: Option<Metrics> = None;
        if !book.is_empty() {
            let current = state.metrics(c);
            for (id, matched, confidence) in
                book.matches(e, m, &current, state.n, c.signature_min_events)
            {
                if !state.signature_hits.iter().any(|s| **s == *id) {
                    state.signature_hits.push(id.as_str().into());
                    out.messages.push(Message::Signature {
                        id,
                        matched,
                        confidence,
                    });
                }
            }
            metrics = Some(current);
        }
        if snapshot_due(state, ts, c) {
            let metrics = metrics.unwrap_or_else(|| state.metrics(c));
            snapshot(state, ts, metrics, c, &mut out);
        }
        out
    }

    /// Forget accounts beyond `max_accounts`: fewest events first, then longest idle, then
    /// by id.  Returns them in that order.
    pub fn enforce_cap(&mut self, c: &Config) -> Vec<String> {
        let len = self.map.len();
        if len <= c.max_accounts {
            return Vec::new();
        }
        let keep = (c.max_accounts as f64 * (1.0 - c.cap_evict_share)).round_ties_even() as usize;
        let mut order: Vec<(i64, f64, &str)> = self
            .map
            .iter()
            .map(|(a, t)| (t.n, t.last_ts, &**a))
            .collect();
        let count = len.saturating_sub(keep);
        let cmp = |x: &(i64, f64, &str), y: &(i64, f64, &str)| {
            x.0.cmp(&y.0).then(x.1.total_cmp(&y.1)).then(x.2.cmp(y.2))
        };
        if count < order.len() {
            order.select_nth_unstable_by(count, cmp);
            order.truncate(count);
        }
        order.sort_unstable_by(cmp);
        let victims: Vec<String> = order.into_iter().map(|(_, _, a)| a.to_string()).collect();
        for account in &victims {
            self.remove(account);
        }
        victims
    }

    /// Forget accounts idle beyond the TTL at `watermark`; returns them.
    pub fn evict(&mut self, watermark: f64, c: &Config) -> Vec<String> {
        let horizon = watermark - c.account_ttl_s;
        let stale: Vec<String> = self
            .map
            .iter()
            .filter(|(_, t)| t.last_ts < horizon)
            .map(|(a, _)| a.to_string())
            .collect();
        for account in &stale {
            self.remove(account);
        }
        stale
    }

    /// A retracted signature no longer counts as matched; returns the accounts changed.
    ///
    /// A packed account is decoded only when its bytes hold the id's JSON string, and stays
    /// packed.
    pub fn retract_signature(&mut self, id: &str, c: &Config) -> Vec<String> {
        let mut needle = String::new();
        write_json_str(&mut needle, id);
        let mut changed = Vec::new();
        for (account, t) in self.map.iter_mut() {
            let was_packed = match &t.slot {
                Slot::Hot(_) => false,
                Slot::Packed(data) => {
                    if !contains(data, needle.as_bytes()) {
                        continue;
                    }
                    true
                }
            };
            let state = t.state(c);
            if let Some(at) = state.signature_hits.iter().position(|s| &**s == id) {
                state.signature_hits.remove(at);
                changed.push(account.to_string());
            }
            if was_packed {
                t.pack();
            }
        }
        changed.sort_unstable();
        changed
    }
}

fn snapshot(
    state: &mut AccountState,
    ts: f64,
    metrics: Metrics,
    c: &Config,
    out: &mut EventOutput,
) {
    let suspicion = state.suspicion(&metrics, c);
    let risk = state.risk(&suspicion, c);
    state.last_risk = risk;
    let tokens = state.token_list();
    let recount = match state.reported_at {
        None => true,
        Some(at) => ts - at >= c.df_window_s,
    };
    let hashes: Vec<u32> = tokens.iter().map(|t| hash32(t)).collect();
    let new_tokens = if recount {
        state.reported_at = Some(ts);
        tokens.clone()
    } else {
        let reported = &state.reported;
        tokens
            .iter()
            .zip(&hashes)
            .filter(|(_, h)| reported.binary_search(h).is_err())
            .map(|(t, _)| t.clone())
            .collect()
    };
    let mut sorted = hashes;
    sorted.sort_unstable();
    state.reported = sorted;
    state.pending_tokens = 0;
    state.last_snap_n = state.n;
    state.last_snap_ts = ts;
    let features = EVIDENCE_METRICS
        .iter()
        .filter_map(|&i| metrics.get(i).map(|v| (i, v)))
        .collect();
    out.messages.push(Message::Snapshot(Box::new(Snapshot {
        org_id: state.org_id.to_string(),
        first_ts: state.first_ts,
        n_events: state.n,
        tokens,
        new_tokens,
        recount,
        behaviour: state.behaviour(&metrics),
        risk,
        features,
    })));
    out.extraction = extraction(state, metrics, &suspicion, risk, c);
}

/// A single account whose own behaviour is extraction-like (automation AND harvesting).
fn extraction(
    state: &mut AccountState,
    metrics: Metrics,
    suspicion: &Suspicion,
    risk: f64,
    c: &Config,
) -> Option<Extraction> {
    if state.n < c.extraction_min_events || risk < c.extraction_threshold {
        return None;
    }
    let get = |f: Feature| suspicion.get(f).unwrap_or(0.0);
    let mut automation = get(AUTOMATION[0]);
    for f in &AUTOMATION[1..] {
        automation = super::pyfloat::max(automation, get(*f));
    }
    let harvest = super::pyfloat::min(get(Feature::Breadth), get(Feature::Diversity));
    if automation < c.extraction_min_automation || harvest < c.extraction_min_harvest {
        return None;
    }
    let severity = c.severity_for(risk).to_string();
    if !state.alerted_severity.is_empty()
        && severity_rank(&severity) <= severity_rank(&state.alerted_severity)
    {
        return None;
    }
    state.alert_revision += 1;
    state.alerted_severity = severity.as_str().into();
    let owned = |family: usize| -> Vec<String> {
        state.tokens[family]
            .sorted()
            .into_iter()
            .map(str::to_owned)
            .collect()
    };
    Some(Extraction {
        revision: state.alert_revision,
        severity,
        risk,
        metrics,
        asns: owned(cfg::ASN),
        ip_prefixes: owned(cfg::IP24),
        user_agents: owned(cfg::UA),
        payment_fingerprints: owned(cfg::PAY),
        first_ts: state.first_ts,
        last_ts: state.last_ts,
    })
}
