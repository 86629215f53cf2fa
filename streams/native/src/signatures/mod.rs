//! Shared signatures matched per event (`streams.stages.signatures`): template ids, prompt
//! regexes (the `regex` crate: linear time, so a partner's pattern cannot stall a worker),
//! exact infrastructure values, IP networks, and behaviour thresholds over the metrics.
//!
//! `streams.stages.signatures.CompiledSignature` validates a signature record and hands its
//! parts here; `Book` is the set of live signatures, in id order.

use std::collections::BTreeMap;
use std::net::IpAddr;

use regex::Regex;
use rustc_hash::FxHashSet;

use crate::account::state::{Metrics, METRICS};
use crate::request::Event;
use crate::templates::TemplateMatch;

/// Event fields an infrastructure indicator names (`INFRASTRUCTURE_FIELDS`, in its order).
pub const FIELDS: [&str; 7] = [
    "asn",
    "ip",
    "user_agent",
    "payment_fingerprint",
    "country",
    "api_key_id",
    "model",
];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Min,
    Max,
}

#[derive(Clone, Debug)]
pub struct Network {
    address: IpAddr,
    prefix: u8,
}

impl Network {
    pub fn parse(address: &str, prefix: u8) -> Result<Network, String> {
        let address: IpAddr = address
            .parse()
            .map_err(|_| format!("{address:?} is not an IP address"))?;
        let bits = if address.is_ipv4() { 32 } else { 128 };
        if prefix > bits {
            return Err(format!("prefix /{prefix} is longer than the address"));
        }
        Ok(Network { address, prefix })
    }

    fn contains(&self, ip: &IpAddr) -> bool {
        fn masked(bits: u128, width: u32, prefix: u8) -> u128 {
            if prefix == 0 {
                0
            } else {
                bits >> (width - u32::from(prefix))
            }
        }
        match (self.address, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                masked(u32::from(net).into(), 32, self.prefix)
                    == masked(u32::from(*ip).into(), 32, self.prefix)
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                masked(u128::from(net), 128, self.prefix)
                    == masked(u128::from(*ip), 128, self.prefix)
            }
            _ => false,
        }
    }
}

/// One live signature, compiled.
#[derive(Clone, Debug)]
pub struct Signature {
    pub id: String,
    pub confidence: f64,
    pub valid_from: f64,
    pub valid_until: f64,
    pub templates: FxHashSet<String>,
    pub patterns: Vec<Regex>,
    pub networks: Vec<Network>,
    /// `(FIELDS index, wanted values)`, in `FIELDS` order, only fields with values.
    pub values: Vec<(usize, FxHashSet<String>)>,
    /// `(op, METRICS index, bound)`.
    pub behaviour: Vec<(Op, usize, f64)>,
}

/// What a signature's parts compile from.
pub struct Parts {
    pub id: String,
    pub confidence: f64,
    pub valid_from: f64,
    pub valid_until: f64,
    pub templates: Vec<String>,
    pub patterns: Vec<String>,
    /// `(network address, prefix length)` as `ipaddress.ip_network(strict=False)` gave them.
    pub networks: Vec<(String, u8)>,
    pub values: Vec<(String, Vec<String>)>,
    pub behaviour: Vec<(String, String, f64)>,
}

impl Signature {
    pub fn compile(p: Parts) -> Result<Signature, String> {
        let patterns = p
            .patterns
            .iter()
            .map(|text| Regex::new(text).map_err(|e| format!("bad prompt pattern: {e}")))
            .collect::<Result<Vec<_>, String>>()?;
        let networks = p
            .networks
            .iter()
            .map(|(address, prefix)| Network::parse(address, *prefix))
            .collect::<Result<Vec<_>, String>>()?;
        let mut values = Vec::new();
        for (index, field) in FIELDS.iter().enumerate() {
            for (name, wanted) in &p.values {
                if name == field && !wanted.is_empty() {
                    values.push((index, wanted.iter().cloned().collect()));
                }
            }
        }
        let behaviour = p
            .behaviour
            .iter()
            .map(|(op, metric, bound)| {
                let op = match op.as_str() {
                    "min" => Op::Min,
                    "max" => Op::Max,
                    other => return Err(format!("unknown behaviour operator {other:?}")),
                };
                let index = METRICS
                    .iter()
                    .position(|m| m == metric)
                    .ok_or_else(|| format!("unknown behaviour feature {metric:?}"))?;
                Ok((op, index, *bound))
            })
            .collect::<Result<Vec<_>, String>>()?;
        Ok(Signature {
            id: p.id,
            confidence: p.confidence,
            valid_from: p.valid_from,
            valid_until: p.valid_until,
            templates: p.templates.into_iter().collect(),
            patterns,
            networks,
            values,
            behaviour,
        })
    }

    fn has_indicators(&self) -> bool {
        !(self.templates.is_empty()
            && self.patterns.is_empty()
            && self.networks.is_empty()
            && self.values.is_empty())
    }

    /// Names of the event indicators this event matches.
    fn indicators(&self, e: &Event, m: &TemplateMatch) -> Vec<String> {
        let mut hits = Vec::new();
        if !self.templates.is_empty()
            && (self.templates.contains(&m.template_id) || self.templates.contains(&m.exact_id))
        {
            hits.push(format!("template:{}", m.template_id));
        }
        if let Some(prompt) = e.prompt.as_deref().filter(|p| !p.is_empty()) {
            for (i, pattern) in self.patterns.iter().enumerate() {
                if pattern.is_match(prompt) {
                    hits.push(format!("pattern:{i}"));
                }
            }
        }
        for (index, wanted) in &self.values {
            let asn;
            let value: Option<&str> = match *index {
                0 => {
                    asn = e.asn.to_string();
                    Some(&asn)
                }
                1 => Some(&e.ip),
                2 => Some(&e.user_agent),
                3 => e.payment_fingerprint.as_deref(),
                4 => Some(&e.country),
                5 => Some(&e.api_key_id),
                _ => Some(&e.model),
            };
            if let Some(value) = value {
                if wanted.contains(value) {
                    hits.push(format!("{}:{value}", FIELDS[*index]));
                }
            }
        }
        if !self.networks.is_empty() {
            if let Ok(address) = e.ip.parse::<IpAddr>() {
                if self.networks.iter().any(|net| net.contains(&address)) {
                    hits.push(format!("ip_prefix:{}", e.ip));
                }
            }
        }
        hits
    }

    fn behaviour_holds(&self, metrics: &Metrics) -> bool {
        self.behaviour
            .iter()
            .all(|(op, index, bound)| match metrics.get(*index) {
                None => false,
                Some(value) => match op {
                    Op::Min => value >= *bound,
                    Op::Max => value <= *bound,
                },
            })
    }
}

/// A hit: `(signature id, matched indicators, confidence)`.
pub type Hit = (String, Vec<String>, f64);

/// The live signatures by id.
#[derive(Clone, Debug, Default)]
pub struct Book {
    pub signatures: BTreeMap<String, Signature>,
}

impl Book {
    pub fn is_empty(&self) -> bool {
        self.signatures.is_empty()
    }

    /// Every signature the event matches, in id order.
    pub fn matches(
        &self,
        e: &Event,
        m: &TemplateMatch,
        metrics: &Metrics,
        n_events: i64,
        min_events: i64,
    ) -> Vec<Hit> {
        let mut out = Vec::new();
        for sig in self.signatures.values() {
            if !(sig.valid_from <= e.ts && e.ts < sig.valid_until) {
                continue;
            }
            let mut matched = Vec::new();
            if sig.has_indicators() {
                matched = sig.indicators(e, m);
                if matched.is_empty() {
                    continue;
                }
            }
            if !sig.behaviour.is_empty() {
                if n_events < min_events || !sig.behaviour_holds(metrics) {
                    continue;
                }
                matched.push("behaviour".to_string());
            }
            if !matched.is_empty() {
                out.push((sig.id.clone(), matched, sig.confidence));
            }
        }
        out
    }
}
