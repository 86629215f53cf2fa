//! The constraints of `schemas/request_event.v1.json`, checked in the order of the validator
//! fastjsonschema generates from it (required fields, then each property in schema order), so
//! a record with several problems is refused for the same first one.
//!
//! The schema's prompt/fingerprint rule (if/then/else) is checked before, by
//! `decode::check_prompt_mode`, as the Python decoder does.

use std::sync::LazyLock;

use regex::Regex;
use serde_json::Map;

use super::json::{num, type_name, Num, Value};
use super::{Detail, Reason, Refusal};

pub const SCHEMA: &str = "request_event.v1";

/// The contract itself: its `required` list is read from here rather than copied, and a test
/// pins `PROPERTIES` to its `properties` in order.
const SCHEMA_JSON: &str = include_str!("../../../../schemas/request_event.v1.json");

/// The schema's `required`, in its order (the detail names the first one missing).
static REQUIRED: LazyLock<Vec<String>> = LazyLock::new(|| {
    let schema: serde_json::Value = serde_json::from_str(SCHEMA_JSON).expect("schema is JSON");
    schema["required"]
        .as_array()
        .expect("schema lists required fields")
        .iter()
        .map(|name| name.as_str().expect("field names are strings").to_owned())
        .collect()
});

pub const RESPONSE_FORMATS: [&str; 3] = ["text", "json_object", "json_schema"];
const MINHASH_MAX: i128 = u64::MAX as i128;

/// fastjsonschema's `date-time` pattern; `\d` is Unicode-aware there as here.
static DATE_TIME: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r"^(?:\d{4}-(?:(?:0[13578]|1[02])-(?:0[1-9]|[12]\d|3[01])|(?:0[469]|11)-(?:0[1-9]|[12]\d|30)|02-(?:0[1-9]|1\d|2[0-8]))",
        r"|(?:\d\d(?:0[48]|[2468][048]|[13579][26])|(?:[02468][048]|[13579][26])00)-02-29)",
        r"(t|T)(?:[01]\d|2[0-3]):[0-5]\d:(?:[0-5]\d|60)(?:\.\d+)?",
        r"(?:[+-](?:[01]\d|2[0-3]):[0-5]\d|[+-](?:[01]\d|2[0-3])[0-5]\d|z|Z)\z",
    ))
    .expect("valid pattern")
});

/// How one property is constrained.
enum Rule {
    Const,
    Text {
        min: Option<usize>,
        max: Option<usize>,
    },
    TextOrNull {
        min: Option<usize>,
        max: Option<usize>,
    },
    Timestamp {
        nullable: bool,
    },
    Integer {
        min: i128,
        max: i128,
    },
    Number {
        min: i128,
        max: i128,
    },
    Country,
    Fingerprint,
    ResponseFormat,
    Boolean,
}

const fn text(min: usize, max: usize) -> Rule {
    Rule::Text {
        min: Some(min),
        max: Some(max),
    }
}

/// The schema's `properties`, in its order.
const PROPERTIES: [(&str, Rule); 25] = [
    ("schema", Rule::Const),
    ("event_id", text(1, 256)),
    ("ts", Rule::Timestamp { nullable: false }),
    ("account_id", text(1, 256)),
    ("org_id", text(1, 256)),
    ("api_key_id", text(1, 256)),
    ("ip", text(1, 64)),
    (
        "asn",
        Rule::Integer {
            min: 0,
            max: 4_294_967_295,
        },
    ),
    ("country", Rule::Country),
    (
        "user_agent",
        Rule::Text {
            min: None,
            max: Some(4096),
        },
    ),
    ("model", text(1, 256)),
    ("endpoint", text(1, 256)),
    (
        "prompt",
        Rule::Text {
            min: None,
            max: None,
        },
    ),
    (
        "system_prompt",
        Rule::TextOrNull {
            min: None,
            max: None,
        },
    ),
    ("prompt_fingerprint", Rule::Fingerprint),
    (
        "prompt_tokens",
        Rule::Integer {
            min: 0,
            max: 2_147_483_647,
        },
    ),
    (
        "completion_tokens",
        Rule::Integer {
            min: 0,
            max: 2_147_483_647,
        },
    ),
    ("response_format", Rule::ResponseFormat),
    ("temperature", Rule::Number { min: 0, max: 2 }),
    ("n", Rule::Integer { min: 1, max: 128 }),
    ("stream", Rule::Boolean),
    ("status", Rule::Integer { min: 100, max: 599 }),
    (
        "latency_ms",
        Rule::Number {
            min: 0,
            max: 86_400_000,
        },
    ),
    ("account_created_at", Rule::Timestamp { nullable: true }),
    (
        "payment_fingerprint",
        Rule::TextOrNull {
            min: Some(1),
            max: Some(256),
        },
    ),
];

/// Whether `name` is a field of the contract (others are kept as extras).
pub fn is_contract_field(name: &str) -> bool {
    PROPERTIES.iter().any(|(field, _)| *field == name)
}

/// Contract field names in schema order.
pub fn contract_fields() -> impl Iterator<Item = &'static str> {
    PROPERTIES.iter().map(|(field, _)| *field)
}

pub fn validate(obj: &Map<String, Value>) -> Result<(), Refusal> {
    if let Some(missing) = REQUIRED.iter().find(|key| !obj.contains_key(key.as_str())) {
        return Err(Refusal::text(
            Reason::MissingField,
            format!("missing required field '{missing}'"),
        ));
    }
    for (field, rule) in &PROPERTIES {
        if let Some(value) = obj.get(*field) {
            check(field, rule, value)?;
        }
    }
    Ok(())
}

fn wrong_type(path: &str, expected: &str, value: &Value) -> Refusal {
    Refusal::text(
        Reason::WrongType,
        format!(
            "field '{path}' must be {expected}, got {}",
            type_name(value)
        ),
    )
}

fn invalid(path: &str, requirement: &str, value: &Value) -> Refusal {
    Refusal {
        reason: Reason::InvalidValue,
        detail: Detail::Preview {
            head: format!("field '{path}' {requirement}, got "),
            value: Box::new(value.clone()),
            tail: String::new(),
        },
    }
}

fn check_length(
    path: &str,
    s: &str,
    min: Option<usize>,
    max: Option<usize>,
    value: &Value,
) -> Result<(), Refusal> {
    if min.is_none() && max.is_none() {
        return Ok(());
    }
    let chars = s.chars().count();
    if let Some(min) = min.filter(|&min| chars < min) {
        return Err(invalid(
            path,
            &format!("must be longer than or equal to {min} characters"),
            value,
        ));
    }
    if let Some(max) = max.filter(|&max| chars > max) {
        return Err(invalid(
            path,
            &format!("must be shorter than or equal to {max} characters"),
            value,
        ));
    }
    Ok(())
}

/// `x < bound`, exactly, as Python compares floats with ints.
fn below(x: Num, bound: i128) -> bool {
    match x {
        Num::Int(i) => i < bound,
        Num::Float(f) if f.abs() >= 1e30 => f < 0.0,
        Num::Float(f) => (f.floor() as i128) < bound,
    }
}

/// `x > bound`, exactly.
fn above(x: Num, bound: i128) -> bool {
    match x {
        Num::Int(i) => i > bound,
        Num::Float(f) if f.abs() >= 1e30 => f > 0.0,
        Num::Float(f) if f.fract() == 0.0 => (f as i128) > bound,
        Num::Float(f) => (f.floor() as i128) >= bound,
    }
}

fn check_bounds(path: &str, x: Num, min: i128, max: i128, value: &Value) -> Result<(), Refusal> {
    if below(x, min) {
        return Err(invalid(
            path,
            &format!("must be bigger than or equal to {min}"),
            value,
        ));
    }
    if above(x, max) {
        return Err(invalid(
            path,
            &format!("must be smaller than or equal to {max}"),
            value,
        ));
    }
    Ok(())
}

/// The number of an integer-typed value (ints, and floats without a fraction, not booleans).
fn integer(path: &str, value: &Value) -> Result<Num, Refusal> {
    match value {
        Value::Number(n) => match num(n) {
            Num::Float(f) if f.fract() != 0.0 => Err(wrong_type(path, "integer", value)),
            x => Ok(x),
        },
        _ => Err(wrong_type(path, "integer", value)),
    }
}

fn check(path: &str, rule: &Rule, value: &Value) -> Result<(), Refusal> {
    match rule {
        Rule::Const => {
            if value.as_str() != Some(SCHEMA) {
                return Err(Refusal {
                    reason: Reason::InvalidValue,
                    detail: Detail::Preview {
                        head: "unsupported schema ".into(),
                        value: Box::new(value.clone()),
                        tail: format!("; this decoder reads '{SCHEMA}'"),
                    },
                });
            }
        }
        Rule::Text { min, max } => match value {
            Value::String(s) => check_length(path, s, *min, *max, value)?,
            _ => return Err(wrong_type(path, "string", value)),
        },
        Rule::TextOrNull { min, max } => match value {
            Value::String(s) => check_length(path, s, *min, *max, value)?,
            Value::Null => {}
            _ => return Err(wrong_type(path, "string or null", value)),
        },
        Rule::Timestamp { nullable } => match value {
            Value::String(s) => {
                if !DATE_TIME.is_match(s) {
                    return Err(Refusal {
                        reason: Reason::BadTimestamp,
                        detail: Detail::Preview {
                            head: format!("field '{path}': "),
                            value: Box::new(value.clone()),
                            tail: " is not an RFC 3339 date-time".into(),
                        },
                    });
                }
            }
            Value::Null if *nullable => {}
            _ => {
                let expected = if *nullable {
                    "string or null"
                } else {
                    "string"
                };
                return Err(wrong_type(path, expected, value));
            }
        },
        Rule::Integer { min, max } => {
            let x = integer(path, value)?;
            check_bounds(path, x, *min, *max, value)?;
        }
        Rule::Number { min, max } => match value {
            Value::Number(n) => check_bounds(path, num(n), *min, *max, value)?,
            _ => return Err(wrong_type(path, "number", value)),
        },
        Rule::Country => match value {
            Value::String(s) => {
                let b = s.as_bytes();
                if !(b.len() == 2 && b.iter().all(u8::is_ascii_uppercase)) {
                    return Err(invalid(path, "must match pattern ^[A-Z]{2}$", value));
                }
            }
            _ => return Err(wrong_type(path, "string", value)),
        },
        Rule::ResponseFormat => {
            if !value
                .as_str()
                .is_some_and(|s| RESPONSE_FORMATS.contains(&s))
            {
                return Err(invalid(
                    path,
                    "must be one of ['text', 'json_object', 'json_schema']",
                    value,
                ));
            }
        }
        Rule::Boolean => {
            if !value.is_boolean() {
                return Err(wrong_type(path, "boolean", value));
            }
        }
        Rule::Fingerprint => check_fingerprint(value)?,
    }
    Ok(())
}

fn check_fingerprint(value: &Value) -> Result<(), Refusal> {
    const PATH: &str = "prompt_fingerprint";
    let Value::Object(fp) = value else {
        return Err(wrong_type(PATH, "object", value));
    };
    for key in ["template_id", "minhash"] {
        if !fp.contains_key(key) {
            return Err(Refusal::text(
                Reason::MissingField,
                format!("missing required field '{PATH}.{key}'"),
            ));
        }
    }
    let template_id = &fp["template_id"];
    check("prompt_fingerprint.template_id", &text(1, 256), template_id)?;
    let minhash = &fp["minhash"];
    let Value::Array(items) = minhash else {
        return Err(wrong_type("prompt_fingerprint.minhash", "array", minhash));
    };
    if items.is_empty() {
        return Err(invalid(
            "prompt_fingerprint.minhash",
            "must contain at least 1 items",
            minhash,
        ));
    }
    if items.len() > 1024 {
        return Err(invalid(
            "prompt_fingerprint.minhash",
            "must contain less than or equal to 1024 items",
            minhash,
        ));
    }
    for (i, item) in items.iter().enumerate() {
        let path = format!("prompt_fingerprint.minhash[{i}]");
        let x = integer(&path, item)?;
        check_bounds(&path, x, 0, MINHASH_MAX, item)?;
    }
    if fp.len() > 2 {
        return Err(Refusal {
            reason: Reason::InvalidValue,
            detail: Detail::UnknownFingerprintKeys {
                keys: fp.keys().cloned().collect(),
                value: Box::new(value.clone()),
            },
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rules_cover_the_schema_properties_in_schema_order() {
        let schema: serde_json::Value = serde_json::from_str(SCHEMA_JSON).unwrap();
        let declared: Vec<&str> = schema["properties"]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(contract_fields().collect::<Vec<_>>(), declared);
        assert!(REQUIRED.iter().all(|field| is_contract_field(field)));
    }

    #[test]
    fn float_bounds_compare_exactly() {
        assert!(above(Num::Float(18446744073709551616.0), MINHASH_MAX));
        assert!(!above(Num::Float(2.0), 2));
        assert!(above(Num::Float(2.0000000001), 2));
        assert!(below(Num::Float(-0.5), 0));
        assert!(!below(Num::Float(-0.0), 0));
        assert!(below(Num::Float(99.9), 100));
    }

    #[test]
    fn date_time_format_is_fastjsonschemas() {
        assert!(DATE_TIME.is_match("2024-02-29T00:00:60+0100"));
        assert!(DATE_TIME.is_match("2024-01-01t00:00:00.123456789012z"));
        assert!(!DATE_TIME.is_match("2023-02-29T00:00:00Z"));
        assert!(!DATE_TIME.is_match("2024-01-01T00:00:00"));
        assert!(DATE_TIME.is_match("٢٠٢٤-01-01T00:00:00Z"));
    }
}
