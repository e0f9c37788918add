//! Signal actions and this thread's signal mask.

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
    // SAFETY: builds a signal set on the stack and changes only this thread's mask.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, sig);
        libc::pthread_sigmask(libc::SIG_UNBLOCK, &set, std::ptr::null_mut());
    }
}
