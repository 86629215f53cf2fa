//! Parsing a record value as orjson does: same accepted documents, same numbers.
//!
//! serde_json (with `arbitrary_precision`, so each number keeps its text) parses; numbers are
//! then read as orjson reads them: an integer literal is an int when it fits 64 bits (signed or
//! unsigned) and a float otherwise, `-0` is the int 0, and a float that overflows to infinity
//! refuses the document.  orjson refuses documents nested deeper than 1024 levels, which is
//! checked before parsing (so parsing never recurses deeper than that).

use serde::Deserialize;

pub type Value = serde_json::Value;

/// Most nesting orjson accepts (arrays and objects).
pub const MAX_JSON_DEPTH: usize = 1024;

/// A JSON number as orjson turns it into a Python number.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Num {
    Int(i128),
    Float(f64),
}

/// The Python value of a number's text (as written in a valid JSON document).
pub fn num(number: &serde_json::Number) -> Num {
    let text = number.as_str();
    if !text.bytes().any(|b| matches!(b, b'.' | b'e' | b'E')) {
        if let Ok(int) = text.parse::<i64>() {
            return Num::Int(int.into());
        }
        if let Ok(int) = text.parse::<u64>() {
            return Num::Int(int.into());
        }
    }
    // Rust's float parsing rounds correctly, as orjson's does.
    Num::Float(text.parse::<f64>().unwrap_or(f64::INFINITY))
}

/// Python type name of a JSON value as `streams.codecs._json_type` gives it.
pub fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) => match num(n) {
            Num::Int(_) => "integer",
            Num::Float(_) => "number",
        },
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Why a document is not JSON orjson would load (the Python decoder shows orjson's wording).
#[derive(Debug, Clone, PartialEq)]
pub struct SyntaxError(pub String);

/// Parse `text` as orjson would accept it.
pub fn parse(text: &str) -> Result<Value, SyntaxError> {
    if nesting_exceeds(text.as_bytes(), MAX_JSON_DEPTH) {
        return Err(SyntaxError("depth limit exceeded".into()));
    }
    let mut de = serde_json::Deserializer::from_str(text);
    de.disable_recursion_limit();
    // Deep documents (up to orjson's 1024 levels) grow the stack on the heap as needed.
    let value = if bracket_count(text.as_bytes()) > SHALLOW {
        Value::deserialize(serde_stacker::Deserializer::new(&mut de))
    } else {
        Value::deserialize(&mut de)
    }
    .map_err(|e| SyntaxError(e.to_string()))?;
    de.end().map_err(|e| SyntaxError(e.to_string()))?;
    if has_infinite_number(&value) {
        return Err(SyntaxError(
            "number is infinity when parsed as double".into(),
        ));
    }
    Ok(value)
}

/// Nesting up to which parsing recurses on the thread's own stack.
const SHALLOW: usize = 64;

fn bracket_count(bytes: &[u8]) -> usize {
    bytes.iter().filter(|&&b| b == b'[' || b == b'{').count()
}

/// Whether brackets outside strings nest deeper than `limit` (cheap when few brackets).
fn nesting_exceeds(bytes: &[u8], limit: usize) -> bool {
    if bracket_count(bytes) <= limit {
        return false;
    }
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    for &b in bytes {
        if in_string {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > limit {
                    return true;
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    false
}

fn has_infinite_number(value: &Value) -> bool {
    let mut pending = vec![value];
    while let Some(value) = pending.pop() {
        match value {
            Value::Number(n) => {
                if let Num::Float(f) = num(n) {
                    if f.is_infinite() {
                        return true;
                    }
                }
            }
            Value::Array(items) => pending.extend(items),
            Value::Object(map) => pending.extend(map.values()),
            _ => {}
        }
    }
    false
}

/// Whether arrays and objects nest more than `limit` levels deep in `value`.
pub fn nests_deeper(value: &Value, limit: usize) -> bool {
    let mut pending = vec![(value, 1usize)];
    while let Some((value, depth)) = pending.pop() {
        let children: Box<dyn Iterator<Item = &Value>> = match value {
            Value::Array(items) => Box::new(items.iter()),
            Value::Object(map) => Box::new(map.values()),
            _ => continue,
        };
        if depth > limit {
            return true;
        }
        pending.extend(children.map(|child| (child, depth + 1)));
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_as_orjson_reads_them() {
        let v = parse(r#"[1, -0, 1.0, 18446744073709551615, 18446744073709551616, -9223372036854775809, 4.9e-325]"#).unwrap();
        let nums: Vec<Num> = v
            .as_array()
            .unwrap()
            .iter()
            .map(|n| num(n.as_number().unwrap()))
            .collect();
        assert_eq!(
            nums,
            vec![
                Num::Int(1),
                Num::Int(0),
                Num::Float(1.0),
                Num::Int(u64::MAX.into()),
                Num::Float(18446744073709551616.0),
                Num::Float(-9223372036854775809.0),
                Num::Float(0.0),
            ]
        );
        assert!(parse("1e400").is_err());
        assert!(parse("[1,]").is_err());
    }

    #[test]
    fn depth_limit_is_orjsons() {
        let ok = format!("{}{}", "[".repeat(1024), "]".repeat(1024));
        let deep = format!("{}{}", "[".repeat(1025), "]".repeat(1025));
        assert!(parse(&ok).is_ok());
        assert!(parse(&deep).is_err());
        let in_string = format!("[\"{}\"]", "[".repeat(5000));
        assert!(parse(&in_string).is_ok());
    }
}
