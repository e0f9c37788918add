//! The hand-off from the threads that record events to the background thread.
//!
//! `submit` is on every event's hot path. Each recording thread appends to its own buffer
//! (locked by the background thread only to collect it, see `local_buffer`) and hands a
//! full buffer of [`LOCAL_BATCH`] records to std's lock-free channel in one send. Per event:
//! no syscall and no shared cache line written; one allocation (the next buffer) per
//! [`LOCAL_BATCH`] events. Sending every record on its own, as a first version did, wrote the channel's
//! tail and a shared counter on every event, and those lines bounced between the recording
//! core and the background thread's: it cost about 1.6× a fastrace span (BENCHMARKS.md).
//!
//! Buffers not yet full are collected by the background thread whenever the channel runs
//! empty and before it answers a flush, so a thread that records a few events and then
//! blocks (a step waiting on `cargo build`) does not hold them back, and a thread that exits
//! leaves its buffer behind for collection. The background thread never sleeps in `recv` (a
//! sender would then have to wake it with a syscall), but polls on a timer; a sender wakes it
//! when the records waiting reach a full upload batch, and a flush wakes it explicitly.
//!
//! The channel is bounded by a limit the senders read at hand-off: the memory bound
//! normally, zero when memory is full and there is no spool to spill to. A buffer over the
//! limit is dropped and counted, never waited for: only a program recording events faster
//! than the background thread can encode and spool them (hundreds of thousands per second)
//! gets there.

use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::mpsc::{self, Receiver, Sender, TryRecvError};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use tokio::sync::Notify;

use super::FlushReport;
use super::local_buffer::LocalBuffer;
use crate::event::Record;

/// Records a thread collects before handing them over in one send.
pub(crate) const LOCAL_BATCH: usize = 64;

/// What the background thread is given, one at a time.
pub(crate) enum Msg {
    Record(Record),
    Flush(FlushRequest),
}

/// What travels through the channel.
enum Wire {
    Records(Vec<Record>),
    Flush(FlushRequest),
}

thread_local! {
    /// This thread's buffer, with the address of the channel it is registered with.
    static LOCAL: RefCell<Option<(usize, Arc<LocalBuffer>)>> = const { RefCell::new(None) };
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
    /// Records the background thread took and has not yet settled (encoded, and counted in
    /// `held` or written): between taking and settling they are in neither place.
    transit: AtomicUsize,
    /// Own events the background thread holds, not yet delivered, spooled or dropped.
    held: AtomicUsize,
    /// Most records the channel may hold; past it `submit` drops.
    limit: AtomicUsize,
    /// The usual limit, the memory bound.
    bound: usize,
    /// Records dropped by `submit`, not yet counted in a report.
    refused: AtomicU64,
    /// Every recording thread's buffer, live or left behind by a thread that exited.
    locals: Mutex<Vec<Arc<LocalBuffer>>>,
    /// Wakes the background thread.
    pub(crate) wake: Notify,
    /// `queued` value at which a sender wakes the background thread.
    wake_at: usize,
}

/// The senders' end, held by the process-wide runtime.
#[derive(Debug)]
pub(crate) struct Producer {
    tx: Sender<Wire>,
    shared: Arc<Shared>,
}

/// The background thread's end.
#[derive(Debug)]
pub(crate) struct Consumer {
    rx: Receiver<Wire>,
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

/// A channel that wakes its consumer every `wake_at` records and holds at most `bound`.
pub(crate) fn channel(wake_at: usize, bound: usize) -> (Producer, Consumer) {
    let (tx, rx) = mpsc::channel();
    let shared = Arc::new(Shared {
        queued: AtomicUsize::new(0),
        transit: AtomicUsize::new(0),
        held: AtomicUsize::new(0),
        limit: AtomicUsize::new(bound),
        bound,
        refused: AtomicU64::new(0),
        locals: Mutex::new(Vec::new()),
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

impl std::fmt::Debug for Wire {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Wire::Records(r) => write!(f, "Records({})", r.len()),
            Wire::Flush(_) => f.write_str("Flush"),
        }
    }
}

impl Producer {
    #[inline]
    pub(crate) fn submit(&self, record: Record) {
        let id = Arc::as_ptr(&self.shared) as usize;
        let mut record = Some(record);
        let full = LOCAL.try_with(|slot| {
            let mut slot = slot.try_borrow_mut().ok()?;
            let local = match &*slot {
                Some((owner, local)) if *owner == id => local,
                _ => &slot.insert((id, self.register())).1,
            };
            local.with(|records| {
                records.extend(record.take());
                (records.len() >= LOCAL_BATCH)
                    .then(|| std::mem::replace(records, Vec::with_capacity(LOCAL_BATCH)))
            })
        });
        match (full, record) {
            (Ok(Some(full)), _) => self.hand_over(full),
            // The thread is exiting (its locals are gone) or re-entered: send it alone.
            (_, Some(record)) => self.hand_over(vec![record]),
            _ => {}
        }
    }

    fn register(&self) -> Arc<LocalBuffer> {
        let local = Arc::new(LocalBuffer::with_capacity(LOCAL_BATCH));
        self.shared
            .locals
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(Arc::clone(&local));
        local
    }

    /// Sends a thread's records, or drops (and counts) them past the limit.
    fn hand_over(&self, records: Vec<Record>) {
        let shared = &*self.shared;
        let n = records.len();
        // Racy by design: a few senders at once may pass the limit by a buffer each.
        if shared.queued.load(Relaxed) >= shared.limit.load(Relaxed) {
            shared.refused.fetch_add(n as u64, Relaxed);
            return;
        }
        // Counted before sending: the consumer's decrement, which follows its receive, then
        // can never come first and wrap the counter.
        let before = shared.queued.fetch_add(n, Relaxed);
        if self.tx.send(Wire::Records(records)).is_err() {
            // The background thread is gone (it could not start).
            shared.queued.fetch_sub(n, Relaxed);
            shared.refused.fetch_add(n as u64, Relaxed);
            return;
        }
        if before < shared.wake_at && before + n >= shared.wake_at {
            shared.wake.notify_one();
        }
    }

    /// Hands a flush to the background thread and wakes it; `false` if it is gone.
    pub(crate) fn flush(&self, request: FlushRequest) -> bool {
        let sent = self.tx.send(Wire::Flush(request)).is_ok();
        self.shared.wake.notify_one();
        sent
    }

    /// Whether any record is waiting or held (not yet delivered, spooled or dropped).
    pub(crate) fn pending(&self) -> bool {
        let shared = &*self.shared;
        shared.queued.load(Relaxed) > 0
            || shared.transit.load(Relaxed) > 0
            || shared.held.load(Relaxed) > 0
            || shared
                .locals
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .iter()
                .any(|l| l.with(|r| !r.is_empty()))
    }
}

impl Consumer {
    /// Takes up to about `limit` records (and any flushes among them) without blocking.
    /// When the channel runs empty, and before a flush is handed on, the records still in
    /// the recording threads' buffers are collected too.
    pub(crate) fn take(&self, limit: usize, mut f: impl FnMut(Msg)) -> Taken {
        let mut records = 0;
        loop {
            if records >= limit {
                break Taken::More;
            }
            match self.rx.try_recv() {
                Ok(Wire::Records(batch)) => {
                    self.shared.transit.fetch_add(batch.len(), Relaxed);
                    self.shared.queued.fetch_sub(batch.len(), Relaxed);
                    records += batch.len();
                    batch.into_iter().for_each(|r| f(Msg::Record(r)));
                }
                Ok(Wire::Flush(request)) => {
                    records += self.collect(&mut f);
                    f(Msg::Flush(request));
                }
                Err(TryRecvError::Empty) => {
                    let collected = self.collect(&mut f);
                    records += collected;
                    if collected == 0 {
                        break Taken::Empty;
                    }
                }
                Err(TryRecvError::Disconnected) => {
                    self.collect(&mut f);
                    break Taken::Closed;
                }
            }
        }
    }

    /// Takes every recording thread's buffered records; forgets the buffers of threads
    /// that exited once they are empty.
    fn collect(&self, f: &mut impl FnMut(Msg)) -> usize {
        let mut locals = self
            .shared
            .locals
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let mut n = 0;
        locals.retain(|local| {
            // Counted in transit before they leave the buffer, so that `pending` never sees
            // them nowhere.
            let records = local.with(|r| {
                if r.is_empty() {
                    return Vec::new();
                }
                self.shared.transit.fetch_add(r.len(), Relaxed);
                // Leave a full-size buffer: an empty one would make the recording thread
                // grow it again, reallocation by reallocation, on its hot path.
                std::mem::replace(r, Vec::with_capacity(LOCAL_BATCH))
            });
            n += records.len();
            records.into_iter().for_each(|r| f(Msg::Record(r)));
            // Only this list holds the buffer: its thread is gone and will not refill it.
            Arc::strong_count(local) > 1
        });
        n
    }

    /// Everything taken so far is settled: counted in `held`, written or dropped.
    pub(crate) fn settled(&self) {
        self.shared.transit.store(0, Relaxed);
    }

    /// Publishes how many own events the background thread holds.
    pub(crate) fn set_held(&self, n: usize) {
        self.shared.held.store(n, Relaxed);
    }

    /// Makes `submit` drop (and count) every record, or only those past the memory bound.
    pub(crate) fn set_refuse(&self, refuse: bool) {
        let limit = if refuse { 0 } else { self.shared.bound };
        if self.shared.limit.load(Relaxed) != limit {
            self.shared.limit.store(limit, Relaxed);
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
