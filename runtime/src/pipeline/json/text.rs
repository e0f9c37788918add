//! JSON primitives into a `Vec<u8>`, spelled as serde_json spells them: strings escaped
//! (quote, backslash and control characters; everything else as is), integers through
//! `itoa`, floats through `zmij` (both are what serde_json uses).

use crate::model::wire::TagValue;

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
#[inline(always)]
pub(crate) fn hex_id(buf: &mut Vec<u8>, id: u64) {
    // Each half as eight ASCII digits in a register, stored whole: digits written one byte
    // at a time and then copied stall the copy's wide loads on store forwarding.
    buf.push(b'"');
    buf.extend_from_slice(&hex8((id >> 32) as u32).to_le_bytes());
    buf.extend_from_slice(&hex8(id as u32).to_le_bytes());
    buf.push(b'"');
}

/// `v` as eight lowercase hex digits, most significant first in memory order.
#[inline(always)]
fn hex8(v: u32) -> u64 {
    // Spread the nibbles to one per byte (least significant first), then reverse.
    let mut x = u64::from(v);
    x = (x | (x << 16)) & 0x0000_ffff_0000_ffff;
    x = (x | (x << 8)) & 0x00ff_00ff_00ff_00ff;
    x = (x | (x << 4)) & 0x0f0f_0f0f_0f0f_0f0f;
    x = x.swap_bytes();
    // 1 in each byte holding 10 or more: those skip from '9' + 1 to 'a'.
    let letters = ((x + 0x0606_0606_0606_0606) >> 4) & 0x0101_0101_0101_0101;
    x + 0x3030_3030_3030_3030 + letters * u64::from(b'a' - b'0' - 10)
}

/// `v` (below 10^8) as eight decimal digits, zero-padded, most significant first in memory
/// order.
#[inline(always)]
fn dec8(v: u32) -> u64 {
    // Lanes of four digits, then two, then one, each split by a multiply and a shift
    // (exact in these ranges: the tests check every value).
    let mut x = u64::from(v / 10_000) | (u64::from(v % 10_000) << 32);
    let hundreds = ((x * 5243) >> 19) & 0x0000_007f_0000_007f;
    x = hundreds | ((x - hundreds * 100) << 16);
    let tens = ((x * 103) >> 10) & 0x000f_000f_000f_000f;
    x = tens | ((x - tens * 10) << 8);
    x | 0x3030_3030_3030_3030
}

/// A millisecond timestamp: 13 digits from 2001 to 2286, written whole; itoa otherwise.
#[inline]
pub(crate) fn epoch_ms(buf: &mut Vec<u8>, v: u64) {
    match Epoch13::of(v) {
        Some(digits) => digits.write(buf),
        None => uint(buf, v),
    }
}

/// `,"createdAt":created,"finishedAt":finished`; the digits are made once when both are
/// the same millisecond (most events).
#[inline(always)]
pub(crate) fn created_finished(buf: &mut Vec<u8>, created: u64, finished: u64) {
    buf.extend_from_slice(b",\"createdAt\":");
    match Epoch13::of(created) {
        Some(digits) if created == finished => {
            digits.write(buf);
            buf.extend_from_slice(b",\"finishedAt\":");
            digits.write(buf);
        }
        _ => {
            epoch_ms(buf, created);
            buf.extend_from_slice(b",\"finishedAt\":");
            epoch_ms(buf, finished);
        }
    }
}

/// A 13-digit number's ASCII digits, in two words.
#[derive(Clone, Copy)]
struct Epoch13(u64, u64);

impl Epoch13 {
    #[inline(always)]
    fn of(v: u64) -> Option<Epoch13> {
        // Both parts are below 10^8, so the casts are exact.
        (1_000_000_000_000..10_000_000_000_000)
            .contains(&v)
            .then(|| Epoch13(dec8((v / 100_000) as u32), dec8((v % 100_000) as u32) >> 24))
    }

    #[inline(always)]
    fn write(self, buf: &mut Vec<u8>) {
        buf.extend_from_slice(&self.0.to_le_bytes());
        // The low five digits: eight bytes stored whole, the three past them cut.
        buf.extend_from_slice(&self.1.to_le_bytes());
        buf.truncate(buf.len() - 3);
    }
}

/// `ns` nanoseconds as milliseconds: the exact decimal, without trailing zeros (whole
/// milliseconds as an integer). Parsed, it is the `f64` nearest to `ns / 10^6`, as
/// `ns as f64 / 1e6` is.
#[inline(always)]
pub(crate) fn ns_as_ms(buf: &mut Vec<u8>, ns: u64) {
    uint(buf, ns / 1_000_000);
    let frac = (ns % 1_000_000) as u32;
    if frac == 0 {
        return;
    }
    // ".dddddd": the fraction's six digits (the low six of eight) after the point.
    let digits = ((dec8(frac) >> 16) << 8) | u64::from(b'.');
    // The last byte is empty, then come the trailing zeros: all cut once stored whole.
    let cut = (digits ^ 0x0030_3030_3030_3000).leading_zeros() / 8;
    buf.extend_from_slice(&digits.to_le_bytes());
    buf.truncate(buf.len() - cut as usize);
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
            assert_eq!(
                ours(|b| hex_id(b, id)),
                serde(&crate::model::id::format(id))
            );
        }
    }

    #[test]
    fn hex_ids_match_the_formatter_for_many_ids() {
        let mut id = 0x9e37_79b9_7f4a_7c15_u64;
        for _ in 0..10_000 {
            id = id.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            assert_eq!(ours(|b| hex_id(b, id)), format!("\"{id:016x}\""));
        }
    }

    #[test]
    fn eight_digits_are_exact_across_the_range() {
        // Every split the lanes make (below 10^4 and 10^2) is checked exhaustively by
        // stepping through each position's digits.
        for v in (0..100_000_000u32)
            .step_by(9_973)
            .chain([0, 1, 99, 100, 9_999, 10_000])
            .chain((0..10_000).map(|i| i * 10_001))
            .chain([99_999_999])
        {
            assert_eq!(dec8(v).to_le_bytes(), *format!("{v:08}").as_bytes(), "{v}");
        }
    }

    #[test]
    fn timestamps_match_itoa() {
        for v in [
            0,
            7,
            999_999_999_999,
            1_000_000_000_000,
            1_796_112_540_640,
            1_796_112_500_000,
            9_999_999_999_999,
            10_000_000_000_000,
            u64::MAX,
        ] {
            assert_eq!(ours(|b| epoch_ms(b, v)), v.to_string(), "{v}");
            for w in [v, v.saturating_add(1)] {
                assert_eq!(
                    ours(|b| created_finished(b, v, w)),
                    format!(r#","createdAt":{v},"finishedAt":{w}"#)
                );
            }
        }
        let mut v = 1_700_000_000_000u64;
        for _ in 0..10_000 {
            v += 12_345_679;
            assert_eq!(ours(|b| epoch_ms(b, v)), v.to_string());
        }
    }

    #[test]
    fn nanoseconds_as_milliseconds_are_exact_and_parse_to_the_nearest_f64() {
        for (ns, text) in [
            (0, "0"),
            (17, "0.000017"),
            (1_000_000, "1"),
            (1_500_000, "1.5"),
            (123_456_789, "123.456789"),
            (100_000, "0.1"),
            (10, "0.00001"),
            (u64::MAX, "18446744073709.551615"),
        ] {
            assert_eq!(ours(|b| ns_as_ms(b, ns)), text);
        }
        let mut ns = 1u64;
        for _ in 0..20_000 {
            ns = ns
                .wrapping_mul(2_862_933_555_777_941_757)
                .wrapping_add(3_037_000_493)
                >> 12;
            let text = ours(|b| ns_as_ms(b, ns));
            let parsed: f64 = serde_json::from_str(&text).unwrap_or(f64::NAN);
            assert_eq!(parsed, ns as f64 / 1e6, "{ns} as {text}");
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
            let m = crate::model::wire::Metric {
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
