//! SIGINT and SIGTERM sent to `exec`: a handler writes each into a pipe (the only thing a
//! handler may safely do), and a thread turns the pipe into messages for the main loop,
//! which forwards them to the command.
//!
//! Real handlers, not a blocked mask: the command must start with default dispositions
//! (which `execve` restores from handlers, unlike an ignored signal), and a library that
//! installs its own handlers only when the program has none leaves these alone.

use std::fs::File;
use std::io::{self, Read};
use std::os::fd::{FromRawFd, RawFd};
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::mpsc::Sender;

/// The pipe's write end, for the handler.
static PIPE: AtomicI32 = AtomicI32::new(-1);

/// Set in a byte from the handler when the terminal sent the signal (Ctrl-C): the whole
/// foreground process group got it, the command included.
const FROM_TERMINAL: u8 = 0x80;

/// A signal `exec` received.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Received {
    pub(crate) signo: i32,
    /// Sent by the terminal to the whole foreground process group.
    pub(crate) from_terminal: bool,
}

/// Installs the handlers for SIGINT and SIGTERM; each signal then arrives as
/// `wrap(Received)` on `tx`.
pub(crate) fn install<M: Send + 'static>(tx: Sender<M>, wrap: fn(Received) -> M) -> io::Result<()> {
    let mut fds = [0 as RawFd; 2];
    // SAFETY: `fds` has room for the two descriptors pipe writes.
    if unsafe { libc::pipe(fds.as_mut_ptr()) } != 0 {
        return Err(io::Error::last_os_error());
    }
    for fd in fds {
        // SAFETY: `fd` is a descriptor pipe just opened; close-on-exec keeps it out of the
        // command.
        unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) };
    }
    // SAFETY: the read end is ours alone from here on; `File` closes it.
    let mut read = unsafe { File::from_raw_fd(fds[0]) };
    PIPE.store(fds[1], Ordering::SeqCst);
    std::thread::Builder::new()
        .name("exec-signals".into())
        .spawn(move || {
            let mut byte = [0u8; 1];
            while let Ok(1) = read.read(&mut byte) {
                let received = Received {
                    signo: i32::from(byte[0] & !FROM_TERMINAL),
                    from_terminal: byte[0] & FROM_TERMINAL != 0,
                };
                if tx.send(wrap(received)).is_err() {
                    break;
                }
            }
        })?;
    for signo in [libc::SIGINT, libc::SIGTERM] {
        // SAFETY: a zeroed sigaction is a valid starting point; the handler is an
        // `extern "C"` function doing only async-signal-safe work.
        unsafe {
            let mut previous: libc::sigaction = std::mem::zeroed();
            if libc::sigaction(signo, std::ptr::null(), &mut previous) != 0 {
                return Err(io::Error::last_os_error());
            }
            // A signal our parent ignores (a shell's background job ignores SIGINT) stays
            // ignored, for the command too, which inherits that.
            if previous.sa_sigaction == libc::SIG_IGN {
                continue;
            }
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = on_signal as *const () as usize;
            action.sa_flags = libc::SA_SIGINFO | libc::SA_RESTART;
            libc::sigemptyset(&mut action.sa_mask);
            if libc::sigaction(signo, &action, std::ptr::null_mut()) != 0 {
                return Err(io::Error::last_os_error());
            }
        }
    }
    Ok(())
}

extern "C" fn on_signal(signo: libc::c_int, info: *mut libc::siginfo_t, _: *mut libc::c_void) {
    let errno = Errno::save();
    let mut byte = signo as u8;
    if from_terminal(info) {
        byte |= FROM_TERMINAL;
    }
    let fd = PIPE.load(Ordering::SeqCst);
    if fd >= 0 {
        // SAFETY: write is async-signal-safe; `byte` lives across the call. A full pipe
        // (hundreds of unread signals) loses this one, which changes nothing.
        unsafe { libc::write(fd, (&raw const byte).cast(), 1) };
    }
    errno.restore();
}

/// Whether the kernel sent the signal on the terminal's behalf (`SI_KERNEL`), rather than
/// a process calling `kill`.
fn from_terminal(info: *mut libc::siginfo_t) -> bool {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: the kernel passes a valid siginfo to an SA_SIGINFO handler.
        !info.is_null() && unsafe { (*info).si_code } == libc::SI_KERNEL
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = info;
        false
    }
}

/// `errno` across the handler, so the interrupted code never sees the handler's.
struct Errno(libc::c_int);

impl Errno {
    fn save() -> Errno {
        // SAFETY: the errno location is valid for the calling thread.
        Errno(unsafe { *errno_location() })
    }

    fn restore(self) {
        // SAFETY: as in `save`.
        unsafe { *errno_location() = self.0 };
    }
}

#[cfg(any(target_os = "linux", target_os = "android"))]
unsafe fn errno_location() -> *mut libc::c_int {
    // SAFETY: no preconditions.
    unsafe { libc::__errno_location() }
}

#[cfg(any(target_os = "macos", target_os = "ios", target_os = "freebsd"))]
unsafe fn errno_location() -> *mut libc::c_int {
    // SAFETY: no preconditions.
    unsafe { libc::__error() }
}
