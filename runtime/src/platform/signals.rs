//! A cancelled job (CI sends SIGINT, then SIGTERM): its open events are recorded as
//! `CANCELLED` and flushed before the process ends the way the signal would have ended it.
//!
//! The handler only records which signal arrived (an atomic store) and wakes the watchdog
//! (a byte into a pipe), both async-signal-safe. The background thread, which looks a few
//! times a second, concludes the open events, flushes within the flush timeout, restores
//! the default action and raises the signal again, so the exit status is the signal's (130
//! for SIGINT, 143 for SIGTERM). The watchdog, a thread that does nothing else, raises it
//! once the flush timeout (and a margin) has passed whatever the background thread does:
//! stuck on a full stderr pipe or a hung disk, it cannot keep the process alive.
//!
//! It is installed only for a signal whose disposition is the default when the runtime is
//! set up, and that the thread setting it up has not blocked: a program that handles or
//! ignores SIGINT or SIGTERM keeps that, and one that blocks it means to take it with
//! `sigwait`. Every thread the runtime starts blocks both ([`spawn`]), so the kernel never
//! hands one of them a signal the program's threads are waiting for. A program that
//! installs a handler later replaces ours, and if it calls ours in turn (as tokio's
//! `signal` and `signal-hook` do with the handler they found), ours sees it is no longer
//! the installed one and does nothing: the program decides how to end, and its normal end
//! (a tracked `main`, the `init` guard, `exit`, the exit hook) flushes.
//!
//! A second signal while the first is handled, or a signal with no background thread to
//! handle it, ends the process at once, as if this handler were not there.

use std::sync::atomic::{AtomicBool, AtomicI32, Ordering::SeqCst};
use std::time::Duration;

#[cfg(unix)]
use crate::platform::sys;

/// The signal to end the process with, once one arrived; 0 before.
static PENDING: AtomicI32 = AtomicI32::new(0);

/// Whether the background thread is there to act on a signal.
static WATCHED: AtomicBool = AtomicBool::new(false);

/// The write end of the watchdog's pipe; -1 while there is no watchdog.
#[cfg(unix)]
static WAKE: AtomicI32 = AtomicI32::new(-1);

/// The signals a CI cancellation sends.
#[cfg(unix)]
const SIGNALS: [i32; 2] = [libc::SIGINT, libc::SIGTERM];

/// The watchdog only sleeps and raises: a small stack does.
#[cfg(unix)]
const WATCHDOG_STACK: usize = 64 * 1024;

#[cfg(unix)]
extern "C" fn on_signal(sig: i32) {
    if !sys::signals::is_handler(sig, on_signal) {
        // Called by the program's own handler, which replaced this one: its call.
        return;
    }
    if PENDING.swap(sig, SeqCst) != 0 || !WATCHED.load(SeqCst) {
        sys::signals::raise_default(sig);
        return;
    }
    let wake = WAKE.load(SeqCst);
    if wake >= 0 {
        sys::signals::write_byte(wake, 1);
    }
}

/// Installs the handler for each cancellation signal still at its default action and not
/// blocked by the calling thread, with a watchdog that ends the process `deadline` after a
/// signal at the latest. Only `global` calls it, once the background thread runs.
pub(crate) fn install(deadline: Duration) {
    #[cfg(unix)]
    {
        let wanted: Vec<i32> = SIGNALS
            .into_iter()
            .filter(|&sig| {
                if sys::signals::is_blocked(sig) {
                    crate::log!(
                        Debug,
                        "signal {sig} is blocked: the program takes it itself (sigwait)"
                    );
                    return false;
                }
                if !sys::signals::is_default(sig) {
                    crate::log!(
                        Debug,
                        "signal {sig} has a handler or is ignored: the program's choice is kept"
                    );
                    return false;
                }
                true
            })
            .collect();
        // The watchdog first: a signal that arrives once the handler is in must find it.
        if !wanted.is_empty() {
            if let Err(e) = start_watchdog(deadline) {
                crate::log!(
                    Debug,
                    "no watchdog for cancellation signals ({e}): the background thread alone \
                     ends the process on one"
                );
            }
        }
        for sig in wanted {
            sys::signals::handle_if_default(sig, on_signal);
        }
    }
    #[cfg(not(unix))]
    let _ = deadline;
}

/// Starts the thread that ends the process `deadline` after the handler woke it.
#[cfg(unix)]
fn start_watchdog(deadline: Duration) -> std::io::Result<()> {
    use std::io::Read;
    let (read, write) = sys::signals::wake_pipe()?;
    let mut read = std::fs::File::from(read);
    spawn(
        "trunk-ci-analytics-signals",
        Some(WATCHDOG_STACK),
        move || {
            let mut byte = [0u8; 1];
            loop {
                match read.read(&mut byte) {
                    Ok(1) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    _ => return,
                }
                if let Some(sig) = pending() {
                    std::thread::sleep(deadline);
                    end_with(sig);
                }
            }
        },
    )?;
    WAKE.store(write, SeqCst);
    Ok(())
}

/// Starts a thread of the runtime (named `name`) with SIGINT and SIGTERM blocked in it, so
/// that they always reach a thread of the program (or its `sigwait`).
pub(crate) fn spawn(
    name: &str,
    stack: Option<usize>,
    f: impl FnOnce() + Send + 'static,
) -> std::io::Result<()> {
    #[cfg(unix)]
    let saved = sys::signals::block(&SIGNALS);
    let mut builder = std::thread::Builder::new().name(name.into());
    if let Some(bytes) = stack {
        builder = builder.stack_size(bytes);
    }
    let spawned = builder.spawn(f).map(drop);
    #[cfg(unix)]
    if let Some(saved) = saved {
        sys::signals::restore(saved);
    }
    spawned
}

/// The background thread is there (or gone, `false`) to act on a signal.
pub(crate) fn set_watched(on: bool) {
    WATCHED.store(on, SeqCst);
}

/// The signal that arrived, if one did (it stays pending: the process ends on it).
pub(crate) fn pending() -> Option<i32> {
    let sig = PENDING.load(SeqCst);
    (sig != 0).then_some(sig)
}

/// Ends the process as `sig` does by default.
pub(crate) fn end_with(sig: i32) -> ! {
    #[cfg(unix)]
    {
        sys::signals::unblock(sig);
        sys::signals::raise_default(sig);
    }
    // Only if the signal did not end the process (it cannot be delivered here): the
    // status a shell would have shown.
    std::process::exit(128 + sig)
}
