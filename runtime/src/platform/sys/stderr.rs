//! Text on stderr without ever waiting long for it: the runtime's lines must not hang the
//! program, nor the background thread while it flushes on a signal, when stderr is a full
//! pipe nobody reads.
//!
//! Not through `std::io::stderr()`: its lock may be held by a program thread blocked in a
//! write to that same full pipe. Each piece goes to descriptor 2 with `write` once `poll`
//! says it fits, in pieces no larger than the size a pipe writes whole; a piece that does
//! not fit within [`WAIT`] is dropped with the rest of the text, and after that, until a
//! write gets through again, pieces are written only if they fit at once.

#[cfg(unix)]
use std::sync::atomic::{AtomicBool, Ordering};
#[cfg(unix)]
use std::time::{Duration, Instant};

/// Longest wait for room on stderr, per text.
#[cfg(unix)]
const WAIT: Duration = Duration::from_millis(100);

/// Largest piece: what a pipe writes whole (`PIPE_BUF`), so a piece that `poll` said fits
/// never blocks half-written.
#[cfg(any(target_os = "linux", target_os = "android"))]
const PIECE: usize = 4096;
#[cfg(all(unix, not(any(target_os = "linux", target_os = "android"))))]
const PIECE: usize = 512;

/// A wait ran out: stderr is not being read. Cleared by the next write that gets through.
#[cfg(unix)]
static STUCK: AtomicBool = AtomicBool::new(false);

/// Writes `text` to stderr, waiting at most [`WAIT`] for room; what does not fit in time
/// is dropped.
#[cfg(unix)]
pub(crate) fn write(text: &[u8]) {
    let wait = if STUCK.load(Ordering::Relaxed) {
        Duration::ZERO
    } else {
        WAIT
    };
    let deadline = Instant::now() + wait;
    let mut rest = text;
    while !rest.is_empty() {
        let left = deadline.saturating_duration_since(Instant::now());
        match wait_writable(left) {
            Ready::Yes => {}
            Ready::TimedOut => {
                STUCK.store(true, Ordering::Relaxed);
                return;
            }
            Ready::Closed => return,
        }
        let piece = piece(rest);
        // SAFETY: `write` reads `piece.len()` bytes from a live slice; descriptor 2 is
        // only written to, never closed, here.
        let n = unsafe { libc::write(2, piece.as_ptr().cast(), piece.len()) };
        match usize::try_from(n) {
            Ok(n) => rest = &rest[n.min(rest.len())..],
            Err(_) => {
                let error = std::io::Error::last_os_error();
                if !matches!(
                    error.kind(),
                    std::io::ErrorKind::Interrupted | std::io::ErrorKind::WouldBlock
                ) {
                    return;
                }
            }
        }
    }
    STUCK.store(false, Ordering::Relaxed);
}

#[cfg(not(unix))]
pub(crate) fn write(text: &[u8]) {
    let _ = std::io::Write::write_all(&mut std::io::stderr(), text);
}

/// The first piece of `rest`: whole lines up to [`PIECE`] bytes when they fit.
#[cfg(unix)]
fn piece(rest: &[u8]) -> &[u8] {
    if rest.len() <= PIECE {
        return rest;
    }
    match rest[..PIECE].iter().rposition(|b| *b == b'\n') {
        Some(i) => &rest[..=i],
        None => &rest[..PIECE],
    }
}

#[cfg(unix)]
enum Ready {
    Yes,
    TimedOut,
    /// Closed or broken: nothing will ever be read.
    Closed,
}

#[cfg(unix)]
fn wait_writable(within: Duration) -> Ready {
    let deadline = Instant::now() + within;
    loop {
        let mut fd = libc::pollfd {
            fd: 2,
            events: libc::POLLOUT,
            revents: 0,
        };
        let ms = deadline
            .saturating_duration_since(Instant::now())
            .as_millis()
            .min(i32::MAX as u128) as i32;
        // SAFETY: `fd` is one valid pollfd on the stack for the call.
        let rc = unsafe { libc::poll(&mut fd, 1, ms) };
        if rc > 0 {
            return if fd.revents & (libc::POLLERR | libc::POLLHUP | libc::POLLNVAL) != 0 {
                Ready::Closed
            } else {
                Ready::Yes
            };
        }
        if rc == 0 {
            return Ready::TimedOut;
        }
        if std::io::Error::last_os_error().kind() != std::io::ErrorKind::Interrupted {
            return Ready::Closed;
        }
    }
}
