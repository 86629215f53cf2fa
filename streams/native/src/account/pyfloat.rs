//! Python's float arithmetic and orjson's JSON text where Rust's differ, so profiles computed
//! here equal the former Python ones bit for bit and their checkpoints byte for byte.

/// `a // b` of two Python floats (CPython's `float_floor_div`, finite operands).
pub fn floordiv(a: f64, b: f64) -> f64 {
    let m = a % b; // C fmod
    let mut div = (a - m) / b;
    if m != 0.0 && ((b < 0.0) != (m < 0.0)) {
        div -= 1.0;
    }
    if div != 0.0 {
        let floor = div.floor();
        if div - floor > 0.5 {
            floor + 1.0
        } else {
            floor
        }
    } else {
        0.0f64.copysign(a / b)
    }
}

/// `max(a, b)`: the first argument unless the second is greater.
pub fn max(a: f64, b: f64) -> f64 {
    if b > a {
        b
    } else {
        a
    }
}

/// `min(a, b)`: the first argument unless the second is smaller.
pub fn min(a: f64, b: f64) -> f64 {
    if b < a {
        b
    } else {
        a
    }
}

/// Shortest round-trip digits and decimal exponent of a finite non-zero `|v|`:
/// `v = 0.d1d2... * 10^(exp + 1)`, i.e. `d1.d2... * 10^exp`.
fn shortest(v: f64) -> (String, i32) {
    let text = format!("{:e}", v.abs());
    let (mantissa, exp) = text.split_once('e').expect("LowerExp has an exponent");
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    (digits, exp.parse().expect("integer exponent"))
}

/// `orjson.dumps` of a float: fixed notation for exponents -5..=15, else `d.ddde±x`;
/// non-finite values are `null`.
pub fn write_json_float(out: &mut String, v: f64) {
    if !v.is_finite() {
        out.push_str("null");
        return;
    }
    if v == 0.0 {
        out.push_str(if v.is_sign_negative() { "-0.0" } else { "0.0" });
        return;
    }
    if v < 0.0 {
        out.push('-');
    }
    let (digits, exp) = shortest(v);
    if (-5..=15).contains(&exp) {
        fixed(out, &digits, exp);
    } else {
        out.push_str(&digits[..1]);
        if digits.len() > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        out.push('e');
        if exp > 0 {
            out.push('+');
        }
        out.push_str(&exp.to_string());
    }
}

fn fixed(out: &mut String, digits: &str, exp: i32) {
    if exp < 0 {
        out.push_str("0.");
        for _ in 0..(-exp - 1) {
            out.push('0');
        }
        out.push_str(digits);
    } else {
        let int_len = exp as usize + 1;
        if digits.len() <= int_len {
            out.push_str(digits);
            for _ in digits.len()..int_len {
                out.push('0');
            }
            out.push_str(".0");
        } else {
            out.push_str(&digits[..int_len]);
            out.push('.');
            out.push_str(&digits[int_len..]);
        }
    }
}

/// `orjson.dumps` of a str: `"`, `\` and control characters escaped, nothing else.
pub fn write_json_str(out: &mut String, s: &str) {
    out.push('"');
    let mut start = 0;
    for (i, b) in s.bytes().enumerate() {
        let esc: Option<&str> = match b {
            b'"' => Some("\\\""),
            b'\\' => Some("\\\\"),
            b'\n' => Some("\\n"),
            b'\t' => Some("\\t"),
            b'\r' => Some("\\r"),
            0x08 => Some("\\b"),
            0x0c => Some("\\f"),
            0..=0x1f => None,
            _ => continue,
        };
        out.push_str(&s[start..i]);
        match esc {
            Some(e) => out.push_str(e),
            None => out.push_str(&format!("\\u{:04x}", b)),
        }
        start = i + 1;
    }
    out.push_str(&s[start..]);
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json(v: f64) -> String {
        let mut s = String::new();
        write_json_float(&mut s, v);
        s
    }

    #[test]
    fn floats_as_orjson_writes_them() {
        let cases = [
            (1e15, "1000000000000000.0"),
            (1e16, "1e+16"),
            (1.25e16, "1.25e+16"),
            (1e-5, "0.00001"),
            (1.5e-5, "0.000015"),
            (1e-6, "1e-6"),
            (1.234e-7, "1.234e-7"),
            (1_735_689_600.123_456, "1735689600.123456"),
            (0.0, "0.0"),
            (-0.0, "-0.0"),
            (-1.5e-5, "-0.000015"),
            (1.797_693_134_862_315_7e308, "1.7976931348623157e+308"),
            (0.1, "0.1"),
            (3.0, "3.0"),
        ];
        for (v, want) in cases {
            assert_eq!(json(v), want, "{v:e}");
        }
    }

    #[test]
    fn strings_as_orjson_writes_them() {
        let mut s = String::new();
        write_json_str(&mut s, "a\n\t\u{8}\u{c}\r\u{0}\u{1f}\u{b}\u{7f}\"\\/é");
        assert_eq!(
            s,
            "\"a\\n\\t\\b\\f\\r\\u0000\\u001f\\u000b\u{7f}\\\"\\\\/é\""
        );
    }

    #[test]
    fn floor_division_is_pythons() {
        assert_eq!(floordiv(7200.0, 3600.0), 2.0);
        assert_eq!(floordiv(7199.999, 3600.0), 1.0);
        assert_eq!(floordiv(1_735_689_600.5, 3600.0), 482_136.0);
    }
}
