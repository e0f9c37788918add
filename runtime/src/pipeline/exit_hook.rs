//! A flush at a normal process exit, for programs that never flush themselves (no
//! `#[track_event] fn main`, no `init` guard, no `exit`): a build script whose tracked helper
//! functions finish just before `main` returns would otherwise lose its events.
//!
//! Unix only, through `atexit`, which runs when `main` returns or `std::process::exit` is
//! called — while every other thread, ours included, still runs. Why this is safe:
//! - the hook only sends a message and waits with a timeout on a fresh channel (no lock the
//!   exiting thread might hold, no thread-local state that may already be torn down);
//! - it does nothing when no event is pending, so the usual exit (already flushed) costs two
//!   atomic loads;
//! - it does nothing in a forked child that never exec'd (the background thread does not
//!   exist there), recognized by its pid;
//! - a panic inside is caught: unwinding out of an `extern "C"` function would abort.
//!
//! Not covered: exits through a signal, `_exit`, or `abort` — nothing can flush there.
//! Windows has no equivalent that runs before other threads are killed; there the program
//! must flush (the macro on `main`, the `init` guard, or `exit`).

use std::sync::OnceLock;

static REGISTERED_BY: OnceLock<u32> = OnceLock::new();

/// Registers `hook` to run at a normal exit of this process, once per process.
pub(crate) fn register(hook: extern "C" fn()) {
    REGISTERED_BY.get_or_init(|| {
        #[cfg(unix)]
        // SAFETY: `hook` is a plain function that never unwinds (the caller's contract, see
        // `run`), and it stays valid for the life of the process.
        unsafe {
            libc::atexit(hook);
        }
        #[cfg(not(unix))]
        let _ = hook;
        std::process::id()
    });
}

/// Runs `f` from the exit hook: only in the process that registered it, never unwinding.
pub(crate) fn run(f: impl FnOnce() + std::panic::UnwindSafe) {
    if REGISTERED_BY.get() != Some(&std::process::id()) {
        return;
    }
    let _ = std::panic::catch_unwind(f);
}
