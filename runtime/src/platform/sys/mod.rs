//! The operating system calls the runtime makes through `libc`, each behind a safe
//! function: every `unsafe` block that talks to the OS is in this module, one file per kind
//! of call: here the process (exit hook, ids, `flock`, `fork`), [`files`] (directories and
//! files by descriptor), [`signals`] (actions, masks, the handler's pipe), [`stderr`] (a
//! bounded write to descriptor 2).
//!
//! The exit hook: a flush at a normal process exit, for programs that never flush
//! themselves (no `#[track_event] fn main`, no `init` guard, no `exit`), so that a build
//! script whose tracked helpers finish just before `main` returns keeps their events. Unix
//! only, through `atexit`, which runs when `main` returns or `std::process::exit` is called
//! — while every other thread, ours included, still runs. Why this is safe:
//! - the hook only sends a message and waits with a timeout on a fresh channel (no lock the
//!   exiting thread might hold, no thread-local state that may already be torn down);
//! - it does nothing when no event is pending, so the usual exit (already flushed) costs a
//!   few atomic loads;
//! - it does nothing in a forked child that never exec'd (the background thread does not
//!   exist there), recognized by its pid;
//! - a panic inside is caught: unwinding out of an `extern "C"` function would abort.
//!
//! Not covered: exits through a signal, `_exit`, or `abort`. Windows has no equivalent that
//! runs before other threads are killed; there the program must flush (the macro on `main`,
//! the `init` guard, or `exit`).

#[cfg(unix)]
pub(crate) mod files;
#[cfg(unix)]
pub(crate) mod signals;
pub(crate) mod stderr;

use std::sync::OnceLock;

/// The process that registered the exit hook.
static HOOKED_BY: OnceLock<u32> = OnceLock::new();

/// Registers `hook` to run at a normal exit of this process, once per process.
pub(crate) fn at_exit(hook: extern "C" fn()) {
    HOOKED_BY.get_or_init(|| {
        #[cfg(unix)]
        // SAFETY: `hook` is a plain function that never unwinds (it runs its work through
        // `run_at_exit`), and it stays valid for the life of the process.
        unsafe {
            libc::atexit(hook);
        }
        #[cfg(not(unix))]
        let _ = hook;
        std::process::id()
    });
}

/// Runs `f` from the exit hook: only in the process that registered it, never unwinding.
pub(crate) fn run_at_exit(f: impl FnOnce() + std::panic::UnwindSafe) {
    if HOOKED_BY.get() != Some(&std::process::id()) {
        return;
    }
    let _ = std::panic::catch_unwind(f);
}

/// This process's real user id.
#[cfg(unix)]
pub(crate) fn user_id() -> u32 {
    // SAFETY: getuid has no preconditions and cannot fail.
    unsafe { libc::getuid() }
}

/// The operating system's id of the calling thread (what profilers and `top -H` show).
pub(crate) fn thread_id() -> u64 {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        // SAFETY: gettid has no preconditions and cannot fail.
        let tid = unsafe { libc::gettid() };
        tid as u64
    }
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    {
        // No portable numeric thread id: a per-process counter, unique per thread.
        use std::sync::atomic::{AtomicU64, Ordering};
        static NEXT: AtomicU64 = AtomicU64::new(1);
        thread_local! {
            static ID: u64 = NEXT.fetch_add(1, Ordering::Relaxed);
        }
        ID.with(|id| *id)
    }
}

/// Tries to take an exclusive `flock` on `file` without waiting: `Ok(true)` taken,
/// `Ok(false)` held by another open file (another process, or another handle of this one).
/// The kernel drops the lock when the last descriptor of the holder closes, which includes
/// the holder's death: a lock that can be taken says its holder is gone.
#[cfg(unix)]
pub(crate) fn try_lock_exclusive(file: &std::fs::File) -> std::io::Result<bool> {
    use std::os::fd::AsRawFd;
    // SAFETY: flock only reads the descriptor number; `file` keeps it open for the call.
    let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    if rc == 0 {
        return Ok(true);
    }
    let error = std::io::Error::last_os_error();
    if error.raw_os_error() == Some(libc::EWOULDBLOCK) {
        Ok(false)
    } else {
        Err(error)
    }
}

/// Registers `handler` to run in the child of every `fork` of this process, once per
/// process. It runs in the child's only thread before `fork` returns there, so it must do
/// nothing but async-signal-safe work (atomic stores).
pub(crate) fn at_fork_child(handler: unsafe extern "C" fn()) {
    static REGISTERED: OnceLock<()> = OnceLock::new();
    REGISTERED.get_or_init(|| {
        #[cfg(unix)]
        // SAFETY: `handler` is a plain function valid for the life of the process that only
        // stores atomics; the prepare and parent hooks are absent.
        unsafe {
            libc::pthread_atfork(None, None, Some(handler));
        }
        #[cfg(not(unix))]
        let _ = handler;
    });
}

/// Whether a process `pid` exists (it may belong to another user): `kill(pid, 0)`.
#[cfg(all(unix, not(target_os = "linux")))]
pub(crate) fn is_alive(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    // SAFETY: signal 0 sends nothing; kill only checks that the process exists.
    let rc = unsafe { libc::kill(pid, 0) };
    rc == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}
