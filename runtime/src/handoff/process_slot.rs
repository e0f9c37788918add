//! The process-wide slot of the hand-off: the producer `global` installs once, the flushes
//! that go through it (on demand, at exit, from the exit hook, and the one the background
//! thread asks for itself on a signal), and what a forked child does with a producer that
//! belongs to its parent.

use std::sync::atomic::Ordering::Relaxed;
use std::sync::mpsc::{self, Receiver};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use super::{
    DISOWNED, FlushRequest, INSTALLED, Installed, Parcel, Producer, SPOOL_MARGIN, disowned,
};
use crate::model::flush_report::FlushReport;
use crate::platform::clock;
use crate::record::Frame;

/// Gives up the installed producer in this process (a forked child): hand-offs drop their
/// records, flushes return at once. Async-signal-safe (one atomic store).
pub(crate) fn disown() {
    DISOWNED.store(true, Relaxed);
}

/// Installs the process's producer; the first call wins. Only `global` calls it.
pub(crate) fn install(producer: Producer, exit_timeout: Duration) {
    let _ = INSTALLED.set(Installed {
        producer,
        exit_timeout,
        exit_started: Mutex::new(None),
    });
}

/// Waits until every event finished before the call is delivered, spooled or written, at
/// most `timeout` (plus the time to write the spool).
pub(crate) fn flush(timeout: Duration) -> FlushReport {
    match INSTALLED.get().filter(|_| !disowned()) {
        Some(i) => i.producer.flush(timeout, false),
        None => FlushReport::default(),
    }
}

/// Asks for an exit flush without waiting for it, for the background thread itself (a
/// process ending on a signal): the answer comes through the receiver, by the instant
/// returned beside it at the latest.
pub(crate) fn request_exit_flush() -> Option<(Receiver<FlushReport>, Instant)> {
    let i = INSTALLED.get().filter(|_| !disowned())?;
    let (reply, answer) = mpsc::channel();
    let deadline = clock::deadline_after(Instant::now(), i.exit_timeout);
    let request = FlushRequest {
        deadline,
        exit: true,
        reply,
    };
    i.producer.tx.send(Parcel::Flush(request)).ok()?;
    Some((answer, clock::deadline_after(deadline, SPOOL_MARGIN)))
}

/// Has the background thread send `frame` (a running event's view) as a *started* event
/// now, behind everything recorded before the call; a flush after it covers it.
pub(crate) fn announce(frame: Frame) {
    if let Some(i) = INSTALLED.get().filter(|_| !disowned()) {
        if i.producer.tx.send(Parcel::Started(frame)).is_ok() {
            i.producer.shared.wake.notify();
        }
    }
}

/// Flushes with `timeout`, replaying the spool too until it is empty or the time is up.
pub(crate) fn flush_spool(timeout: Duration) -> FlushReport {
    match INSTALLED.get() {
        Some(i) => i.producer.flush(timeout, true),
        None => FlushReport::default(),
    }
}

/// Flushes with the exit timeout, replaying the spool too while time remains: the process
/// is about to end.
pub(crate) fn flush_at_exit() -> FlushReport {
    let Some(i) = INSTALLED.get().filter(|_| !disowned()) else {
        return FlushReport::default();
    };
    *i.exit_started
        .lock()
        .unwrap_or_else(PoisonError::into_inner) = Some(Instant::now());
    i.producer.flush(i.exit_timeout, true)
}

/// The exit hook's flush: only when events are still pending, within what remains of an
/// exit flush that already ran (else the whole exit timeout). An exit flush that used its
/// whole budget leaves none: the hook then only has what is pending written to the spool,
/// so the whole exit waits one exit timeout and two spool margins at most.
pub(crate) fn flush_at_exit_hook() {
    let Some(i) = INSTALLED.get().filter(|_| !disowned()) else {
        return;
    };
    if !i.producer.pending() {
        return;
    }
    let started = *i
        .exit_started
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    let timeout = match started {
        Some(t) => i.exit_timeout.saturating_sub(t.elapsed()),
        None => i.exit_timeout,
    };
    crate::log!(
        Debug,
        "exit hook: flushing what is pending with {} ms of the exit timeout left",
        timeout.as_millis()
    );
    i.producer.flush(timeout, true);
}
