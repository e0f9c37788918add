//! Signal actions, this thread's signal mask, and the pipe through which a handler wakes a
//! thread (writing to a pipe is one of the few things a handler may do).

use std::os::fd::{FromRawFd, OwnedFd, RawFd};

/// Installs `handler` for signal `sig` if the process has not set its disposition (it is
/// the default); returns whether it did. A program that handles or ignores the signal keeps
/// its choice.
pub(crate) fn handle_if_default(sig: i32, handler: extern "C" fn(i32)) -> bool {
    // SAFETY: `sigaction` with a null new action only reads the current one into `old`,
    // a zeroed struct of the right type; the new action is a zeroed struct filled in on
    // the stack, and `handler` is a plain function valid for the life of the process.
    unsafe {
        let mut old: libc::sigaction = std::mem::zeroed();
        if libc::sigaction(sig, std::ptr::null(), &mut old) != 0
            || old.sa_sigaction != libc::SIG_DFL
        {
            return false;
        }
        let mut new: libc::sigaction = std::mem::zeroed();
        new.sa_sigaction = handler as libc::sighandler_t;
        // Interrupted system calls of the program resume: it runs on while the events
        // are flushed, as if the signal had not arrived yet.
        new.sa_flags = libc::SA_RESTART;
        libc::sigemptyset(&mut new.sa_mask);
        libc::sigaction(sig, &new, std::ptr::null_mut()) == 0
    }
}

/// Whether the action of `sig` is the default one (no handler, not ignored).
pub(crate) fn is_default(sig: i32) -> bool {
    // SAFETY: reads the current action into a zeroed struct.
    unsafe {
        let mut now: libc::sigaction = std::mem::zeroed();
        libc::sigaction(sig, std::ptr::null(), &mut now) == 0 && now.sa_sigaction == libc::SIG_DFL
    }
}

/// Whether `handler` is the handler of `sig` now. Async-signal-safe.
pub(crate) fn is_handler(sig: i32, handler: extern "C" fn(i32)) -> bool {
    // SAFETY: as in `handle_if_default`: reads the current action into a zeroed struct.
    unsafe {
        let mut now: libc::sigaction = std::mem::zeroed();
        libc::sigaction(sig, std::ptr::null(), &mut now) == 0
            && now.sa_sigaction == handler as libc::sighandler_t
    }
}

/// Restores the default action of `sig` and raises it, so the process ends the way the
/// signal ends it (the shell sees 128 + `sig`). Async-signal-safe. In a signal handler, the
/// signal (blocked while the handler runs) is delivered when the handler returns.
pub(crate) fn raise_default(sig: i32) {
    // SAFETY: installs the default action (a constant, no handler to call) and raises the
    // signal on the calling thread; no memory is shared with the kernel beyond the zeroed
    // struct passed by reference for the call.
    unsafe {
        let mut dfl: libc::sigaction = std::mem::zeroed();
        dfl.sa_sigaction = libc::SIG_DFL;
        libc::sigemptyset(&mut dfl.sa_mask);
        libc::sigaction(sig, &dfl, std::ptr::null_mut());
        libc::raise(sig);
    }
}

/// Unblocks `sig` on the calling thread, so that raising it there takes effect at once.
pub(crate) fn unblock(sig: i32) {
    let _ = set_mask(libc::SIG_UNBLOCK, &[sig]);
}

/// Whether `sig` is blocked on the calling thread: the program means to take it with
/// `sigwait` (or to hold it off) rather than through a handler.
pub(crate) fn is_blocked(sig: i32) -> bool {
    // SAFETY: a null new set only reads this thread's mask into `now`, a zeroed set on the
    // stack; `sigismember` reads it.
    unsafe {
        let mut now: libc::sigset_t = std::mem::zeroed();
        libc::pthread_sigmask(libc::SIG_BLOCK, std::ptr::null(), &mut now) == 0
            && libc::sigismember(&now, sig) == 1
    }
}

/// The calling thread's signal mask as it was before [`block`], to put back.
pub(crate) struct SavedMask(libc::sigset_t);

/// Blocks `signals` on the calling thread; returns the mask to restore. A thread spawned
/// meanwhile starts with them blocked (a new thread inherits its creator's mask), so no
/// signal is ever delivered to it.
pub(crate) fn block(signals: &[i32]) -> Option<SavedMask> {
    set_mask(libc::SIG_BLOCK, signals)
}

/// Puts back the mask [`block`] replaced.
pub(crate) fn restore(saved: SavedMask) {
    // SAFETY: `saved.0` is a mask `pthread_sigmask` filled in; only this thread's mask
    // changes.
    unsafe {
        libc::pthread_sigmask(libc::SIG_SETMASK, &saved.0, std::ptr::null_mut());
    }
}

fn set_mask(how: i32, signals: &[i32]) -> Option<SavedMask> {
    // SAFETY: builds a signal set on the stack, changes only this thread's mask, and reads
    // the previous one into a zeroed set.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        for &sig in signals {
            libc::sigaddset(&mut set, sig);
        }
        let mut old: libc::sigset_t = std::mem::zeroed();
        (libc::pthread_sigmask(how, &set, &mut old) == 0).then_some(SavedMask(old))
    }
}

/// A pipe for a signal handler to wake a thread: the read end, and the write end as a raw
/// descriptor that stays open for the life of the process (a handler may run at any time).
/// Both close on exec; writing never blocks (a full pipe already holds a wake-up).
pub(crate) fn wake_pipe() -> std::io::Result<(OwnedFd, RawFd)> {
    let mut fds = [0 as RawFd; 2];
    // SAFETY: `fds` has room for the two descriptors `pipe` writes.
    if unsafe { libc::pipe(fds.as_mut_ptr()) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: `fds[0]` is a descriptor `pipe` just opened, owned by nothing else.
    let read = unsafe { OwnedFd::from_raw_fd(fds[0]) };
    for fd in fds {
        // SAFETY: `fd` is open (just made by `pipe`); the flags only change how it behaves.
        unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) };
    }
    // SAFETY: as above, for the write end.
    unsafe {
        let flags = libc::fcntl(fds[1], libc::F_GETFL);
        libc::fcntl(fds[1], libc::F_SETFL, flags | libc::O_NONBLOCK);
    }
    Ok((read, fds[1]))
}

/// Writes one byte to `fd` from a signal handler. Async-signal-safe. It leaves `errno` as it
/// was for the code the handler interrupted: it is called once per process (a second signal
/// ends the process instead), on a fresh pipe, where a one-byte write cannot fail.
pub(crate) fn write_byte(fd: RawFd, byte: u8) {
    // SAFETY: `write` is async-signal-safe; `byte` lives across the call.
    unsafe { libc::write(fd, (&raw const byte).cast(), 1) };
}
