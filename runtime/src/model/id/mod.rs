//! Ids. Our event ids, here: 64 random bits from a per-thread generator seeded once per
//! thread. OpenTelemetry's trace and span ids, derived from ours ([`otel`]), and the W3C
//! trace context that carries them between processes ([`trace_context`]).
//!
//! Formatting to hex happens on the background thread; the hot path only advances a
//! counter-based mixer (SplitMix64), which is a handful of instructions.

pub(crate) mod otel;
pub(crate) mod trace_context;

use std::cell::Cell;
use std::hash::{BuildHasher, Hasher};

thread_local! {
    static STATE: Cell<u64> = const { Cell::new(0) };
}

fn seed() -> u64 {
    // RandomState is keyed from the OS once per process, then per-instance derived; mixing
    // in the pid and time keeps ids of concurrently started processes apart too.
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u32(std::process::id());
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
    );
    h.finish() | 1
}

/// A new non-zero event id.
// Always inlined, and through `get`/`set` rather than a closure: as a separate `with`
// call it stops being inlined once the caller grows, and costs a call on every event.
#[inline(always)]
pub(crate) fn next() -> u64 {
    let mut x = STATE.get();
    if x == 0 {
        x = seed();
    }
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    STATE.set(x);
    let mut z = x;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    if z == 0 { 1 } else { z }
}

/// The wire form of an id: 16 lowercase hex digits.
pub(crate) fn format(id: u64) -> String {
    format!("{id:016x}")
}

/// An id of ours back from its wire form; `None` for any other text.
pub(crate) fn parse(wire: &str) -> Option<u64> {
    let hex = wire.len() == 16 && wire.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    hex.then(|| u64::from_str_radix(wire, 16).ok())
        .flatten()
        .filter(|&id| id != 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn ids_are_unique_across_threads() {
        let handles: Vec<_> = (0..4)
            .map(|_| std::thread::spawn(|| (0..10_000).map(|_| next()).collect::<Vec<_>>()))
            .collect();
        let mut all = HashSet::new();
        for h in handles {
            for id in h.join().unwrap_or_default() {
                assert!(all.insert(id), "duplicate id {id:x}");
            }
        }
        assert_eq!(all.len(), 40_000);
    }

    #[test]
    fn format_is_fixed_width_hex() {
        assert_eq!(format(0xab), "00000000000000ab");
    }
}
