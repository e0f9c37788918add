//! Timestamps for the hot path.
//!
//! The wall clock is read once per process; every event time is that anchor plus a
//! monotonic offset, so events of one process never appear to run backwards when NTP steps
//! the wall clock.
//!
//! On x86_64, when the kernel itself trusts the TSC (its clocksource is `tsc`, which means
//! it is invariant and synchronized across cores), the hot path reads the TSC directly,
//! which costs less than `Instant::now()` (BENCHMARKS.md has the figures), and an event
//! reads the clock twice. Ticks are converted to nanoseconds on the
//! background thread, against `Instant`, so the caller's thread never pays for a
//! calibration. Everywhere else the reading is `Instant` nanoseconds.
//!
//! A time measured elsewhere (by another process, as a [`SystemTime`]) becomes a reading of
//! its own kind ([`reading_at`]): the top bit set, the rest the signed nanoseconds from the
//! anchor's wall time. Hot-path readings never set that bit (it would take 2^63 ticks or
//! nanoseconds of uptime), so every conversion below tells the two apart, and a time before
//! this process started is as valid as one after.

use std::cell::Cell;
use std::sync::LazyLock;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

struct Anchor {
    instant: Instant,
    ticks: u64,
    wall_ns: u128,
    /// `wall_ns` as an `f64`, converted once: a `u128` conversion is a library call.
    wall_ns_f64: f64,
    /// `wall_ns` as a `u64` (enough until 2554), for timestamps summed in integers.
    wall_ns_u64: u64,
}

static USE_TSC: AtomicBool = AtomicBool::new(false);

static ANCHOR: LazyLock<Anchor> = LazyLock::new(|| {
    let tsc = tsc_is_reliable();
    USE_TSC.store(tsc, Ordering::Relaxed);
    let instant = Instant::now();
    let ticks = if tsc { rdtsc() } else { 0 };
    let wall_ns = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    Anchor {
        instant,
        ticks,
        wall_ns,
        wall_ns_f64: wall_ns as f64,
        wall_ns_u64: u64::try_from(wall_ns).unwrap_or(u64::MAX),
    }
});

#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn rdtsc() -> u64 {
    // SAFETY: `rdtsc` has no preconditions on x86_64; it only reads a counter.
    #[allow(unused_unsafe)]
    unsafe {
        core::arch::x86_64::_rdtsc()
    }
}

#[cfg(not(target_arch = "x86_64"))]
#[inline(always)]
fn rdtsc() -> u64 {
    0
}

fn tsc_is_reliable() -> bool {
    // Not under Miri, which cannot run `rdtsc` (the unsafe hot path is checked there).
    cfg!(all(target_arch = "x86_64", target_os = "linux", not(miri)))
        && std::fs::read_to_string(
            "/sys/devices/system/clocksource/clocksource0/current_clocksource",
        )
        .is_ok_and(|s| s.trim() == "tsc")
}

/// A reading for the hot path: TSC ticks or `Instant` nanoseconds since the anchor.
/// Only [`epoch_ms`] and [`elapsed_ns`] interpret it. Valid after [`warm_up`], which the
/// runtime calls before it reports itself enabled.
#[inline(always)]
pub(crate) fn now() -> u64 {
    if USE_TSC.load(Ordering::Relaxed) {
        rdtsc()
    } else {
        ANCHOR.instant.elapsed().as_nanos() as u64
    }
}

thread_local! {
    /// (tick reading when calibrated, nanoseconds per tick) of this (background) thread.
    static CALIBRATION: Cell<(u64, f64)> = const { Cell::new((0, 1.0)) };
}

/// Set in a reading made from a wall-clock time ([`reading_at`]).
const WALL: u64 = 1 << 63;

/// The reading that stands for the wall-clock time `time`: what [`epoch_ms`] and the other
/// conversions give back for it is `time` itself (to the nanosecond, within ±146 years of
/// the anchor). For events whose times were measured by another process.
pub(crate) fn reading_at(time: SystemTime) -> u64 {
    let anchor = &*ANCHOR;
    let ns = match time.duration_since(UNIX_EPOCH) {
        Ok(d) => i128::try_from(d.as_nanos()).unwrap_or(i128::MAX),
        Err(e) => -i128::try_from(e.duration().as_nanos()).unwrap_or(i128::MAX),
    };
    // The offset in 63 bits, two's complement.
    const LIMIT: i128 = (1 << 62) - 1;
    let offset = (ns - anchor.wall_ns as i128).clamp(-LIMIT, LIMIT) as i64;
    WALL | (offset as u64 & !WALL)
}

/// The signed nanoseconds from the anchor a [`reading_at`] reading holds.
fn wall_offset_ns(t: u64) -> i64 {
    // Sign-extends the 63-bit offset.
    ((t << 1) as i64) >> 1
}

/// Nanoseconds from the anchor to reading `t`; negative for a wall-clock reading before it.
fn since_anchor_ns(t: u64) -> f64 {
    if t & WALL != 0 {
        return wall_offset_ns(t) as f64;
    }
    if !USE_TSC.load(Ordering::Relaxed) {
        return t as f64;
    }
    let anchor = &*ANCHOR;
    t.saturating_sub(anchor.ticks) as f64 * ns_per_tick(t, anchor)
}

/// Nanoseconds per tick, valid for readings up to `t` (calibrated again when `t` is newer
/// than the last calibration).
fn ns_per_tick(t: u64, anchor: &Anchor) -> f64 {
    CALIBRATION.with(|c| {
        let (at, ratio) = c.get();
        if t <= at {
            return ratio;
        }
        // The ratio over the whole process lifetime: its error shrinks as the process ages
        // and stays within the clock-read jitter for readings inside the window.
        let now_ticks = rdtsc();
        let now_ns = anchor.instant.elapsed().as_nanos() as f64;
        let span = now_ticks.saturating_sub(anchor.ticks);
        let ratio = if span == 0 { 1.0 } else { now_ns / span as f64 };
        c.set((now_ticks, ratio));
        ratio
    })
}

/// The times of an event that started at reading `start` and ended at `end`, converted
/// with one calibration: what [`epoch_ms`] and [`elapsed_ns`] give for them, at the cost
/// of one conversion instead of four.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct EventTimes {
    pub(crate) created_ms: u64,
    /// Never before `created_ms`.
    pub(crate) finished_ms: u64,
    /// The duration, to the nearest nanosecond.
    pub(crate) duration_ns: u64,
}

impl EventTimes {
    #[inline]
    pub(crate) fn of(start: u64, end: u64) -> EventTimes {
        let anchor = &*ANCHOR;
        let (start_ns, end_ns) = if (start | end) & WALL != 0 {
            // Either time came from a wall clock: each converted on its own (rare, off the
            // hot path).
            (since_anchor_ns(start), since_anchor_ns(end))
        } else if USE_TSC.load(Ordering::Relaxed) {
            let ratio = ns_per_tick(start.max(end), anchor);
            (
                start.saturating_sub(anchor.ticks) as f64 * ratio,
                end.saturating_sub(anchor.ticks) as f64 * ratio,
            )
        } else {
            (start as f64, end as f64)
        };
        let created_ms = ms_of(anchor, start_ns);
        let finished_ms = ms_of(anchor, end_ns).max(created_ms);
        // Non-negative, so adding a half rounds (and `round` would be a library call).
        let duration_ns = ((end_ns - start_ns).max(0.0) + 0.5) as u64;
        EventTimes {
            created_ms,
            finished_ms,
            duration_ns,
        }
    }

    /// The duration in milliseconds: the `f64` nearest to the whole nanoseconds.
    #[cfg(test)]
    pub(crate) fn duration_ms(&self) -> f64 {
        self.duration_ns as f64 / 1e6
    }
}

/// Milliseconds since the Unix epoch, `ns` after the anchor. Summed in integers: an `f64`
/// of epoch nanoseconds keeps only a quarter of a microsecond, and a division by a constant
/// integer is a multiply.
fn ms_of(anchor: &Anchor, ns: f64) -> u64 {
    if ns >= 0.0 {
        anchor.wall_ns_u64.saturating_add(ns as u64) / 1_000_000
    } else {
        // A wall-clock reading before the anchor (NaN never gets here: it fails `>=` and
        // saturates to 0 below, as before).
        anchor.wall_ns_u64.saturating_sub((-ns) as u64) / 1_000_000
    }
}

/// Milliseconds since the Unix epoch for a [`now`] reading (an event's `createdAt`: what
/// [`EventTimes`] gives, for a reading alone).
pub(crate) fn epoch_ms(t: u64) -> u64 {
    ms_of(&ANCHOR, since_anchor_ns(t))
}

/// Nanoseconds since the Unix epoch for a [`now`] reading (OTLP span times: the same clock
/// as [`epoch_ms`], not rounded). Summed in integers: an `f64` of epoch nanoseconds would
/// keep only about a quarter of a microsecond of precision.
pub(crate) fn epoch_ns(t: u64) -> u64 {
    // A wall-clock reading in integers: an `f64` keeps whole nanoseconds only within about
    // a hundred days of the anchor.
    let offset = if t & WALL != 0 {
        i128::from(wall_offset_ns(t))
    } else {
        since_anchor_ns(t) as i128
    };
    u64::try_from((ANCHOR.wall_ns as i128 + offset).max(0)).unwrap_or(u64::MAX)
}

/// Microseconds since the Unix epoch for a [`now`] reading, with the reading's sub-µs part.
pub(crate) fn epoch_us(t: u64) -> f64 {
    (ANCHOR.wall_ns_f64 + since_anchor_ns(t)) / 1e3
}

/// The system clock now, in milliseconds since the Unix epoch: for times other processes
/// read (spool file names, breaker markers), not for event timestamps.
pub(crate) fn wall_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// `now + wait`, saturated: a wait too long for the platform's `Instant` (`Duration::MAX`,
/// what a caller means by "forever") becomes one that never comes in practice, never a panic.
pub(crate) fn deadline_after(now: Instant, wait: Duration) -> Instant {
    const FOREVER: Duration = Duration::from_secs(60 * 60 * 24 * 365 * 30);
    now.checked_add(wait)
        .or_else(|| now.checked_add(FOREVER))
        .unwrap_or(now)
}

/// Nanoseconds between two [`now`] readings.
pub(crate) fn elapsed_ns(start: u64, end: u64) -> f64 {
    (since_anchor_ns(end) - since_anchor_ns(start)).max(0.0)
}

/// Sets the anchor up, so the first event does not pay for it.
pub(crate) fn warm_up() {
    LazyLock::force(&ANCHOR);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readings_map_to_the_wall_clock_and_real_durations() {
        warm_up();
        let a = now();
        std::thread::sleep(std::time::Duration::from_millis(20));
        let b = now();
        assert!(b >= a);
        let ns = elapsed_ns(a, b);
        assert!((20e6..2e9).contains(&ns), "20 ms sleep measured as {ns} ns");
        let wall_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0);
        let ms = epoch_ms(b);
        assert!(ms.abs_diff(wall_ms) < 5_000, "{ms} vs {wall_ms}");
        assert!(epoch_ms(a) <= ms);
        let times = EventTimes::of(a, b);
        assert_eq!(times.created_ms, epoch_ms(a));
        assert_eq!(times.finished_ms, ms);
        assert!(
            times.duration_ns.abs_diff(ns as u64) <= 1,
            "{times:?} vs {ns}"
        );
        let backwards = EventTimes::of(b, a);
        assert_eq!(backwards.finished_ms, backwards.created_ms);
        assert_eq!(backwards.duration_ns, 0);
    }

    #[test]
    fn wall_clock_readings_give_back_their_time_before_and_after_the_anchor() {
        warm_up();
        let now = SystemTime::now();
        let ns = |t: SystemTime| {
            t.duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos() as u64)
        };
        for time in [
            now - Duration::from_secs(3600),
            now - Duration::from_nanos(1),
            now,
            now + Duration::from_millis(1500),
        ] {
            let r = reading_at(time);
            assert_eq!(epoch_ns(r), ns(time), "{time:?}");
            assert_eq!(epoch_ms(r), ns(time) / 1_000_000);
            assert!((epoch_us(r) - ns(time) as f64 / 1e3).abs() < 1.0);
        }
        // Mixed with hot-path readings: a time an hour ago to a reading now.
        let (hour_ago, later) = (reading_at(now - Duration::from_secs(3600)), self::now());
        let ns_between = elapsed_ns(hour_ago, later);
        assert!((3600e9..3700e9).contains(&ns_between), "{ns_between}");
        let times = EventTimes::of(hour_ago, later);
        assert_eq!(
            times.created_ms,
            ns(now - Duration::from_secs(3600)) / 1_000_000
        );
        assert!(times.finished_ms >= ns(now) / 1_000_000);
        // Ends before starts, and times outside ±146 years, never panic or wrap.
        let backwards = EventTimes::of(reading_at(now), reading_at(now - Duration::from_secs(1)));
        assert_eq!(backwards.duration_ns, 0);
        assert_eq!(backwards.finished_ms, backwards.created_ms);
        assert_eq!(epoch_ns(reading_at(UNIX_EPOCH)), 0);
        let far = reading_at(now + Duration::from_secs(400 * 365 * 24 * 3600));
        assert!(epoch_ns(far) > ns(now));
    }

    #[test]
    fn deadlines_saturate() {
        let now = Instant::now();
        assert!(deadline_after(now, Duration::MAX) > now + Duration::from_secs(3600 * 24 * 365));
        assert_eq!(
            deadline_after(now, Duration::from_secs(1)),
            now + Duration::from_secs(1)
        );
    }
}
