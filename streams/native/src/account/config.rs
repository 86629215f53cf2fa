//! The knobs of `streams.config.DetectorConfig` the account stage reads.

use crate::templates::Config as TemplateConfig;

/// Token families in checkpoint order (`streams.config.TOKEN_FAMILY_NAMES`).
pub const FAMILIES: [&str; 9] = [
    "pay",
    "ua",
    "asn",
    "ip24",
    "sys",
    "tpl",
    "created",
    "created_day",
    "params",
];
pub const PAY: usize = 0;
pub const UA: usize = 1;
pub const ASN: usize = 2;
pub const IP24: usize = 3;
pub const SYS: usize = 4;
pub const TPL: usize = 5;
pub const CREATED: usize = 6;
pub const CREATED_DAY: usize = 7;
pub const PARAMS: usize = 8;

/// Suspicion features of the account risk, in `risk_weights` naming.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Feature {
    Young,
    AsnRotation,
    IpRotation,
    Diurnal,
    Volume,
    Breadth,
    Diversity,
    Structured,
    Cot,
    Ratio,
    Throttle,
    Regularity,
}

impl Feature {
    pub fn parse(name: &str) -> Option<Feature> {
        Some(match name {
            "young" => Feature::Young,
            "asn_rotation" => Feature::AsnRotation,
            "ip_rotation" => Feature::IpRotation,
            "diurnal" => Feature::Diurnal,
            "volume" => Feature::Volume,
            "breadth" => Feature::Breadth,
            "diversity" => Feature::Diversity,
            "structured" => Feature::Structured,
            "cot" => Feature::Cot,
            "ratio" => Feature::Ratio,
            "throttle" => Feature::Throttle,
            "regularity" => Feature::Regularity,
            _ => return None,
        })
    }
}

#[derive(Clone, Debug)]
pub struct Config {
    pub templates: TemplateConfig,
    pub max_prompt_bytes: u64,
    pub max_record_bytes: u64,
    pub max_lateness_s: f64,
    pub max_future_s: f64,
    pub dedup_max_ids: usize,
    pub max_accounts: usize,
    pub cap_evict_share: f64,
    /// Profiles kept decoded; the least recently used others wait packed.
    pub hot_accounts: usize,
    pub account_ttl_s: f64,
    pub gap_ewma_alpha: f64,
    pub gap_cap_s: f64,
    pub snapshot_first_after: i64,
    pub snapshot_every: i64,
    pub snapshot_on_new_tokens: i64,
    pub snapshot_min_events_between: i64,
    pub snapshot_max_interval_s: f64,
    pub kmv_k: usize,
    /// Tokens kept per family, in `FAMILIES` order.
    pub family_caps: [usize; 9],
    pub max_categories: usize,
    pub created_bucket_s: f64,
    pub created_wide_bucket_s: f64,
    pub temperature_bucket: f64,
    pub risk_min_events: i64,
    pub young_account_days: f64,
    pub old_account_days: f64,
    pub asn_rotation_low: f64,
    pub asn_rotation_high: f64,
    pub rotation_share_events: f64,
    pub ip_rotation_low: f64,
    pub ip_rotation_high: f64,
    pub diurnal_low_hours: f64,
    pub diurnal_high_hours: f64,
    pub volume_low_per_hour: f64,
    pub volume_high_per_hour: f64,
    pub breadth_low: f64,
    pub breadth_high: f64,
    pub diversity_low: f64,
    pub diversity_high: f64,
    pub structured_low: f64,
    pub structured_high: f64,
    pub cot_low: f64,
    pub cot_high: f64,
    pub ratio_low: f64,
    pub ratio_high: f64,
    pub throttle_low: f64,
    pub throttle_high: f64,
    pub regularity_cv_high: f64,
    pub regularity_cv_low: f64,
    pub risk_weights: Vec<(Feature, f64)>,
    pub extraction_min_events: i64,
    pub extraction_threshold: f64,
    pub extraction_min_automation: f64,
    pub extraction_min_harvest: f64,
    pub df_window_s: f64,
    pub signature_min_events: i64,
    /// Severity lower bounds, highest first, with each severity's rank (low 0 .. critical 3).
    pub severity_bands: Vec<(String, f64)>,
    pub evict_interval_s: f64,
}

/// Rank of a severity name (`streams.stages.scoring.SEVERITY_RANK`).
pub fn severity_rank(severity: &str) -> i32 {
    match severity {
        "low" => 0,
        "medium" => 1,
        "high" => 2,
        "critical" => 3,
        _ => -1,
    }
}

impl Config {
    /// `streams.stages.scoring.severity_for`.
    pub fn severity_for(&self, score: f64) -> &str {
        for (name, bound) in &self.severity_bands {
            if score >= *bound {
                return name;
            }
        }
        "low"
    }
}

impl Default for Config {
    /// `DetectorConfig()`'s values.
    fn default() -> Self {
        use Feature::*;
        Config {
            templates: TemplateConfig::default(),
            max_prompt_bytes: 64 * 1024,
            max_record_bytes: 256 * 1024,
            max_lateness_s: 600.0,
            max_future_s: 300.0,
            dedup_max_ids: 20_000,
            max_accounts: 50_000,
            cap_evict_share: 0.1,
            hot_accounts: 4096,
            account_ttl_s: 6.0 * 3600.0,
            gap_ewma_alpha: 0.1,
            gap_cap_s: 3600.0,
            snapshot_first_after: 3,
            snapshot_every: 24,
            snapshot_on_new_tokens: 2,
            snapshot_min_events_between: 2,
            snapshot_max_interval_s: 900.0,
            kmv_k: 12,
            family_caps: [2, 2, 4, 6, 2, 4, 1, 1, 2],
            max_categories: 16,
            created_bucket_s: 3600.0,
            created_wide_bucket_s: 86400.0,
            temperature_bucket: 0.25,
            risk_min_events: 3,
            young_account_days: 3.0,
            old_account_days: 60.0,
            asn_rotation_low: 2.0,
            asn_rotation_high: 5.0,
            rotation_share_events: 4.0,
            ip_rotation_low: 3.0,
            ip_rotation_high: 8.0,
            diurnal_low_hours: 16.0,
            diurnal_high_hours: 22.0,
            volume_low_per_hour: 60.0,
            volume_high_per_hour: 240.0,
            breadth_low: 2.0,
            breadth_high: 5.0,
            diversity_low: 0.5,
            diversity_high: 0.9,
            structured_low: 0.5,
            structured_high: 0.95,
            cot_low: 0.5,
            cot_high: 0.95,
            ratio_low: 2.0,
            ratio_high: 8.0,
            throttle_low: 0.02,
            throttle_high: 0.15,
            regularity_cv_high: 1.0,
            regularity_cv_low: 0.25,
            risk_weights: vec![
                (Young, 1.0),
                (AsnRotation, 2.0),
                (IpRotation, 1.5),
                (Diurnal, 1.5),
                (Volume, 1.0),
                (Breadth, 1.0),
                (Diversity, 1.0),
                (Structured, 0.5),
                (Cot, 0.5),
                (Ratio, 0.5),
                (Throttle, 1.0),
                (Regularity, 0.5),
            ],
            extraction_min_events: 60,
            extraction_threshold: 0.6,
            extraction_min_automation: 0.7,
            extraction_min_harvest: 0.7,
            df_window_s: 6.0 * 3600.0,
            signature_min_events: 5,
            severity_bands: vec![
                ("critical".into(), 0.85),
                ("high".into(), 0.72),
                ("medium".into(), 0.6),
                ("low".into(), 0.0),
            ],
            evict_interval_s: 900.0,
        }
    }
}
