//! One raw record value to an `Event` or a `Refusal`, checking what `streams.codecs` checks in
//! the order it checks it: record size, UTF-8 and JSON, top-level object, prompt/fingerprint
//! mode, the schema, prompt sizes, timestamps, then the nesting of unknown fields.

use std::panic::{catch_unwind, AssertUnwindSafe};

use serde_json::Map;

use super::json::{self, num, type_name, Num, Value};
use super::timeparse::parse_timestamp;
use super::validate::{is_contract_field, validate};
use super::{Detail, Event, Fingerprint, Reason, Refusal};

/// Nesting allowed inside an unknown field (`streams.codecs.MAX_EXTRA_DEPTH`).
pub const MAX_EXTRA_DEPTH: usize = 64;

#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub max_prompt_bytes: u64,
    pub max_record_bytes: u64,
}

/// `decode_request` over a batch, one result per value in order; a panic while decoding one
/// record refuses that record as `internal_error` and never escapes.
pub fn decode_batch(values: &[&[u8]], limits: Limits) -> Vec<Result<Event, Refusal>> {
    values
        .iter()
        .map(|raw| decode_guarded(raw, limits))
        .collect()
}

pub fn decode_guarded(raw: &[u8], limits: Limits) -> Result<Event, Refusal> {
    guard(|| decode_request(raw, limits))
}

/// One record's decoding; a panic becomes an `internal_error` refusal of that record alone,
/// so a decoder fault can never stop a consumer group at the same offset forever.
fn guard(decode: impl FnOnce() -> Result<Event, Refusal>) -> Result<Event, Refusal> {
    catch_unwind(AssertUnwindSafe(decode)).unwrap_or_else(|panic| {
        let message = panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".into());
        Err(Refusal::text(
            Reason::InternalError,
            format!("decoder fault panic: {message}"),
        ))
    })
}

pub fn decode_request(raw: &[u8], limits: Limits) -> Result<Event, Refusal> {
    let mut obj = load_object(raw, limits.max_record_bytes)?;
    check_prompt_mode(&obj)?;
    validate(&obj)?;
    if let Some(Value::String(prompt)) = obj.get("prompt") {
        check_text_size("prompt", prompt, limits.max_prompt_bytes)?;
        if let Some(Value::String(system)) = obj.get("system_prompt") {
            check_text_size("system_prompt", system, limits.max_prompt_bytes)?;
        }
    }
    let ts = timestamp("ts", &obj["ts"])?;
    let account_created_at = match obj.get("account_created_at") {
        None | Some(Value::Null) => None,
        Some(created) => Some(timestamp("account_created_at", created)?),
    };
    let deep: Vec<String> = obj
        .iter()
        .filter(|(key, value)| {
            !is_contract_field(key) && json::nests_deeper(value, MAX_EXTRA_DEPTH)
        })
        .map(|(key, _)| key.clone())
        .collect();
    if !deep.is_empty() {
        return Err(Refusal {
            reason: Reason::InvalidValue,
            detail: Detail::TooDeep {
                keys: obj.keys().cloned().collect(),
                deep,
            },
        });
    }
    Ok(build(&mut obj, ts, account_created_at))
}

fn load_object(raw: &[u8], max_record_bytes: u64) -> Result<Map<String, Value>, Refusal> {
    if raw.len() as u64 > max_record_bytes {
        return Err(Refusal::text(
            Reason::OversizedRecord,
            format!("record is {} bytes; limit is {max_record_bytes}", raw.len()),
        ));
    }
    let text = std::str::from_utf8(raw).map_err(|e| {
        let start = e.valid_up_to();
        let why = match e.error_len() {
            None => "unexpected end of data",
            Some(_) if matches!(raw[start], 0x80..=0xC1 | 0xF5..=0xFF) => "invalid start byte",
            Some(_) => "invalid continuation byte",
        };
        Refusal::text(
            Reason::InvalidUtf8,
            format!("byte {start} is not valid UTF-8: {why}"),
        )
    })?;
    match json::parse(text) {
        Err(json::SyntaxError(message)) => Err(Refusal {
            reason: Reason::MalformedJson,
            detail: Detail::Syntax(message),
        }),
        Ok(Value::Object(obj)) => Ok(obj),
        Ok(other) => Err(Refusal::text(
            Reason::NotAnObject,
            format!(
                "top-level JSON value is {}, expected object",
                type_name(&other)
            ),
        )),
    }
}

/// The schema's prompt/fingerprint rule, checked first for a precise detail.
fn check_prompt_mode(obj: &Map<String, Value>) -> Result<(), Refusal> {
    if obj.contains_key("prompt_fingerprint") {
        if obj.contains_key("prompt") {
            return Err(Refusal::text(
                Reason::InvalidValue,
                "'prompt' and 'prompt_fingerprint' are mutually exclusive",
            ));
        }
        if obj.get("system_prompt").is_some_and(|v| !v.is_null()) {
            return Err(Refusal::text(
                Reason::InvalidValue,
                "'system_prompt' must be absent or null when 'prompt_fingerprint' is present",
            ));
        }
    } else if !obj.contains_key("prompt") {
        return Err(Refusal::text(
            Reason::MissingField,
            "missing required field 'prompt' (or 'prompt_fingerprint')",
        ));
    }
    Ok(())
}

fn check_text_size(field: &str, text: &str, limit: u64) -> Result<(), Refusal> {
    let size = text.len() as u64;
    if size <= limit {
        return Ok(());
    }
    Err(Refusal::text(
        Reason::OversizedPrompt,
        format!("field '{field}' is {size} bytes; limit is {limit}"),
    ))
}

fn timestamp(field: &str, value: &Value) -> Result<f64, Refusal> {
    let text = value.as_str().unwrap_or_default();
    parse_timestamp(text)
        .map_err(|why| Refusal::text(Reason::BadTimestamp, format!("field '{field}': {why}")))
}

fn take_string(value: Value) -> String {
    match value {
        Value::String(s) => s,
        other => other.to_string(),
    }
}

/// `int()` of a validated integer-typed value.
fn int(value: &Value) -> i128 {
    match value.as_number().map(num) {
        Some(Num::Int(i)) => i,
        Some(Num::Float(f)) => f as i128,
        None => 0,
    }
}

/// `float()` of a validated number-typed value.
fn float(value: &Value) -> f64 {
    match value.as_number().map(num) {
        Some(Num::Int(i)) => i as f64,
        Some(Num::Float(f)) => f,
        None => 0.0,
    }
}

fn optional_string(value: Option<Value>) -> Option<String> {
    match value {
        Some(Value::String(s)) => Some(s),
        _ => None,
    }
}

/// The event of a validated record, taking its strings out of the map.
fn build(obj: &mut Map<String, Value>, ts: f64, account_created_at: Option<f64>) -> Event {
    let mut take = |key: &str| obj.get_mut(key).map(Value::take).unwrap_or(Value::Null);
    let event_id = take_string(take("event_id"));
    let account_id = take_string(take("account_id"));
    let org_id = take_string(take("org_id"));
    let api_key_id = take_string(take("api_key_id"));
    let ip = take_string(take("ip"));
    let country = take_string(take("country"));
    let user_agent = take_string(take("user_agent"));
    let model = take_string(take("model"));
    let endpoint = take_string(take("endpoint"));
    let response_format = take_string(take("response_format"));
    let prompt = optional_string(Some(take("prompt")));
    let system_prompt = optional_string(Some(take("system_prompt")));
    let payment_fingerprint = optional_string(Some(take("payment_fingerprint")));
    let prompt_fingerprint = match take("prompt_fingerprint") {
        Value::Object(mut fp) => Some(Fingerprint {
            template_id: take_string(
                fp.get_mut("template_id")
                    .map(Value::take)
                    .unwrap_or_default(),
            ),
            minhash: fp
                .get("minhash")
                .and_then(Value::as_array)
                .map(|items| items.iter().map(|item| int(item) as u64).collect())
                .unwrap_or_default(),
        }),
        _ => None,
    };
    let field = |key: &str| obj.get(key).unwrap_or(&Value::Null);
    let event = Event {
        event_id,
        ts,
        account_id,
        org_id,
        api_key_id,
        ip,
        asn: int(field("asn")) as i64,
        country,
        user_agent,
        model,
        endpoint,
        prompt,
        system_prompt,
        prompt_tokens: int(field("prompt_tokens")) as i64,
        completion_tokens: int(field("completion_tokens")) as i64,
        response_format,
        temperature: float(field("temperature")),
        n: int(field("n")) as i64,
        stream: field("stream").as_bool().unwrap_or_default(),
        status: int(field("status")) as i64,
        latency_ms: float(field("latency_ms")),
        account_created_at,
        payment_fingerprint,
        prompt_fingerprint,
        extra: Vec::new(),
    };
    let extra = std::mem::take(obj)
        .into_iter()
        .filter(|(key, _)| !is_contract_field(key))
        .collect();
    Event { extra, ..event }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: Limits = Limits {
        max_prompt_bytes: 65_536,
        max_record_bytes: 262_144,
    };

    #[test]
    fn a_panic_in_decoding_becomes_an_internal_error_refusal() {
        let refusal = guard(|| panic!("boom")).expect_err("refused");
        assert!(matches!(refusal.reason, Reason::InternalError));
        assert_eq!(refusal.detail.render_plain(), "decoder fault panic: boom");
    }

    fn record(extra: &str) -> String {
        format!(
            concat!(
                r#"{{"event_id":"e1","ts":"2025-01-01T00:00:00Z","account_id":"a","org_id":"o","#,
                r#""api_key_id":"k","ip":"10.0.0.1","asn":64500,"country":"US","user_agent":"ua","#,
                r#""model":"m","endpoint":"/v1/chat","prompt":"hi","system_prompt":null,"#,
                r#""prompt_tokens":3,"completion_tokens":5,"response_format":"text","#,
                r#""temperature":0.7,"n":1,"stream":false,"status":200,"latency_ms":12.5{}}}"#
            ),
            extra
        )
    }

    fn refusal(raw: &str) -> (Reason, String) {
        let refused = decode_request(raw.as_bytes(), LIMITS).unwrap_err();
        (refused.reason, refused.detail.render_plain())
    }

    #[test]
    fn decodes_a_valid_record_keeping_extras() {
        let event = decode_request(record(r#","x":[1,{"y":2}]"#).as_bytes(), LIMITS).unwrap();
        assert_eq!(event.ts, 1_735_689_600.0);
        assert_eq!(event.asn, 64500);
        assert_eq!(event.prompt.as_deref(), Some("hi"));
        assert_eq!(event.extra.len(), 1);
        assert_eq!(event.extra[0].0, "x");
    }

    #[test]
    fn refuses_with_the_python_reasons_and_details() {
        assert_eq!(refusal(&record(r#","n":0"#)).0, Reason::InvalidValue,);
        assert_eq!(
            refusal(&record(r#","asn":"1""#)),
            (
                Reason::WrongType,
                "field 'asn' must be integer, got string".into()
            )
        );
        assert_eq!(
            refusal(&record(r#","prompt_fingerprint":{}"#)),
            (
                Reason::InvalidValue,
                "'prompt' and 'prompt_fingerprint' are mutually exclusive".into()
            )
        );
        assert_eq!(
            refusal("[1]"),
            (
                Reason::NotAnObject,
                "top-level JSON value is array, expected object".into()
            )
        );
        assert_eq!(refusal("{\"a\":\"\u{e9}\"}").0, Reason::MissingField);
        let broken = decode_request(b"{\"a\":\"\xc3\x28\"}", LIMITS).unwrap_err();
        assert_eq!(
            broken.detail,
            Detail::Text("byte 6 is not valid UTF-8: invalid continuation byte".into())
        );
        assert_eq!(
            refusal(&record(r#","ts":"2100-01-01T00:00:00Z""#)),
            (
                Reason::BadTimestamp,
                "field 'ts': '2100-01-01T00:00:00Z' is outside 1970-01-01T00:00:00Z..2100-01-01T00:00:00Z"
                    .into()
            )
        );
        let tiny = Limits {
            max_prompt_bytes: 1,
            max_record_bytes: 10,
        };
        assert_eq!(
            decode_request(&[b' '; 11], tiny).unwrap_err().reason,
            Reason::OversizedRecord
        );
    }
}
