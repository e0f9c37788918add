//! The hand-off from the threads that record events to the background thread.
//!
//! `submit_frame` is on every event's hot path. Each recording thread moves the finished
//! frame straight into its own outbox (which the background thread can empty from outside
//! without a lock, see `outbox`) and hands a full chunk of [`LOCAL_BATCH`] records to std's
//! lock-free channel in one send. Per event: no syscall, no locked instruction and no shared
//! cache line written; per [`LOCAL_BATCH`] events, one channel send and a chunk from the
//! pool of emptied ones (or a new one). Sending every record on its own, as a first version
//! did, wrote the channel's tail and a shared counter on every event, and those lines
//! bounced between the recording core and the background thread's: it cost about 1.6× a
//! fastrace span (BENCHMARKS.md).
//!
//! Chunks not yet full are collected by the background thread whenever the channel runs
//! empty and before it answers a flush, so a thread that records a few events and then
//! blocks (a step waiting on `cargo build`) does not hold them back, and a thread that exits
//! leaves its chunk behind for collection. The background thread never sleeps in `recv` (a
//! sender would then have to wake it with a syscall), but polls on a timer; a sender wakes it
//! when the records waiting reach a full upload batch, and a flush wakes it explicitly.
//!
//! The channel is bounded by a limit the senders read at hand-off: the memory bound
//! normally, zero when memory is full and there is no spool to spill to. A chunk over the
//! limit is dropped and counted, never waited for: only a program recording events faster
//! than the background thread can encode and spool them (hundreds of thousands per second)
//! gets there.

use std::sync::atomic::{
    AtomicU64, AtomicUsize, Ordering::Acquire, Ordering::Relaxed, Ordering::SeqCst,
};
use std::sync::mpsc::{self, Receiver, Sender, TryRecvError};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use tokio::sync::Notify;

use super::FlushReport;
use super::outbox::{Chunk, Mailbox, Pool, Writer};
use crate::Conclusion;
use crate::event::{Frame, Record};

/// Records a thread collects before handing them over in one send.
pub(crate) const LOCAL_BATCH: usize = 64;

/// What the background thread is given, one at a time.
pub(crate) enum Msg {
    Record(Record),
    Flush(FlushRequest),
}

/// What travels through the channel.
enum Wire {
    /// A chunk the background thread alone can reach now, and how many records it held
    /// when sent (the count `queued` went up by).
    Records(Arc<Chunk>, usize),
    Flush(FlushRequest),
}

/// A recording thread's end of the hand-off: the chunk it writes and where the background
/// thread finds it. It lives in the thread's hot-path state (`context`), beside the
/// context stack, so that finishing an event looks up one thread-local, not two.
#[derive(Debug)]
pub(crate) struct Outbox(Option<Registered>);

#[derive(Debug)]
struct Registered {
    /// The address of the channel's shared state it is registered with.
    owner: usize,
    writer: Writer,
    mailbox: Arc<Mailbox>,
}

impl Outbox {
    /// Not registered yet: the first event this thread finishes registers it.
    pub(crate) const fn new() -> Outbox {
        Outbox(None)
    }
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
    /// Most records the channel may hold; past it `submit_frame` drops.
    limit: AtomicUsize,
    /// The usual limit, the memory bound.
    bound: usize,
    /// Records dropped by `submit_frame`, not yet counted in a report.
    refused: AtomicU64,
    /// Every recording thread's mailbox, live or left behind by a thread that exited.
    locals: Mutex<Vec<Arc<Mailbox>>>,
    /// Emptied chunks, for reuse.
    pool: Pool,
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
        pool: Pool::default(),
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
            Wire::Records(_, n) => write!(f, "Records({n})"),
            Wire::Flush(_) => f.write_str("Flush"),
        }
    }
}

impl Producer {
    /// Moves the frame at `frame` into `outbox` (this thread's) as a finished record; without
    /// one (the thread is exiting, or its state is in use) the record is sent alone.
    ///
    /// # Safety
    /// `frame` is valid for reads, and the caller treats it as moved out when this returns.
    #[inline]
    pub(crate) unsafe fn submit_frame(
        &self,
        outbox: Option<&mut Outbox>,
        frame: *const Frame,
        end: u64,
        conclusion: Conclusion,
    ) {
        let Some(outbox) = outbox else {
            // SAFETY: our own contract.
            let frame = unsafe { frame.read() };
            let record = Record {
                frame,
                end,
                conclusion,
            };
            return self.hand_over(Writer::single(record));
        };
        let id = Arc::as_ptr(&self.shared) as usize;
        let registered = match &mut outbox.0 {
            Some(r) if r.owner == id => r,
            slot => slot.insert(self.register(id)),
        };
        // SAFETY: our own contract.
        if unsafe { registered.writer.push_frame(frame, end, conclusion) } {
            let full = registered
                .writer
                .replace(&registered.mailbox, &self.shared.pool);
            self.hand_over(full);
        }
    }

    #[cold]
    fn register(&self, owner: usize) -> Registered {
        let mailbox = Arc::new(Mailbox::default());
        self.shared
            .locals
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(Arc::clone(&mailbox));
        Registered {
            owner,
            writer: Writer::new(&mailbox, &self.shared.pool),
            mailbox,
        }
    }

    /// Sends a thread's records, or drops (and counts) them past the limit.
    fn hand_over(&self, chunk: Arc<Chunk>) {
        let shared = &*self.shared;
        let n = chunk.waiting();
        // Racy by design: a few senders at once may pass the limit by a chunk each.
        if shared.queued.load(Relaxed) >= shared.limit.load(Relaxed) {
            shared.refused.fetch_add(n as u64, Relaxed);
            return;
        }
        // Counted before sending: the consumer's decrement, which follows its receive, then
        // can never come first and wrap the counter.
        let before = shared.queued.fetch_add(n, Relaxed);
        if self.tx.send(Wire::Records(chunk, n)).is_err() {
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
        // In the order records move (outbox or channel, then transit, then held), so that
        // one moving on while we look is seen at its next stop.
        let shared = &*self.shared;
        shared
            .locals
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .any(|mailbox| mailbox.waiting() > 0)
            || shared.queued.load(SeqCst) > 0
            || shared.transit.load(SeqCst) > 0
            || shared.held.load(SeqCst) > 0
    }
}

impl Consumer {
    /// Takes up to about `limit` records (and any flushes among them) without blocking.
    /// When the channel runs empty, and before a flush is handed on, the records still in
    /// the recording threads' outboxes are collected too.
    pub(crate) fn take(&self, limit: usize, mut f: impl FnMut(Msg)) -> Taken {
        let mut records = 0;
        loop {
            if records >= limit {
                break Taken::More;
            }
            match self.rx.try_recv() {
                Ok(Wire::Records(chunk, n)) => {
                    self.shared.transit.fetch_add(n, Relaxed);
                    self.shared.queued.fetch_sub(n, Relaxed);
                    records += n;
                    chunk.take().for_each(|r| f(Msg::Record(r)));
                    self.shared.pool.give(chunk);
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

    /// Takes every recording thread's waiting records; forgets the mailboxes of threads
    /// that exited once they are empty.
    fn collect(&self, f: &mut impl FnMut(Msg)) -> usize {
        let mut locals = self
            .shared
            .locals
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let mut n = 0;
        locals.retain(|mailbox| {
            // Looked at before collecting: a thread seen gone wrote its last record before
            // it went (the acquire fence pairs with the release of its `Arc` drop), so this
            // collection gets everything; a thread seen alive keeps its mailbox for the next.
            let alive = Arc::strong_count(mailbox) > 1;
            if !alive {
                std::sync::atomic::fence(Acquire);
            }
            n += mailbox
                .collect(|taken| {
                    // Counted in transit before they leave the chunk, so that `pending` never
                    // sees them nowhere.
                    let n = taken.len();
                    self.shared.transit.fetch_add(n, Relaxed);
                    taken.for_each(|r| f(Msg::Record(r)));
                    n
                })
                .unwrap_or(0);
            alive
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

    /// Makes `submit_frame` drop (and count) every record, or only those past the memory bound.
    pub(crate) fn set_refuse(&self, refuse: bool) {
        let limit = if refuse { 0 } else { self.shared.bound };
        if self.shared.limit.load(Relaxed) != limit {
            self.shared.limit.store(limit, Relaxed);
        }
    }

    /// Records `submit_frame` dropped since the last call.
    pub(crate) fn take_refused(&self) -> u64 {
        if self.shared.refused.load(Relaxed) == 0 {
            return 0;
        }
        self.shared.refused.swap(0, Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::tests::record;

    /// Submits the frame of `record(id)` the way a finishing event does.
    fn submit(producer: &Producer, outbox: Option<&mut Outbox>, id: u64) {
        let r = std::mem::ManuallyDrop::new(record(id));
        // SAFETY: `r.frame` is valid and never used or dropped after.
        unsafe { producer.submit_frame(outbox, &r.frame, r.end, r.conclusion) };
    }

    fn take_ids(consumer: &Consumer) -> (Vec<u64>, Taken) {
        let mut ids = Vec::new();
        let taken = consumer.take(usize::MAX, |msg| {
            if let Msg::Record(r) = msg {
                ids.push(r.frame.id);
            }
        });
        ids.sort_unstable();
        (ids, taken)
    }

    #[test]
    fn full_chunks_and_the_partial_one_all_arrive_once() {
        let (producer, consumer) = channel(1_000, 1_000);
        let mut outbox = Outbox::new();
        let total = 2 * LOCAL_BATCH as u64 + 3;
        for id in 1..=total {
            submit(&producer, Some(&mut outbox), id);
        }
        // Without an outbox (a thread being torn down) a record goes alone.
        submit(&producer, None, total + 1);
        assert!(producer.pending());
        let (ids, taken) = take_ids(&consumer);
        assert_eq!(ids, (1..=total + 1).collect::<Vec<_>>());
        assert_eq!(taken, Taken::Empty);
        assert!(producer.pending(), "taken, not yet settled: still pending");
        consumer.settled();
        assert!(!producer.pending());

        // Chunks come back through the pool: the next ones fill and arrive the same way.
        for id in 1..=total {
            submit(&producer, Some(&mut outbox), id);
        }
        assert_eq!(take_ids(&consumer).0, (1..=total).collect::<Vec<_>>());
    }

    #[test]
    fn past_the_bound_whole_chunks_are_dropped_and_counted() {
        let (producer, consumer) = channel(1_000, LOCAL_BATCH);
        let mut outbox = Outbox::new();
        for id in 1..=3 * LOCAL_BATCH as u64 {
            submit(&producer, Some(&mut outbox), id);
        }
        // The first full chunk fits the bound; the next two are refused.
        assert_eq!(consumer.take_refused(), 2 * LOCAL_BATCH as u64);
        let (ids, _) = take_ids(&consumer);
        assert_eq!(ids, (1..=LOCAL_BATCH as u64).collect::<Vec<_>>());
    }
}
