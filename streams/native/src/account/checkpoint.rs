//! A profile as its checkpoint bytes and back: the JSON array `AccountState.to_bytes` wrote,
//! byte for byte (orjson's number and string forms), so checkpoints of either implementation
//! restore in the other.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde_json::Value;

use super::config::{Config, FAMILIES};
use super::pyfloat::{floordiv, write_json_float, write_json_str};
use super::sketch::{BottomK, Kmv};
use super::state::AccountState;

fn b64_u32(values: &[u32]) -> String {
    let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    STANDARD.encode(bytes)
}

fn unb64_u32(text: &str) -> Result<Vec<u32>, String> {
    let raw = STANDARD
        .decode(text)
        .map_err(|e| format!("bad base64 in account state: {e}"))?;
    if raw.len() % 4 != 0 {
        return Err(format!(
            "hash list of {} bytes is not a list of 32-bit hashes",
            raw.len()
        ));
    }
    Ok(raw
        .chunks_exact(4)
        .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect())
}

fn hours_to_text(hours: &[i64; 24], now_hour: i64) -> String {
    let ages: Vec<u8> = hours
        .iter()
        .map(|&h| {
            if h == 0 {
                255
            } else {
                (now_hour - h).clamp(0, 255) as u8
            }
        })
        .collect();
    STANDARD.encode(ages)
}

fn hours_from_text(text: &str, now_hour: i64) -> Result<[i64; 24], String> {
    let raw = STANDARD
        .decode(text)
        .map_err(|e| format!("bad base64 in account hours: {e}"))?;
    if raw.len() != 24 {
        return Err(format!("account hours hold {} bytes, not 24", raw.len()));
    }
    let mut hours = [0i64; 24];
    for (slot, age) in hours.iter_mut().zip(raw) {
        *slot = if age < 255 {
            now_hour - i64::from(age)
        } else {
            0
        };
    }
    Ok(hours)
}

fn opt_float(out: &mut String, v: Option<f64>) {
    match v {
        Some(v) => write_json_float(out, v),
        None => out.push_str("null"),
    }
}

fn push_int(out: &mut String, v: i64) {
    out.push_str(&v.to_string());
}

/// `AccountState.to_bytes`.
pub fn encode(s: &AccountState, out: &mut String) {
    let now_hour = floordiv(s.last_ts, 3600.0) as i64;
    out.push('[');
    write_json_str(out, &s.org_id);
    out.push(',');
    write_json_float(out, s.first_ts);
    out.push(',');
    write_json_float(out, s.last_ts);
    out.push(',');
    push_int(out, s.n);
    out.push(',');
    opt_float(out, s.created_at);
    out.push(',');
    write_json_float(out, s.gap_mean);
    out.push(',');
    write_json_float(out, s.gap_var);
    out.push(',');
    write_json_str(out, &hours_to_text(&s.hours, now_hour));
    out.push_str(",{");
    for (i, (name, count)) in s.categories.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_json_str(out, name);
        out.push(':');
        push_int(out, *count);
    }
    out.push_str("},[");
    let counts = [
        s.n_json,
        s.n_cot,
        s.n_429,
        s.prompt_tokens,
        s.completion_tokens,
    ];
    for (i, v) in counts.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        push_int(out, *v);
    }
    out.push_str("],[");
    for (i, k) in s.kmv.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_json_str(out, &b64_u32(&k.hashes));
    }
    out.push_str("],[");
    for (i, sample) in s.tokens.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push('[');
        for (j, (item, _)) in sample.items.iter().enumerate() {
            if j > 0 {
                out.push(',');
            }
            write_json_str(out, item);
        }
        out.push(']');
    }
    out.push_str("],");
    write_json_str(out, &b64_u32(&s.reported));
    out.push_str(",[");
    push_int(out, s.pending_tokens);
    out.push(',');
    push_int(out, s.last_snap_n);
    out.push(',');
    write_json_float(out, s.last_snap_ts);
    out.push(',');
    opt_float(out, s.reported_at);
    out.push_str("],[");
    write_json_str(out, &s.alerted_severity);
    out.push(',');
    push_int(out, s.alert_revision);
    out.push(',');
    write_json_float(out, s.last_risk);
    out.push_str("],[");
    for (i, sig) in s.signature_hits.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_json_str(out, sig);
    }
    out.push_str("]]");
}

fn bad(what: &str) -> String {
    format!("account state: {what}")
}

fn float(v: &Value, what: &str) -> Result<f64, String> {
    v.as_f64()
        .ok_or_else(|| bad(&format!("{what} is not a number")))
}

fn int(v: &Value, what: &str) -> Result<i64, String> {
    v.as_i64()
        .ok_or_else(|| bad(&format!("{what} is not an integer")))
}

fn opt(v: &Value, what: &str) -> Result<Option<f64>, String> {
    if v.is_null() {
        Ok(None)
    } else {
        float(v, what).map(Some)
    }
}

fn text<'a>(v: &'a Value, what: &str) -> Result<&'a str, String> {
    v.as_str()
        .ok_or_else(|| bad(&format!("{what} is not a string")))
}

fn array<'a>(v: &'a Value, len: Option<usize>, what: &str) -> Result<&'a Vec<Value>, String> {
    let items = v
        .as_array()
        .ok_or_else(|| bad(&format!("{what} is not an array")))?;
    if let Some(len) = len {
        if items.len() != len {
            return Err(bad(&format!(
                "{what} has {} items, expected {len}",
                items.len()
            )));
        }
    }
    Ok(items)
}

/// `AccountState.from_bytes` of the decoded JSON array.
pub fn decode(row: &Value, c: &Config) -> Result<AccountState, String> {
    let row = array(row, Some(16), "the state")?;
    let last_ts = float(&row[2], "last_ts")?;
    let now_hour = floordiv(last_ts, 3600.0) as i64;
    let categories = row[8]
        .as_object()
        .ok_or_else(|| bad("categories is not an object"))?
        .iter()
        .map(|(k, v)| Ok((k.as_str().into(), int(v, "a category count")?)))
        .collect::<Result<Vec<_>, String>>()?;
    let counts = array(&row[9], Some(5), "the counts")?;
    let kmv = array(&row[10], Some(3), "the KMV counters")?;
    let tokens = array(&row[11], Some(FAMILIES.len()), "the token samples")?;
    let snap = array(&row[13], Some(4), "the snapshot fields")?;
    let alerted = array(&row[14], Some(3), "the alert fields")?;
    let mut samples: [BottomK; 9] = Default::default();
    for (i, (slot, items)) in samples.iter_mut().zip(tokens).enumerate() {
        let items = array(items, None, "a token sample")?
            .iter()
            .map(|v| text(v, "a token").map(str::to_owned))
            .collect::<Result<Vec<_>, String>>()?;
        *slot = BottomK::from_items(c.family_caps[i], items);
    }
    let mut sketches: [Kmv; 3] = Default::default();
    for (slot, v) in sketches.iter_mut().zip(kmv) {
        *slot = Kmv::from_hashes(unb64_u32(text(v, "a KMV counter")?)?);
    }
    Ok(AccountState {
        org_id: text(&row[0], "org_id")?.into(),
        first_ts: float(&row[1], "first_ts")?,
        last_ts,
        n: int(&row[3], "n")?,
        created_at: opt(&row[4], "created_at")?,
        gap_mean: float(&row[5], "gap_mean")?,
        gap_var: float(&row[6], "gap_var")?,
        hours: hours_from_text(text(&row[7], "hours")?, now_hour)?,
        categories,
        n_json: int(&counts[0], "n_json")?,
        n_cot: int(&counts[1], "n_cot")?,
        n_429: int(&counts[2], "n_429")?,
        prompt_tokens: int(&counts[3], "prompt_tokens")?,
        completion_tokens: int(&counts[4], "completion_tokens")?,
        kmv: sketches,
        tokens: samples,
        reported: unb64_u32(text(&row[12], "reported")?)?,
        reported_at: opt(&snap[3], "reported_at")?,
        pending_tokens: int(&snap[0], "pending_tokens")?,
        last_snap_n: int(&snap[1], "last_snap_n")?,
        last_snap_ts: float(&snap[2], "last_snap_ts")?,
        alerted_severity: text(&alerted[0], "alerted_severity")?.into(),
        alert_revision: int(&alerted[1], "alert_revision")?,
        last_risk: float(&alerted[2], "last_risk")?,
        signature_hits: array(&row[15], None, "signature_hits")?
            .iter()
            .map(|v| text(v, "a signature id").map(Into::into))
            .collect::<Result<Vec<_>, String>>()?,
    })
}
