//! The hand-off from the threads that record events to the background thread.
//!
//! `submit` is on every event's hot path, so in the common case it is one relaxed atomic
//! increment plus a push onto std's unbounded lock-free channel (which allocates one block per
//! 31 messages, not per message): no lock, no syscall. The background thread never sleeps in
//! `recv` — a sender would then have to wake it with a syscall on every event — but polls on a
//! timer, and a sender wakes it only when the number of waiting records reaches a full batch.
//! A flush wakes it explicitly.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::mpsc::{self, Receiver, Sender, TryRecvError};
use std::time::Instant;

use tokio::sync::Notify;

use super::FlushReport;
use crate::event::Record;

/// What travels to the background thread.
pub(crate) enum Msg {
    Record(Record),
    Flush(FlushRequest),
}

/// A caller waiting in `flush`: everything sent before this message is its business.
#[derive(Debug)]
pub(crate) struct FlushRequest {
    pub(crate) deadline: Instant,
    /// The process is about to exit: also replay the spool (until the deadline), since no
    /// later moment in this process will.
    pub(crate) exit: bool,
    pub(crate) reply: Sender<FlushReport>,
}

/// State both sides see.
#[derive(Debug)]
pub(crate) struct Shared {
    /// Records sent and not yet taken by the background thread.
    queued: AtomicUsize,
    /// Own events the background thread holds, not yet delivered, spooled or dropped.
    held: AtomicUsize,
    /// Memory and spool are both exhausted: drop new records at once.
    refuse: AtomicBool,
    /// Records dropped by `submit`, not yet counted in a report.
    refused: AtomicU64,
    /// Wakes the background thread.
    pub(crate) wake: Notify,
    /// `queued` value at which a sender wakes the background thread.
    wake_at: usize,
}

/// The senders' end, held by the process-wide runtime.
#[derive(Debug)]
pub(crate) struct Producer {
    tx: Sender<Msg>,
    shared: Arc<Shared>,
}

/// The background thread's end.
#[derive(Debug)]
pub(crate) struct Consumer {
    rx: Receiver<Msg>,
    pub(crate) shared: Arc<Shared>,
}

/// What [`Consumer::take`] found after taking what it could.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Taken {
    /// The channel is empty for now.
    Empty,
    /// The limit was reached; more is waiting.
    More,
    /// Every sender is gone.
    Closed,
}

pub(crate) fn channel(wake_at: usize) -> (Producer, Consumer) {
    let (tx, rx) = mpsc::channel();
    let shared = Arc::new(Shared {
        queued: AtomicUsize::new(0),
        held: AtomicUsize::new(0),
        refuse: AtomicBool::new(false),
        refused: AtomicU64::new(0),
        wake: Notify::new(),
        wake_at: wake_at.max(1),
    });
    (
        Producer {
            tx,
            shared: Arc::clone(&shared),
        },
        Consumer { rx, shared },
    )
}

impl Producer {
    #[inline]
    pub(crate) fn submit(&self, record: Record) {
        let shared = &*self.shared;
        if shared.refuse.load(Relaxed) {
            shared.refused.fetch_add(1, Relaxed);
            return;
        }
        // Counted before sending: the consumer's decrement, which follows its receive, then
        // can never come first and wrap the counter.
        let n = shared.queued.fetch_add(1, Relaxed) + 1;
        if self.tx.send(Msg::Record(record)).is_err() {
            // The background thread is gone (it could not start).
            shared.queued.fetch_sub(1, Relaxed);
            shared.refused.fetch_add(1, Relaxed);
            return;
        }
        if n == shared.wake_at {
            shared.wake.notify_one();
        }
    }

    /// Hands a flush to the background thread and wakes it; `false` if it is gone.
    pub(crate) fn flush(&self, request: FlushRequest) -> bool {
        let sent = self.tx.send(Msg::Flush(request)).is_ok();
        self.shared.wake.notify_one();
        sent
    }

    /// Whether any record is waiting or held (not yet delivered, spooled or dropped).
    pub(crate) fn pending(&self) -> bool {
        self.shared.queued.load(Relaxed) > 0 || self.shared.held.load(Relaxed) > 0
    }
}

impl Consumer {
    /// Takes up to `limit` messages without blocking.
    pub(crate) fn take(&self, limit: usize, mut f: impl FnMut(Msg)) -> Taken {
        let mut records = 0;
        let mut taken = Taken::More;
        for _ in 0..limit {
            match self.rx.try_recv() {
                Ok(msg) => {
                    if matches!(msg, Msg::Record(_)) {
                        records += 1;
                    }
                    f(msg);
                }
                Err(TryRecvError::Empty) => {
                    taken = Taken::Empty;
                    break;
                }
                Err(TryRecvError::Disconnected) => {
                    taken = Taken::Closed;
                    break;
                }
            }
        }
        if records > 0 {
            self.shared.queued.fetch_sub(records, Relaxed);
        }
        taken
    }

    /// Records sent and not yet taken.
    pub(crate) fn queued(&self) -> usize {
        self.shared.queued.load(Relaxed)
    }

    /// Publishes how many own events the background thread holds.
    pub(crate) fn set_held(&self, n: usize) {
        self.shared.held.store(n, Relaxed);
    }

    /// Makes `submit` drop (and count) instead of queueing, or queue again.
    pub(crate) fn set_refuse(&self, refuse: bool) {
        if self.shared.refuse.load(Relaxed) != refuse {
            self.shared.refuse.store(refuse, Relaxed);
        }
    }

    /// Records `submit` dropped since the last call.
    pub(crate) fn take_refused(&self) -> u64 {
        if self.shared.refused.load(Relaxed) == 0 {
            return 0;
        }
        self.shared.refused.swap(0, Relaxed)
    }
}
