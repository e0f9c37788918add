//! Whether analytics is on: one process-wide flag, read by every tracked call and written
//! only by `global` when it sets the runtime up (and by the benchmarks' switch).
//!
//! Once it is known to be off, a tracked call costs one relaxed load and a compare.

use std::sync::atomic::{AtomicU8, Ordering};

const UNSET: u8 = 0;
const ON: u8 = 1;
const OFF: u8 = 2;

static STATE: AtomicU8 = AtomicU8::new(UNSET);

/// What the flag says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum State {
    /// Not set up yet: the first event (or `init`) will.
    Unset,
    On,
    Off,
}

/// The flag, as one load.
#[inline(always)]
pub(crate) fn state() -> State {
    match STATE.load(Ordering::Relaxed) {
        ON => State::On,
        OFF => State::Off,
        _ => State::Unset,
    }
}

/// Whether analytics is known to be off (not yet set up counts as not off).
#[inline(always)]
pub(crate) fn off() -> bool {
    STATE.load(Ordering::Relaxed) == OFF
}

/// Whether analytics is set up and on.
#[inline(always)]
pub(crate) fn on() -> bool {
    STATE.load(Ordering::Relaxed) == ON
}

/// Sets the flag. Only `global` calls it.
pub(crate) fn set(on: bool) {
    STATE.store(if on { ON } else { OFF }, Ordering::Release);
}
