//! OpenTelemetry ids for our events: a trace id per chain, a span id per event, so that
//! every sink and every process agrees on what belongs together without talking.
//!
//! - A chain id that is itself a W3C trace id (32 hex digits: the chain of a process that
//!   joined a `TRACEPARENT`) is that trace id.
//! - One of our own chain ids (16 hex digits, a 64-bit event id) is that id left-padded with
//!   zeros, the way 64-bit trace ids are widened: reversible and never all zeros.
//! - Any other chain id (given by hand, e.g. `EventContext::from_ids`) is hashed.
//!
//! Span ids are our 64-bit event ids; an event id that is not 16 hex digits is hashed.

use trunk_ci_analytics_rules::fnv1a64;

/// The 16-byte trace id of the chain `chain_id`.
pub(crate) fn trace_id(chain_id: &str) -> [u8; 16] {
    if let Some(bytes) = hex::<16>(chain_id) {
        if bytes != [0; 16] {
            return bytes;
        }
    }
    if let Some(low) = hex::<8>(chain_id) {
        if low != [0; 8] {
            let mut out = [0; 16];
            out[8..].copy_from_slice(&low);
            return out;
        }
    }
    let mut out = [0; 16];
    out[..8].copy_from_slice(&nonzero(fnv1a64(
        &[b"trace\0", chain_id.as_bytes()].concat(),
    )));
    out[8..].copy_from_slice(&nonzero(fnv1a64(chain_id.as_bytes())));
    out
}

/// The 8-byte span id of one of our events.
pub(crate) fn span_id(event_id: u64) -> [u8; 8] {
    nonzero(event_id)
}

/// The 8-byte span id of an event known by its wire id (a parent in another process).
pub(crate) fn span_id_of(event_id: &str) -> [u8; 8] {
    match hex::<8>(event_id) {
        Some(bytes) if bytes != [0; 8] => bytes,
        _ => nonzero(fnv1a64(event_id.as_bytes())),
    }
}

fn nonzero(v: u64) -> [u8; 8] {
    (if v == 0 { 1 } else { v }).to_be_bytes()
}

/// `s` as exactly `N` bytes of lowercase or uppercase hex.
pub(crate) fn hex<const N: usize>(s: &str) -> Option<[u8; N]> {
    let s = s.as_bytes();
    if s.len() != 2 * N {
        return None;
    }
    let mut out = [0u8; N];
    for (i, pair) in s.chunks_exact(2).enumerate() {
        let digit = |c: u8| char::from(c).to_digit(16);
        out[i] = u8::try_from(digit(pair[0])? * 16 + digit(pair[1])?).ok()?;
    }
    Some(out)
}

/// Lowercase hex of `bytes`.
pub(crate) fn to_hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_chain_always_gives_the_same_trace_id() {
        assert_eq!(
            to_hex(&trace_id("0123456789abcdef")),
            "00000000000000000123456789abcdef"
        );
        let joined = "4bf92f3577b34da6a3ce929d0e0e4736";
        assert_eq!(to_hex(&trace_id(joined)), joined);
        let by_hand = trace_id("root-1");
        assert_eq!(by_hand, trace_id("root-1"));
        assert_ne!(by_hand, trace_id("root-2"));
        assert_ne!(by_hand, [0; 16]);
        assert_ne!(trace_id("00000000000000000000000000000000"), [0; 16]);
    }

    #[test]
    fn span_ids_are_event_ids() {
        assert_eq!(to_hex(&span_id(0xab)), "00000000000000ab");
        assert_eq!(span_id_of("00000000000000ab"), span_id(0xab));
        assert_ne!(span_id_of("step-2"), [0; 8]);
        assert_ne!(span_id(0), [0; 8]);
    }
}
