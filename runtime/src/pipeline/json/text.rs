//! JSON primitives into a `Vec<u8>`, spelled as serde_json spells them: strings escaped
//! (quote, backslash and control characters; everything else as is), integers through
//! `itoa`, floats through `zmij` (both are what serde_json uses).

use crate::wire::TagValue;

/// Whether byte `b` needs an escape inside a JSON string.
const fn needs_escape(b: u8) -> bool {
    b < 0x20 || b == b'"' || b == b'\\'
}

/// `s` as a quoted JSON string.
#[inline]
pub(crate) fn string(buf: &mut Vec<u8>, s: &str) {
    buf.reserve(s.len() + 2);
    buf.push(b'"');
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        if !needs_escape(b) {
            continue;
        }
        buf.extend_from_slice(&bytes[start..i]);
        escape(buf, b);
        start = i + 1;
    }
    buf.extend_from_slice(&bytes[start..]);
    buf.push(b'"');
}

#[cold]
fn escape(buf: &mut Vec<u8>, b: u8) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    match b {
        b'"' => buf.extend_from_slice(b"\\\""),
        b'\\' => buf.extend_from_slice(b"\\\\"),
        b'\n' => buf.extend_from_slice(b"\\n"),
        b'\r' => buf.extend_from_slice(b"\\r"),
        b'\t' => buf.extend_from_slice(b"\\t"),
        0x08 => buf.extend_from_slice(b"\\b"),
        0x0c => buf.extend_from_slice(b"\\f"),
        _ => buf.extend_from_slice(&[
            b'\\',
            b'u',
            b'0',
            b'0',
            HEX[usize::from(b >> 4)],
            HEX[usize::from(b & 0xf)],
        ]),
    }
}

/// An event id as the wire spells it: 16 lowercase hex digits, quoted.
#[inline]
pub(crate) fn hex_id(buf: &mut Vec<u8>, id: u64) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = [b'"'; 18];
    for (i, slot) in out[1..17].iter_mut().enumerate() {
        *slot = HEX[((id >> (60 - 4 * i)) & 0xf) as usize];
    }
    buf.extend_from_slice(&out);
}

/// Bytes as lowercase hex, quoted (OTLP/JSON trace and span ids).
pub(crate) fn hex_bytes(buf: &mut Vec<u8>, bytes: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    buf.push(b'"');
    for b in bytes {
        buf.extend_from_slice(&[HEX[usize::from(b >> 4)], HEX[usize::from(b & 0xf)]]);
    }
    buf.push(b'"');
}

/// An unsigned integer.
#[inline]
pub(crate) fn uint(buf: &mut Vec<u8>, v: u64) {
    buf.extend_from_slice(itoa::Buffer::new().format(v).as_bytes());
}

/// A signed integer.
#[inline]
pub(crate) fn int(buf: &mut Vec<u8>, v: i64) {
    buf.extend_from_slice(itoa::Buffer::new().format(v).as_bytes());
}

/// A finite float, as serde_json writes an `f64`.
#[inline]
pub(crate) fn float(buf: &mut Vec<u8>, v: f64) {
    buf.extend_from_slice(zmij::Buffer::new().format_finite(v).as_bytes());
}

/// A finite metric value: whole numbers up to 2^53 as integers, as `wire::Metric` writes
/// them.
#[inline]
pub(crate) fn metric(buf: &mut Vec<u8>, v: f64) {
    const EXACT: f64 = 9_007_199_254_740_992.0; // 2^53
    if v.fract() == 0.0 && v.abs() <= EXACT {
        // In range and whole, so the cast is exact.
        int(buf, v as i64);
    } else {
        float(buf, v);
    }
}

/// A tag value; the caller has dropped non-finite floats.
#[inline]
pub(crate) fn tag_value(buf: &mut Vec<u8>, v: &TagValue) {
    match v {
        TagValue::Int(i) => int(buf, *i),
        TagValue::UInt(u) => uint(buf, *u),
        TagValue::Float(f) => float(buf, *f),
        TagValue::Str(s) => string(buf, s),
    }
}

/// `{"k":key,"v":value}`.
#[inline]
pub(crate) fn tag(buf: &mut Vec<u8>, k: &str, v: &TagValue) {
    buf.extend_from_slice(b"{\"k\":");
    string(buf, k);
    buf.extend_from_slice(b",\"v\":");
    tag_value(buf, v);
    buf.push(b'}');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn serde<T: serde::Serialize + ?Sized>(v: &T) -> String {
        serde_json::to_string(v).unwrap_or_default()
    }

    fn ours(f: impl FnOnce(&mut Vec<u8>)) -> String {
        let mut buf = Vec::new();
        f(&mut buf);
        String::from_utf8(buf).unwrap_or_default()
    }

    #[test]
    fn strings_escape_exactly_as_serde_json_does() {
        let mut all_bytes = String::new();
        for c in (0u8..0x80).map(char::from) {
            all_bytes.push(c);
        }
        for s in [
            "",
            "plain",
            "quote \" and backslash \\ and slash /",
            "\u{0}\u{1}\u{8}\u{9}\u{a}\u{b}\u{c}\u{d}\u{1f}\u{7f}",
            "unicode é ü 日本 🦀 \u{2028}\u{2029}",
            &all_bytes,
        ] {
            assert_eq!(ours(|b| string(b, s)), serde(s), "{s:?}");
        }
    }

    #[test]
    fn ids_are_sixteen_hex_digits() {
        for id in [0, 1, 0xab, u64::MAX, 0x0123_4567_89ab_cdef] {
            assert_eq!(ours(|b| hex_id(b, id)), serde(&crate::id::format(id)));
        }
    }

    #[test]
    fn numbers_match_serde_json() {
        for v in [0i64, -1, 42, i64::MIN, i64::MAX] {
            assert_eq!(ours(|b| int(b, v)), serde(&v));
        }
        for v in [0u64, u64::MAX, 1 << 63] {
            assert_eq!(ours(|b| uint(b, v)), serde(&v));
        }
        for v in [
            0.0,
            -0.0,
            0.5,
            1.0,
            -3.25,
            1e300,
            5e-324,
            f64::MAX,
            9_007_199_254_740_993.0,
        ] {
            assert_eq!(ours(|b| float(b, v)), serde(&v));
            let m = crate::wire::Metric {
                k: String::new(),
                v,
            };
            assert_eq!(
                ours(|b| {
                    b.extend_from_slice(b"{\"k\":\"\",\"v\":");
                    metric(b, v);
                    b.push(b'}');
                }),
                serde(&m),
                "{v}"
            );
        }
    }
}
