//! One account's profile: counters, EWMAs and bounded samples, updated per event, and the
//! metrics, suspicions, risk and behaviour vector derived from it.  Every float operation is
//! the former Python's, in its order, so results are bit-identical.

use super::config::{self as cfg, Config, Feature};
use super::pyfloat::{floordiv, max, min};
use super::sketch::{BottomK, Kmv};
use crate::minhash::stable_hash64;
use crate::request::Event;
use crate::templates::TemplateMatch;

const HOUR: f64 = 3600.0;
const DAY: f64 = 86400.0;

/// Metrics a signature may bound (exported as `streams._native.BEHAVIOUR_METRICS`).
pub const METRICS: [&str; 15] = [
    "events",
    "observed_hours",
    "rate_per_hour",
    "gap_cv",
    "active_hours",
    "distinct_categories",
    "category_entropy",
    "template_diversity",
    "structured_share",
    "cot_share",
    "throttle_share",
    "completion_ratio",
    "asn_distinct",
    "ip24_distinct",
    "account_age_days",
];
pub const EVENTS: usize = 0;
pub const OBSERVED_HOURS: usize = 1;
pub const RATE_PER_HOUR: usize = 2;
pub const GAP_CV: usize = 3;
pub const ACTIVE_HOURS: usize = 4;
pub const DISTINCT_CATEGORIES: usize = 5;
pub const CATEGORY_ENTROPY: usize = 6;
pub const TEMPLATE_DIVERSITY: usize = 7;
pub const STRUCTURED_SHARE: usize = 8;
pub const COT_SHARE: usize = 9;
pub const THROTTLE_SHARE: usize = 10;
pub const COMPLETION_RATIO: usize = 11;
pub const ASN_DISTINCT: usize = 12;
pub const IP24_DISTINCT: usize = 13;
pub const ACCOUNT_AGE_DAYS: usize = 14;

/// Metrics carried by snapshots (`streams.stages.profile.account.EVIDENCE_METRICS`).
pub const EVIDENCE_METRICS: [usize; 11] = [
    ACCOUNT_AGE_DAYS,
    ASN_DISTINCT,
    IP24_DISTINCT,
    RATE_PER_HOUR,
    ACTIVE_HOURS,
    DISTINCT_CATEGORIES,
    TEMPLATE_DIVERSITY,
    STRUCTURED_SHARE,
    COT_SHARE,
    COMPLETION_RATIO,
    THROTTLE_SHARE,
];

/// Raw behaviour metrics by `METRICS` index; `account_age_days` is absent (None) until the
/// account's creation time is known.
#[derive(Clone, Debug, PartialEq)]
pub struct Metrics(pub [Option<f64>; 15]);

impl Metrics {
    pub fn get(&self, index: usize) -> Option<f64> {
        self.0[index]
    }

    fn v(&self, index: usize) -> f64 {
        self.0[index].unwrap_or(0.0)
    }
}

/// Suspicion in [0, 1] per risk feature; absent until there is data to judge it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Suspicion(pub [Option<f64>; 12]);

impl Suspicion {
    pub fn get(&self, f: Feature) -> Option<f64> {
        self.0[f as usize]
    }

    fn set(&mut self, f: Feature, value: f64) {
        self.0[f as usize] = Some(value);
    }
}

/// `streams.stages.scoring.ramp`: 0 at `low`, 1 at `high` (not `clamp`: -0.0 becomes 0.0).
#[allow(clippy::manual_clamp)]
pub fn ramp(value: f64, low: f64, high: f64) -> f64 {
    if high == low {
        return if value >= high { 1.0 } else { 0.0 };
    }
    let t = (value - low) / (high - low);
    if t <= 0.0 {
        0.0
    } else if t >= 1.0 {
        1.0
    } else {
        t
    }
}

/// IPv4 /24 or IPv6 /48 prefix: proxies and NATs share prefixes, not addresses.
pub fn ip_prefix(ip: &str) -> &str {
    if ip.contains(':') {
        let mut end = ip.len();
        let mut seen = 0;
        for (i, c) in ip.char_indices() {
            if c == ':' {
                seen += 1;
                if seen == 3 {
                    end = i;
                    break;
                }
            }
        }
        return &ip[..end];
    }
    match ip.rfind('.') {
        Some(i) => &ip[..i],
        None => ip,
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct AccountState {
    pub org_id: Box<str>,
    pub first_ts: f64,
    pub last_ts: f64,
    pub n: i64,
    pub created_at: Option<f64>,
    pub gap_mean: f64,
    pub gap_var: f64,
    /// Hour number (epoch hours) last seen per hour of day; 0 = not seen.
    pub hours: [i64; 24],
    /// Category counts in first-seen order.
    pub categories: Vec<(Box<str>, i64)>,
    pub n_json: i64,
    pub n_cot: i64,
    pub n_429: i64,
    pub prompt_tokens: i64,
    pub completion_tokens: i64,
    /// KMV counters of ASNs, IP prefixes and templates.
    pub kmv: [Kmv; 3],
    /// Bottom-k samples per token family, in `config::FAMILIES` order.
    pub tokens: [BottomK; 9],
    /// 32-bit hashes of the tokens of the last snapshot, ascending.
    pub reported: Vec<u32>,
    pub reported_at: Option<f64>,
    pub pending_tokens: i64,
    pub last_snap_n: i64,
    pub last_snap_ts: f64,
    /// "" until an account_extraction alert.
    pub alerted_severity: Box<str>,
    pub alert_revision: i64,
    pub last_risk: f64,
    pub signature_hits: Vec<Box<str>>,
}

impl AccountState {
    pub fn new(org_id: &str, first_ts: f64) -> Self {
        AccountState {
            org_id: org_id.into(),
            first_ts,
            last_ts: first_ts,
            n: 0,
            created_at: None,
            gap_mean: 0.0,
            gap_var: 0.0,
            hours: [0; 24],
            categories: Vec::new(),
            n_json: 0,
            n_cot: 0,
            n_429: 0,
            prompt_tokens: 0,
            completion_tokens: 0,
            kmv: Default::default(),
            tokens: Default::default(),
            reported: Vec::new(),
            reported_at: None,
            pending_tokens: 0,
            last_snap_n: 0,
            last_snap_ts: first_ts,
            alerted_severity: "".into(),
            alert_revision: 0,
            last_risk: 0.0,
            signature_hits: Vec::new(),
        }
    }

    fn add_token(&mut self, c: &Config, family: usize, item: &str) -> i64 {
        i64::from(self.tokens[family].add(c.family_caps[family], item))
    }

    pub fn update(&mut self, e: &Event, m: &TemplateMatch, c: &Config) {
        let ts = e.ts;
        if self.n != 0 {
            let gap = min(max(ts - self.last_ts, 0.0), c.gap_cap_s);
            if self.n == 1 {
                self.gap_mean = gap;
            } else {
                let alpha = c.gap_ewma_alpha;
                let diff = gap - self.gap_mean;
                let incr = alpha * diff;
                self.gap_mean += incr;
                self.gap_var = (1.0 - alpha) * (self.gap_var + diff * incr);
            }
        }
        self.n += 1;
        self.last_ts = max(self.last_ts, ts);
        let hour = floordiv(ts, HOUR) as i64;
        self.hours[hour.rem_euclid(24) as usize] = hour;
        if e.account_created_at.is_some() {
            self.created_at = e.account_created_at;
        }

        let category = m
            .features
            .iter()
            .find_map(|f| f.strip_prefix("category:"))
            .unwrap_or("unknown");
        if let Some(slot) = self.categories.iter_mut().find(|(k, _)| &**k == category) {
            slot.1 += 1;
        } else if self.categories.len() < c.max_categories {
            self.categories.push((category.into(), 1));
        } else if let Some(slot) = self.categories.iter_mut().find(|(k, _)| &**k == "~other") {
            slot.1 += 1;
        } else {
            self.categories.push(("~other".into(), 1));
        }
        let has = |name: &str| m.features.iter().any(|f| f == name);
        if e.response_format != "text" || has("asks_json") {
            self.n_json += 1;
        }
        if has("asks_step_by_step") {
            self.n_cot += 1;
        }
        if e.status == 429 {
            self.n_429 += 1;
        }
        self.prompt_tokens += e.prompt_tokens.max(0);
        self.completion_tokens += e.completion_tokens.max(0);

        let prefix = ip_prefix(&e.ip);
        let asn = e.asn.to_string();
        let k = c.kmv_k;
        self.kmv[0].add(k, &asn);
        self.kmv[1].add(k, prefix);
        self.kmv[2].add(k, &m.template_id);

        let mut changed = self.add_token(c, cfg::UA, &e.user_agent);
        changed += self.add_token(c, cfg::ASN, &asn);
        changed += self.add_token(c, cfg::IP24, prefix);
        if m.wrapper {
            // Only wrappers are structure; a plain prompt's id is its content.
            changed += self.add_token(c, cfg::TPL, &m.template_id);
        }
        let step = c.temperature_bucket;
        let temp = (e.temperature / step).round_ties_even() * step;
        let params = format!("{}|{:.2}|{}|{}", e.model, temp, e.n, e.response_format);
        changed += self.add_token(c, cfg::PARAMS, &params);
        if let Some(pay) = e.payment_fingerprint.as_deref().filter(|p| !p.is_empty()) {
            changed += self.add_token(c, cfg::PAY, pay);
        }
        if let Some(system) = e.system_prompt.as_deref().filter(|s| !s.is_empty()) {
            let token = format!("{:016x}", stable_hash64(system));
            changed += self.add_token(c, cfg::SYS, &token);
        }
        if let Some(created) = self.created_at {
            if self.tokens[cfg::CREATED].items.is_empty() {
                // Two widths, so a sign-up burst straddling an hour boundary still shares one.
                let narrow = (floordiv(created, c.created_bucket_s) as i64).to_string();
                let wide = (floordiv(created, c.created_wide_bucket_s) as i64).to_string();
                changed += self.add_token(c, cfg::CREATED, &narrow);
                changed += self.add_token(c, cfg::CREATED_DAY, &wide);
            }
        }
        self.pending_tokens += changed;
    }

    pub fn metrics(&self, c: &Config) -> Metrics {
        let n = self.n;
        let nf = n as f64;
        let total = self.categories.iter().map(|(_, c)| *c).sum::<i64>();
        let total = if total == 0 { 1 } else { total } as f64;
        let mut entropy_sum = 0.0f64;
        for (_, count) in &self.categories {
            if *count != 0 {
                let p = *count as f64 / total;
                entropy_sum += p * p.log2();
            }
        }
        let entropy = -entropy_sum;
        let now_hour = floordiv(self.last_ts, HOUR) as i64;
        let active = self
            .hours
            .iter()
            .filter(|&&h| h != 0 && now_hour - h < 24)
            .count();
        let cv = if self.gap_mean > 0.0 {
            self.gap_var.sqrt() / self.gap_mean
        } else {
            0.0
        };
        let k = c.kmv_k;
        let share = |x: i64| if n != 0 { x as f64 / nf } else { 0.0 };
        let mut out = [None; 15];
        out[EVENTS] = Some(nf);
        out[OBSERVED_HOURS] = Some((self.last_ts - self.first_ts) / HOUR);
        out[RATE_PER_HOUR] = Some(if n >= 2 {
            HOUR / max(self.gap_mean, 1.0)
        } else {
            0.0
        });
        out[GAP_CV] = Some(cv);
        out[ACTIVE_HOURS] = Some(active as f64);
        out[DISTINCT_CATEGORIES] = Some(self.categories.len() as f64);
        out[CATEGORY_ENTROPY] = Some(entropy);
        out[TEMPLATE_DIVERSITY] = Some(if n != 0 {
            min(self.kmv[2].estimate(k) / nf, 1.0)
        } else {
            0.0
        });
        out[STRUCTURED_SHARE] = Some(share(self.n_json));
        out[COT_SHARE] = Some(share(self.n_cot));
        out[THROTTLE_SHARE] = Some(share(self.n_429));
        out[COMPLETION_RATIO] =
            Some(self.completion_tokens as f64 / self.prompt_tokens.max(1) as f64);
        out[ASN_DISTINCT] = Some(self.kmv[0].estimate(k));
        out[IP24_DISTINCT] = Some(self.kmv[1].estimate(k));
        if let Some(created) = self.created_at {
            out[ACCOUNT_AGE_DAYS] = Some(max(self.first_ts - created, 0.0) / DAY);
        }
        Metrics(out)
    }

    pub fn suspicion(&self, m: &Metrics, c: &Config) -> Suspicion {
        use Feature::*;
        let n = self.n;
        let mut out = Suspicion::default();
        if let Some(age) = m.get(ACCOUNT_AGE_DAYS) {
            out.set(Young, ramp(age, c.old_account_days, c.young_account_days));
        }
        if n >= 3 {
            let early = min(1.0, (n - 1) as f64 / c.rotation_share_events);
            let nf = n as f64;
            let asn = m.v(ASN_DISTINCT);
            let ip = m.v(IP24_DISTINCT);
            out.set(
                AsnRotation,
                max(
                    ramp(asn, c.asn_rotation_low, c.asn_rotation_high),
                    early * ramp(asn / nf, 0.5, 0.9),
                ),
            );
            out.set(
                IpRotation,
                max(
                    ramp(ip, c.ip_rotation_low, c.ip_rotation_high),
                    early * ramp(ip / nf, 0.5, 0.9),
                ),
            );
            out.set(
                Structured,
                ramp(m.v(STRUCTURED_SHARE), c.structured_low, c.structured_high),
            );
            out.set(Cot, ramp(m.v(COT_SHARE), c.cot_low, c.cot_high));
            if self.prompt_tokens > 0 {
                out.set(
                    Ratio,
                    ramp(m.v(COMPLETION_RATIO), c.ratio_low, c.ratio_high),
                );
            }
        }
        if n >= 5 {
            out.set(
                Breadth,
                ramp(m.v(DISTINCT_CATEGORIES), c.breadth_low, c.breadth_high),
            );
            out.set(
                Diversity,
                ramp(m.v(TEMPLATE_DIVERSITY), c.diversity_low, c.diversity_high),
            );
        }
        if n >= 10 {
            out.set(
                Throttle,
                ramp(m.v(THROTTLE_SHARE), c.throttle_low, c.throttle_high),
            );
            out.set(
                Regularity,
                ramp(m.v(GAP_CV), c.regularity_cv_high, c.regularity_cv_low),
            );
            if m.v(OBSERVED_HOURS) >= 0.25 {
                out.set(
                    Volume,
                    ramp(
                        m.v(RATE_PER_HOUR),
                        c.volume_low_per_hour,
                        c.volume_high_per_hour,
                    ),
                );
            }
        }
        if m.v(OBSERVED_HOURS) >= 20.0 {
            out.set(
                Diurnal,
                ramp(m.v(ACTIVE_HOURS), c.diurnal_low_hours, c.diurnal_high_hours),
            );
        }
        out
    }

    /// Weighted mean suspicion over the features that can be judged yet.
    pub fn risk(&self, s: &Suspicion, c: &Config) -> f64 {
        if self.n < c.risk_min_events {
            return 0.0;
        }
        let (mut num, mut den) = (0.0f64, 0.0f64);
        for (feature, weight) in &c.risk_weights {
            if let Some(value) = s.get(*feature) {
                num += weight * value;
                den += weight;
            }
        }
        if den != 0.0 {
            num / den
        } else {
            0.0
        }
    }

    /// Behaviour vector centred on 0 (float32, as numpy computed it).
    pub fn behaviour(&self, m: &Metrics) -> [f32; 10] {
        let raw = [
            min((1.0 + m.v(RATE_PER_HOUR)).log10() / 3.0, 1.0),
            1.0 - min(m.v(GAP_CV), 1.0),
            m.v(STRUCTURED_SHARE),
            m.v(COT_SHARE),
            min(m.v(DISTINCT_CATEGORIES) / 8.0, 1.0),
            m.v(TEMPLATE_DIVERSITY),
            min((1.0 + m.v(COMPLETION_RATIO)).log2() / 4.0, 1.0),
            min(m.v(THROTTLE_SHARE) * 5.0, 1.0),
            min(m.v(ASN_DISTINCT) / 8.0, 1.0),
            m.v(ACTIVE_HOURS) / 24.0,
        ];
        raw.map(|x| (x as f32) * 2.0f32 - 1.0f32)
    }

    /// Coordination tokens `family:item`, sorted.
    pub fn token_list(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for (family, sample) in cfg::FAMILIES.iter().zip(&self.tokens) {
            for (item, _) in &sample.items {
                out.push(format!("{family}:{item}"));
            }
        }
        out.sort_unstable();
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes() {
        assert_eq!(ip_prefix("10.1.2.3"), "10.1.2");
        assert_eq!(ip_prefix("2001:db8:1:2::1"), "2001:db8:1");
        assert_eq!(ip_prefix("2001:db8"), "2001:db8");
        assert_eq!(ip_prefix("nodots"), "nodots");
    }

    #[test]
    fn two_decimals_round_half_even_as_python_formats_them() {
        // f"{x:.2f}" of the bucketed temperature inside the params token
        let shown: Vec<String> = [0.125, 0.375, 2.675, 0.0, 1.75]
            .iter()
            .map(|x| format!("{x:.2}"))
            .collect();
        assert_eq!(shown, ["0.12", "0.38", "2.67", "0.00", "1.75"]);
    }

    #[test]
    fn ramp_is_clamped_and_reversible() {
        assert_eq!(ramp(5.0, 0.0, 10.0), 0.5);
        assert_eq!(ramp(-1.0, 0.0, 10.0), 0.0);
        assert_eq!(ramp(0.5, 1.0, 0.25), 2.0 / 3.0);
        assert_eq!(ramp(3.0, 3.0, 3.0), 1.0);
    }
}
