//! Request events (request_event.v1): raw Kafka record values to validated events or refusals.
//!
//! A drop-in for `streams.codecs.decode_requests`: the same constraints as
//! `schemas/request_event.v1.json` (as fastjsonschema checks them, in its order), the same size
//! limits, and the same reason codes and details, so a record gets the same fate on both paths.
//! Pure Rust; `crate::python` turns the results into the project's Python records.

pub mod decode;
pub mod json;
pub mod timeparse;
pub mod validate;

pub use decode::{decode_request, Limits};
pub use json::{Num, Value};

/// Why a record was refused: the dead-letter reason codes of `streams.codecs`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reason {
    MalformedJson,
    InvalidUtf8,
    NotAnObject,
    MissingField,
    WrongType,
    InvalidValue,
    BadTimestamp,
    OversizedPrompt,
    OversizedRecord,
    InternalError,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::MalformedJson => "malformed_json",
            Reason::InvalidUtf8 => "invalid_utf8",
            Reason::NotAnObject => "not_an_object",
            Reason::MissingField => "missing_field",
            Reason::WrongType => "wrong_type",
            Reason::InvalidValue => "invalid_value",
            Reason::BadTimestamp => "bad_timestamp",
            Reason::OversizedPrompt => "oversized_prompt",
            Reason::OversizedRecord => "oversized_record",
            Reason::InternalError => "internal_error",
        }
    }
}

/// The human detail of a refusal.  Most are plain text; the others embed a Python rendering
/// (`repr` of a JSON value, `str` of a set of keys) that the caller finishes, because only the
/// interpreter can print those exactly as the Python decoder does.
#[derive(Clone, Debug, PartialEq)]
pub enum Detail {
    Text(String),
    /// `head + preview(value) + tail`, where preview is `repr` cut to 80 characters.
    Preview {
        head: String,
        value: Box<Value>,
        tail: String,
    },
    /// The JSON parser's message; the Python decoder shows orjson's wording instead.
    Syntax(String),
    /// `prompt_fingerprint` has keys besides its two: the keys in record order (the detail
    /// prints `str(set(keys) - {"template_id", "minhash"})`) and the fingerprint itself.
    UnknownFingerprintKeys {
        keys: Vec<String>,
        value: Box<Value>,
    },
    /// Unknown fields nesting deeper than the limit: all keys of the record in record order and
    /// the too-deep ones; the detail names the first too-deep one in the order of
    /// `set(record keys) - contract fields`, as the Python decoder iterates them.
    TooDeep {
        keys: Vec<String>,
        deep: Vec<String>,
    },
}

impl Detail {
    /// A rendering without an interpreter: exact for `Text`, approximate for the others.
    pub fn render_plain(&self) -> String {
        match self {
            Detail::Text(text) | Detail::Syntax(text) => text.clone(),
            Detail::Preview { head, value, tail } => format!("{head}{value:?}{tail}"),
            Detail::UnknownFingerprintKeys { keys, .. } => {
                format!("field 'prompt_fingerprint' has unknown keys {keys:?}")
            }
            Detail::TooDeep { deep, .. } => format!(
                "field '{}' nests deeper than {} levels",
                deep.first().map(String::as_str).unwrap_or(""),
                decode::MAX_EXTRA_DEPTH
            ),
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Refusal {
    pub reason: Reason,
    pub detail: Detail,
}

impl Refusal {
    pub fn text(reason: Reason, detail: impl Into<String>) -> Self {
        Refusal {
            reason,
            detail: Detail::Text(detail.into()),
        }
    }
}

/// `PromptFingerprint` of the privacy mode.
#[derive(Clone, Debug, PartialEq)]
pub struct Fingerprint {
    pub template_id: String,
    pub minhash: Vec<u64>,
}

/// A decoded request event, the fields of `streams.records.RequestEvent`.
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    pub event_id: String,
    pub ts: f64,
    pub account_id: String,
    pub org_id: String,
    pub api_key_id: String,
    pub ip: String,
    pub asn: i64,
    pub country: String,
    pub user_agent: String,
    pub model: String,
    pub endpoint: String,
    pub prompt: Option<String>,
    pub system_prompt: Option<String>,
    pub prompt_tokens: i64,
    pub completion_tokens: i64,
    pub response_format: String,
    pub temperature: f64,
    pub n: i64,
    pub stream: bool,
    pub status: i64,
    pub latency_ms: f64,
    pub account_created_at: Option<f64>,
    pub payment_fingerprint: Option<String>,
    pub prompt_fingerprint: Option<Fingerprint>,
    /// Unknown fields, in record order.
    pub extra: Vec<(String, Value)>,
}
