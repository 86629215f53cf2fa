//! Wire timestamps as `streams.timeparse.parse_timestamp` reads them, messages included.
//!
//! An RFC 3339 date-time with an explicit offset (`Z` or `±HH:MM`), 1 to 9 fraction digits
//! (beyond microseconds truncated, as `datetime.fromisoformat` does), and an instant inside
//! 1970-01-01T00:00:00Z..2100-01-01T00:00:00Z.

use std::sync::LazyLock;

use regex::Regex;
use time::{Date, Month};

pub const MIN_EPOCH: f64 = 0.0;
pub const MAX_EPOCH: f64 = 4_102_444_800.0;

static RFC3339: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{1,9})?(?:Z|[+-][0-9]{2}:[0-9]{2})\z",
    )
    .expect("valid pattern")
});

/// `repr` of a string without quotes, backslashes or unprintable characters.
fn quoted(text: &str) -> String {
    format!("'{text}'")
}

/// Epoch seconds of `text`, or the message of the `ValueError` Python raises.
///
/// `text` has passed the schema's date-time format, so it holds only digits and the
/// punctuation of a date-time, and its `repr` is the text in single quotes.
pub fn parse_timestamp(text: &str) -> Result<f64, String> {
    if !RFC3339.is_match(text) {
        let head: String = text.chars().take(64).collect();
        return Err(format!(
            "{} is not an RFC 3339 timestamp with a UTC offset",
            quoted(&head)
        ));
    }
    let b = text.as_bytes();
    let digits = |range: std::ops::Range<usize>| -> i64 {
        b[range]
            .iter()
            .fold(0i64, |acc, d| acc * 10 + i64::from(d - b'0'))
    };
    let (year, month, day) = (digits(0..4), digits(5..7), digits(8..10));
    let (hour, minute, second) = (digits(11..13), digits(14..16), digits(17..19));
    let mut pos = 19;
    let mut micros = 0i64;
    if b[pos] == b'.' {
        let start = pos + 1;
        pos = start;
        while b[pos].is_ascii_digit() {
            pos += 1;
        }
        let used = (pos - start).min(6);
        micros = digits(start..start + used) * 10i64.pow(6 - used as u32);
    }
    let offset_s = if b[pos] == b'Z' {
        0
    } else {
        let sign = if b[pos] == b'-' { -1 } else { 1 };
        sign * (digits(pos + 1..pos + 3) * 3600 + digits(pos + 4..pos + 6) * 60)
    };
    let invalid = |why: String| format!("{} is not a valid date and time: {why}", quoted(text));
    // datetime's own checks, in its order (date first, then time).
    if !(1..=9999).contains(&year) {
        return Err(invalid(format!("year {year} is out of range")));
    }
    if !(1..=12).contains(&month) {
        return Err(invalid("month must be in 1..12".into()));
    }
    let date = Month::try_from(month as u8)
        .ok()
        .and_then(|m| Date::from_calendar_date(year as i32, m, day as u8).ok());
    let Some(date) = date else {
        return Err(invalid("day is out of range for month".into()));
    };
    if hour > 23 {
        return Err(invalid("hour must be in 0..23".into()));
    }
    if minute > 59 {
        return Err(invalid("minute must be in 0..59".into()));
    }
    if second > 59 {
        return Err(invalid("second must be in 0..59".into()));
    }
    if offset_s.abs() >= 86_400 {
        return Err(invalid(
            "offset must be a timedelta strictly between -timedelta(hours=24) and timedelta(hours=24).".into(),
        ));
    }
    const UNIX_EPOCH_JULIAN_DAY: i64 = 2_440_588;
    let days = i64::from(date.to_julian_day()) - UNIX_EPOCH_JULIAN_DAY;
    let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offset_s;
    // timedelta.total_seconds(): integer microseconds divided by 10**6, correctly rounded;
    // both operands are exact in f64 for every date of years 1..9999.
    let epoch = (seconds * 1_000_000 + micros) as f64 / 1e6;
    if !(MIN_EPOCH..MAX_EPOCH).contains(&epoch) {
        return Err(format!(
            "{} is outside 1970-01-01T00:00:00Z..2100-01-01T00:00:00Z",
            quoted(text)
        ));
    }
    Ok(epoch)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_as_python() {
        assert_eq!(
            parse_timestamp("2024-01-01T00:00:00.1234567Z"),
            Ok(1704067200.123456)
        );
        assert_eq!(
            parse_timestamp("2024-01-01T00:00:00.123456789+05:30"),
            Ok(1704047400.123456)
        );
        assert_eq!(
            parse_timestamp("2024-02-29T12:00:00-23:59"),
            Ok(1709294340.0)
        );
        assert_eq!(parse_timestamp("2024-01-01T00:00:00.5Z"), Ok(1704067200.5));
    }

    #[test]
    fn refuses_with_pythons_messages() {
        assert_eq!(
            parse_timestamp("0000-01-01T00:00:00Z").unwrap_err(),
            "'0000-01-01T00:00:00Z' is not a valid date and time: year 0 is out of range"
        );
        assert_eq!(
            parse_timestamp("2024-01-01T00:00:60Z").unwrap_err(),
            "'2024-01-01T00:00:60Z' is not a valid date and time: second must be in 0..59"
        );
        assert_eq!(
            parse_timestamp("2100-01-01T00:00:00Z").unwrap_err(),
            "'2100-01-01T00:00:00Z' is outside 1970-01-01T00:00:00Z..2100-01-01T00:00:00Z"
        );
        assert_eq!(
            parse_timestamp("2024-01-01t00:00:00Z").unwrap_err(),
            "'2024-01-01t00:00:00Z' is not an RFC 3339 timestamp with a UTC offset"
        );
    }
}
