//! Timestamps for the hot path.
//!
//! The wall clock is read once per process; every event time is that anchor plus a
//! monotonic offset. A monotonic read is cheaper than `SystemTime::now()`, and events of
//! one process can never appear to run backwards when NTP steps the wall clock.

use std::sync::LazyLock;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

struct Anchor {
    instant: Instant,
    wall_ns: u128,
}

static ANCHOR: LazyLock<Anchor> = LazyLock::new(|| {
    let instant = Instant::now();
    let wall_ns = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    Anchor { instant, wall_ns }
});

/// Nanoseconds since the process anchor.
#[inline]
pub(crate) fn now() -> u64 {
    let anchor = &*ANCHOR;
    // u64 nanoseconds cover 584 years of process lifetime.
    anchor.instant.elapsed().as_nanos() as u64
}

/// Milliseconds since the Unix epoch for a [`now`] reading.
pub(crate) fn epoch_ms(t: u64) -> u64 {
    ((ANCHOR.wall_ns + u128::from(t)) / 1_000_000) as u64
}

/// Forces the anchor so the first event does not pay for it.
pub(crate) fn warm_up() {
    LazyLock::force(&ANCHOR);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readings_are_monotonic_and_map_to_the_wall_clock() {
        let a = now();
        let b = now();
        assert!(b >= a);
        let wall_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0);
        let ms = epoch_ms(b);
        assert!(ms.abs_diff(wall_ms) < 5_000, "{ms} vs {wall_ms}");
    }
}
