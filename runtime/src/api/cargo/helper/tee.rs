//! A test binary's stdout passed on to ours as it comes, read on the way for libtest's
//! summary lines. Used only when our stdout is not a terminal (CI logs, pipes, files), where
//! a pipe in between changes nothing the binary can see; at a terminal the binary keeps the
//! terminal and its counts go unread.

use std::io::{Read, Write};
use std::process::ChildStdout;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::thread;
use std::time::Duration;

use super::libtest::Scanner;
use crate::api::cargo::message::TestCounts;

/// How long the output may stall after the binary exited before we stop waiting for it: a
/// process the binary left running may hold the pipe open for ever.
const STALL: Duration = Duration::from_millis(200);

/// The thread passing the output on.
#[derive(Debug)]
pub(crate) struct Tee {
    done: Receiver<Option<TestCounts>>,
    passed: Arc<AtomicU64>,
}

/// Starts passing `pipe` on to our stdout.
pub(crate) fn start(mut pipe: ChildStdout) -> Tee {
    let (tx, done) = mpsc::channel();
    let passed = Arc::new(AtomicU64::new(0));
    let progress = Arc::clone(&passed);
    // Should the thread not start, the pipe closes with the closure and `finish` knows
    // nothing; it never happens in practice.
    let _ = thread::Builder::new()
        .name("trunk-cargo-tee".into())
        .spawn(move || {
            let mut scanner = Scanner::default();
            let mut buf = vec![0u8; 16 * 1024];
            let mut out = std::io::stdout();
            let mut out_ok = true;
            loop {
                let n = match pipe.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => n,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    Err(_) => break,
                };
                // Flushed at once: the binary's partial lines (`test a ... `) show as it
                // writes them. If our stdout is gone, keep draining so the binary never
                // blocks on a full pipe.
                if out_ok {
                    out_ok = out.write_all(&buf[..n]).and_then(|()| out.flush()).is_ok();
                }
                scanner.feed(&buf[..n]);
                progress.fetch_add(n as u64, Ordering::Relaxed);
            }
            let _ = tx.send(scanner.counts());
        });
    Tee { done, passed }
}

impl Tee {
    /// The counts, once the binary has exited and its output is through (or stalled).
    pub(crate) fn finish(self) -> Option<TestCounts> {
        let mut seen = self.passed.load(Ordering::Relaxed);
        loop {
            match self.done.recv_timeout(STALL) {
                Ok(counts) => return counts,
                Err(RecvTimeoutError::Disconnected) => return None,
                Err(RecvTimeoutError::Timeout) => {
                    let now = self.passed.load(Ordering::Relaxed);
                    if now == seen {
                        return None;
                    }
                    seen = now;
                }
            }
        }
    }
}
