//! When to try a failed request again: capped exponential backoff with jitter, and the
//! server's `Retry-After`.

use std::hash::{BuildHasher, Hasher};
use std::time::Duration;
#[cfg(feature = "upload")]
use std::time::SystemTime;

/// First retry waits about this long; each further one doubles it.
const BASE: Duration = Duration::from_millis(200);
/// Longest backoff between two attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(5);
/// Longest `Retry-After` honoured: a server asking for more gets this, and what does not fit
/// in the process's life waits in the spool instead.
#[cfg(feature = "upload")]
pub(crate) const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);

/// Wait before retry number `retry` (1-based): "equal jitter", uniformly in `[d/2, d]` where
/// `d` doubles from [`BASE`] up to [`MAX_BACKOFF`], so processes that failed together do not
/// retry together, and no retry comes back right away.
pub(crate) fn backoff(retry: u32, jitter: &mut Jitter) -> Duration {
    let d = BASE
        .saturating_mul(1u32 << retry.saturating_sub(1).min(16))
        .min(MAX_BACKOFF);
    let half = d / 2;
    half + half.mul_f64(jitter.unit())
}

/// The wait a `Retry-After` header asks for: delay-seconds or an HTTP date (a date in the past
/// means now). `None` when the value is neither. Capped at [`MAX_RETRY_AFTER`].
#[cfg(feature = "upload")]
pub(crate) fn retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    let wait = match value.parse::<u64>() {
        Ok(secs) => Duration::from_secs(secs),
        Err(_) => {
            let at = httpdate::parse_http_date(value).ok()?;
            at.duration_since(now).unwrap_or(Duration::ZERO)
        }
    };
    Some(wait.min(MAX_RETRY_AFTER))
}

/// A small per-process random source for jitter (xorshift64*, seeded from std's per-process
/// random keys): jitter needs spread, not cryptographic quality.
#[derive(Debug)]
pub(crate) struct Jitter(u64);

impl Jitter {
    pub(crate) fn new() -> Jitter {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u32(std::process::id());
        Jitter(h.finish() | 1)
    }

    /// Uniform in `[0, 1)`.
    pub(crate) fn unit(&mut self) -> f64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        (x.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64
    }

    /// A random 16-bit tag, e.g. to tell processes with a reused pid apart.
    pub(crate) fn tag(&mut self) -> u16 {
        (self.unit() * 65536.0) as u16
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_within_jitter_and_is_capped() {
        let mut j = Jitter::new();
        for _ in 0..100 {
            let first = backoff(1, &mut j);
            assert!(first >= BASE / 2 && first <= BASE, "{first:?}");
            let third = backoff(3, &mut j);
            assert!(third >= BASE * 2 && third <= BASE * 4, "{third:?}");
            let late = backoff(40, &mut j);
            assert!(late >= MAX_BACKOFF / 2 && late <= MAX_BACKOFF, "{late:?}");
        }
    }

    #[test]
    fn jitter_spreads() {
        let mut j = Jitter::new();
        let xs: Vec<f64> = (0..1000).map(|_| j.unit()).collect();
        assert!(xs.iter().all(|x| (0.0..1.0).contains(x)));
        let low = xs.iter().filter(|x| **x < 0.5).count();
        assert!((400..600).contains(&low), "{low} of 1000 below 0.5");
    }

    #[cfg(feature = "upload")]
    #[test]
    fn retry_after_reads_seconds_and_http_dates() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        assert_eq!(retry_after(" 3 ", now), Some(Duration::from_secs(3)));
        // Tue, 14 Nov 2023 22:13:20 GMT is `now`; 5 s later:
        assert_eq!(
            retry_after("Tue, 14 Nov 2023 22:13:25 GMT", now),
            Some(Duration::from_secs(5))
        );
        assert_eq!(
            retry_after("Tue, 14 Nov 2023 22:13:00 GMT", now),
            Some(Duration::ZERO),
            "a date in the past means now"
        );
        assert_eq!(retry_after("86400", now), Some(MAX_RETRY_AFTER));
        assert_eq!(retry_after("soon", now), None);
        assert_eq!(retry_after("-1", now), None);
    }
}
