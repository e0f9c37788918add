//! The hand-off from the threads that record events to the background thread: per-thread
//! chunks, the producer/consumer pair, and flush requests ([`command`]). The hot path's only
//! way into the slow path, and the only hot-path module the pipeline sees.
//!
//! Each recording thread moves a finished event straight from its context stack into its
//! own chunk ([`chunk`], which the background thread can empty from outside without a lock)
//! and hands a full chunk of [`LOCAL_BATCH`] records to std's lock-free channel in one send.
//! Per event: no syscall, no locked instruction and no shared cache line written; per
//! [`LOCAL_BATCH`] events, one channel send and a chunk from the pool of emptied ones (or a
//! new one).
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
//! limit goes to the [`spill`] while it has room, else it is dropped and counted; it is
//! never waited for.
//!
//! The process's producer lives in a slot here, installed once by `global` (the only
//! writer), so the hot path reaches it without going up a layer.

mod chunk;
pub(crate) mod command;
mod names;
mod spill;

use std::sync::atomic::{
    AtomicBool, AtomicU64, AtomicUsize, Ordering::Acquire, Ordering::Relaxed, Ordering::SeqCst,
};
use std::sync::mpsc::{self, Receiver, Sender, TryRecvError};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use tokio::sync::Notify;

use crate::Conclusion;
use crate::model::flush_report::FlushReport;
use crate::platform::clock;
use crate::record::overflow::Bounds;
use crate::record::running::mirror::Mirror;
use crate::record::{Entry, Record};
use chunk::{Chunk, Mailbox, Pool, Writer};
pub(crate) use command::{FlushRequest, Msg};
pub(crate) use names::ThreadNames;

/// Records a thread collects before handing them over in one send.
pub(crate) const LOCAL_BATCH: usize = 64;

/// Beyond its timeout, a flush waits this much more for the background thread's answer: the
/// time to write what was not delivered to the spool.
const SPOOL_MARGIN: Duration = Duration::from_millis(500);

/// What travels through the channel.
enum Wire {
    /// A chunk the background thread alone can reach now, and how many records it held
    /// when sent (the count `queued` went up by).
    Records(Arc<Chunk>, usize),
    Flush(FlushRequest),
}

/// A recording thread's end of the hand-off: the chunk it writes and where the background
/// thread finds it. It lives beside the thread's context stack (`stack`), so that finishing
/// an event looks up one thread-local, not two.
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

    /// Hands over the event `id` on top of `stack`, finished at `end`, retiring it from
    /// `mirror` first; a conclusion set in its body wins over `returned`. Returns whether
    /// its site asks for a flush, or `None` (nothing done) when the top of `stack` is not
    /// that event. Without a pipeline (the runtime is off) the event is dropped.
    #[inline]
    pub(crate) fn submit_top(
        &mut self,
        stack: &mut Vec<Entry>,
        mirror: &Mirror,
        id: u64,
        end: u64,
        returned: Conclusion,
    ) -> Option<bool> {
        match INSTALLED.get() {
            Some(i) => self.submit_top_to(&i.producer, stack, mirror, id, end, returned),
            None => match stack.last() {
                Some(Entry::Event(top)) if top.id == id => {
                    mirror.retire(stack.len() - 1, top);
                    let flush = top.meta.flush();
                    drop(stack.pop());
                    Some(flush)
                }
                _ => None,
            },
        }
    }

    #[inline]
    fn submit_top_to(
        &mut self,
        producer: &Producer,
        stack: &mut Vec<Entry>,
        mirror: &Mirror,
        id: u64,
        end: u64,
        returned: Conclusion,
    ) -> Option<bool> {
        let registered = self.registered(producer)?;
        let pushed = registered
            .writer
            .push_top(stack, mirror, id, end, returned)?;
        // Disowned (a forked child): the full chunk stays, and later pushes drop.
        if pushed.full && !disowned() {
            let full = registered
                .writer
                .replace(&registered.mailbox, &producer.shared.pool);
            producer.hand_over(full);
        }
        Some(pushed.flush)
    }

    /// Hands over a finished record (an event that was not on top of a stack).
    pub(crate) fn submit(&mut self, record: Record) {
        if let Some(i) = INSTALLED.get() {
            self.submit_to(&i.producer, record);
        }
    }

    fn submit_to(&mut self, producer: &Producer, record: Record) {
        let Some(registered) = self.registered(producer) else {
            return;
        };
        if registered.writer.push(record) && !disowned() {
            let full = registered
                .writer
                .replace(&registered.mailbox, &producer.shared.pool);
            producer.hand_over(full);
        }
    }

    /// This thread's registration, made now if needed; `None` in a forked child that has
    /// none (registering takes a lock another thread may have held at the fork).
    #[inline]
    fn registered(&mut self, producer: &Producer) -> Option<&mut Registered> {
        let id = Arc::as_ptr(&producer.shared) as usize;
        if self.0.as_ref().is_some_and(|r| r.owner != id) {
            self.0 = None;
        }
        if self.0.is_none() {
            if disowned() {
                return None;
            }
            self.0 = Some(producer.register(id));
        }
        self.0.as_mut()
    }
}

/// Hands over a record from a thread whose outbox cannot be had (it is exiting, or its
/// state is in use further up the call stack): it travels alone.
pub(crate) fn submit_alone(record: Record) {
    if let Some(installed) = INSTALLED.get() {
        installed.producer.hand_over(Writer::single(record));
    }
}

/// The process-wide end of the hand-off, installed once by `global`.
#[derive(Debug)]
struct Installed {
    producer: Producer,
    /// The longest wait at exit (`TRUNK_FLUSH_TIMEOUT_MS`).
    exit_timeout: Duration,
    /// When the last exit flush started: the exit hook's flush shares its budget, so a
    /// process never waits more than one exit timeout in all.
    exit_started: Mutex<Option<Instant>>,
}

static INSTALLED: OnceLock<Installed> = OnceLock::new();

/// Set in the child of a `fork`: the producer belongs to the parent, whose background
/// thread the child does not have. Read only on cold paths (registering a thread, handing
/// a chunk over, flushing), never per event.
static DISOWNED: AtomicBool = AtomicBool::new(false);

/// Gives up the installed producer in this process (a forked child): hand-offs drop their
/// records, flushes return at once. Async-signal-safe (one atomic store).
pub(crate) fn disown() {
    DISOWNED.store(true, Relaxed);
}

fn disowned() -> bool {
    DISOWNED.load(Relaxed)
}

/// Installs the process's producer; the first call wins. Only `global` calls it.
pub(crate) fn install(producer: Producer, exit_timeout: Duration) {
    let _ = INSTALLED.set(Installed {
        producer,
        exit_timeout,
        exit_started: Mutex::new(None),
    });
}

/// Waits until every event finished before the call is delivered, spooled or written, at
/// most `timeout` (plus the time to write the spool).
pub(crate) fn flush(timeout: Duration) -> FlushReport {
    match INSTALLED.get().filter(|_| !disowned()) {
        Some(i) => i.producer.flush(timeout, false),
        None => FlushReport::default(),
    }
}

/// Asks for an exit flush without waiting for it, for the background thread itself (a
/// process ending on a signal): the answer comes through the receiver, by the instant
/// returned beside it at the latest.
pub(crate) fn request_exit_flush() -> Option<(Receiver<FlushReport>, Instant)> {
    let i = INSTALLED.get().filter(|_| !disowned())?;
    let (reply, answer) = mpsc::channel();
    let deadline = clock::deadline_after(Instant::now(), i.exit_timeout);
    let request = FlushRequest {
        deadline,
        exit: true,
        reply,
    };
    i.producer.tx.send(Wire::Flush(request)).ok()?;
    Some((answer, clock::deadline_after(deadline, SPOOL_MARGIN)))
}

/// Flushes with `timeout`, replaying the spool too until it is empty or the time is up.
pub(crate) fn flush_spool(timeout: Duration) -> FlushReport {
    match INSTALLED.get() {
        Some(i) => i.producer.flush(timeout, true),
        None => FlushReport::default(),
    }
}

/// Flushes with the exit timeout, replaying the spool too while time remains: the process
/// is about to end.
pub(crate) fn flush_at_exit() -> FlushReport {
    let Some(i) = INSTALLED.get().filter(|_| !disowned()) else {
        return FlushReport::default();
    };
    *i.exit_started
        .lock()
        .unwrap_or_else(PoisonError::into_inner) = Some(Instant::now());
    i.producer.flush(i.exit_timeout, true)
}

/// The exit hook's flush: only when events are still pending, within what remains of an
/// exit flush that already ran (else the whole exit timeout). An exit flush that used its
/// whole budget leaves none: the hook then only has what is pending written to the spool,
/// so the whole exit waits one exit timeout and two spool margins at most.
pub(crate) fn flush_at_exit_hook() {
    let Some(i) = INSTALLED.get().filter(|_| !disowned()) else {
        return;
    };
    if !i.producer.pending() {
        return;
    }
    let started = *i
        .exit_started
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    let timeout = match started {
        Some(t) => i.exit_timeout.saturating_sub(t.elapsed()),
        None => i.exit_timeout,
    };
    crate::log!(
        Debug,
        "exit hook: flushing what is pending with {} ms of the exit timeout left",
        timeout.as_millis()
    );
    i.producer.flush(timeout, true);
}

/// The senders' end, held in the process-wide slot.
#[derive(Debug)]
pub(crate) struct Producer {
    tx: Sender<Wire>,
    shared: Arc<Shared>,
}

/// The background thread's end.
#[derive(Debug)]
pub(crate) struct Consumer {
    rx: Receiver<Wire>,
    shared: Arc<Shared>,
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
    /// Most records the channel may hold; past it a hand-off drops.
    limit: AtomicUsize,
    /// The usual limit, the memory bound.
    bound: usize,
    /// Records dropped at hand-off, not yet counted in a report.
    refused: AtomicU64,
    /// Where records past the limit go while it has room.
    spill: spill::Spill,
    /// Every recording thread's mailbox, live or left behind by a thread that exited.
    locals: Mutex<Vec<Arc<Mailbox>>>,
    /// Emptied chunks, for reuse.
    pool: Pool,
    /// The names of the threads that recorded events.
    names: Arc<ThreadNames>,
    /// Wakes the background thread.
    wake: Notify,
    /// `queued` value at which a sender wakes the background thread.
    wake_at: usize,
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

/// A channel that wakes its consumer every `wake_at` records and holds at most `bound`;
/// past that, records go to a spill within `spill`.
pub(crate) fn channel(wake_at: usize, bound: usize, spill: Bounds) -> (Producer, Consumer) {
    let (tx, rx) = mpsc::channel();
    let shared = Arc::new(Shared {
        queued: AtomicUsize::new(0),
        transit: AtomicUsize::new(0),
        held: AtomicUsize::new(0),
        limit: AtomicUsize::new(bound),
        bound,
        refused: AtomicU64::new(0),
        spill: spill::Spill::new(spill),
        locals: Mutex::new(Vec::new()),
        pool: Pool::default(),
        names: Arc::default(),
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
    #[cold]
    fn register(&self, owner: usize) -> Registered {
        let mailbox = Arc::new(Mailbox::default());
        self.shared
            .locals
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(Arc::clone(&mailbox));
        let thread = crate::platform::sys::thread_id();
        self.shared.names.note(thread);
        Registered {
            owner,
            writer: Writer::new(&mailbox, &self.shared.pool, thread),
            mailbox,
        }
    }

    /// Sends a thread's records, or drops (and counts) them past the limit.
    fn hand_over(&self, chunk: Arc<Chunk>) {
        if disowned() {
            return;
        }
        let shared = &*self.shared;
        let n = chunk.waiting();
        // Racy by design: a few senders at once may pass the limit by a chunk each.
        // Past the live tag bytes, refused: the spill would only move them to disk while
        // the process keeps recording.
        if crate::model::tag_bytes::live_over() {
            shared.refused.fetch_add(n as u64, Relaxed);
            return;
        }
        let limit = shared.limit.load(Relaxed);
        if shared.queued.load(Relaxed) >= limit {
            // A zero limit means nowhere to spill to: refuse.
            if limit == 0 || !shared.spill.keep(&chunk) {
                shared.refused.fetch_add(n as u64, Relaxed);
            }
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

    /// Hands a flush to the background thread and waits for its answer.
    fn flush(&self, timeout: Duration, exit: bool) -> FlushReport {
        let (reply, answer) = mpsc::channel();
        let request = FlushRequest {
            deadline: clock::deadline_after(Instant::now(), timeout),
            exit,
            reply,
        };
        let sent = self.tx.send(Wire::Flush(request)).is_ok();
        self.shared.wake.notify_one();
        if !sent {
            return FlushReport::default();
        }
        answer
            .recv_timeout(timeout.saturating_add(SPOOL_MARGIN))
            .unwrap_or(FlushReport {
                timed_out: true,
                ..FlushReport::default()
            })
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
            || shared.spill.held() > 0
    }
}

impl Consumer {
    /// The names of the threads that recorded events, as they register.
    pub(crate) fn thread_names(&self) -> Arc<ThreadNames> {
        Arc::clone(&self.shared.names)
    }

    /// Resolves when a sender or a flush wakes the background thread.
    pub(crate) async fn woken(&self) {
        self.shared.wake.notified().await;
    }

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
                    let taken = chunk.take();
                    let thread = taken.thread;
                    taken.for_each(|r| f(Msg::Record(r, thread)));
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
    /// that exited once they are empty. The records are handed to `f` only after the locks
    /// are released: `f` may write to stderr (a sink's error), which blocks while the pipe
    /// is full, and recording threads take these locks to start their next chunk.
    fn collect(&self, f: &mut impl FnMut(Msg)) -> usize {
        let mut taken_all: Vec<(Record, u64)> = Vec::new();
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
                    let thread = taken.thread;
                    taken_all.extend(taken.map(|r| (r, thread)));
                    n
                })
                .unwrap_or(0);
            alive
        });
        drop(locals);
        taken_all
            .into_iter()
            .for_each(|(r, thread)| f(Msg::Record(r, thread)));
        n
    }

    /// Records sent and not yet taken: how far the background thread is behind.
    pub(crate) fn backlog(&self) -> usize {
        self.shared.queued.load(Relaxed)
    }

    /// Records the senders spilled past the limit, waiting for [`take_spilled`](Self::take_spilled).
    pub(crate) fn spilled(&self) -> usize {
        self.shared.spill.held()
    }

    /// Gives up to `max` spilled records to `f`; returns how many. Records lost from the
    /// spill (unreadable on disk) are counted as refused.
    pub(crate) fn take_spilled(&self, max: usize, f: impl FnMut(Record, u64)) -> usize {
        let (n, lost) = self.shared.spill.pop(max, f);
        if lost > 0 {
            self.shared.refused.fetch_add(lost, Relaxed);
        }
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

    /// Makes hand-offs drop (and count) every record, or only those past the memory bound.
    pub(crate) fn set_refuse(&self, refuse: bool) {
        let limit = if refuse { 0 } else { self.shared.bound };
        if self.shared.limit.load(Relaxed) != limit {
            self.shared.limit.store(limit, Relaxed);
        }
    }

    /// Records dropped at hand-off since the last call.
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
    use crate::record::tests::record;

    /// Submits event `id` the way a finishing event does: from the top of a context stack,
    /// or (without an outbox: a thread being torn down) alone.
    fn submit(producer: &Producer, outbox: Option<&mut Outbox>, id: u64) {
        let r = record(id);
        match outbox {
            Some(outbox) => {
                let mut stack = vec![Entry::Event(r.frame)];
                let mirror = crate::record::running::mirror::acquire();
                let done =
                    outbox.submit_top_to(producer, &mut stack, mirror, id, r.end, r.conclusion);
                mirror.release();
                assert_eq!(done, Some(false));
                assert!(stack.is_empty());
            }
            None => producer.hand_over(Writer::single(r)),
        }
    }

    fn no_spill() -> Bounds {
        Bounds {
            memory_bytes: 0,
            file_bytes: 0,
            dir: None,
        }
    }

    fn take_ids(consumer: &Consumer) -> (Vec<u64>, Taken) {
        let mut ids = Vec::new();
        let taken = consumer.take(usize::MAX, |msg| {
            if let Msg::Record(r, _) = msg {
                ids.push(r.frame.id);
            }
        });
        ids.sort_unstable();
        (ids, taken)
    }

    #[test]
    fn full_chunks_and_the_partial_one_all_arrive_once() {
        let (producer, consumer) = channel(1_000, 1_000, no_spill());
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
        let (producer, consumer) = channel(1_000, LOCAL_BATCH, no_spill());
        let mut outbox = Outbox::new();
        for id in 1..=3 * LOCAL_BATCH as u64 {
            submit(&producer, Some(&mut outbox), id);
        }
        // The first full chunk fits the bound; the next two are refused.
        assert_eq!(consumer.take_refused(), 2 * LOCAL_BATCH as u64);
        let (ids, _) = take_ids(&consumer);
        assert_eq!(ids, (1..=LOCAL_BATCH as u64).collect::<Vec<_>>());
    }

    #[test]
    fn past_the_bound_chunks_are_spilled_while_the_spill_has_room() {
        let bounds = Bounds {
            memory_bytes: 10 * LOCAL_BATCH * 64,
            file_bytes: 0,
            dir: None,
        };
        let (producer, consumer) = channel(1_000, LOCAL_BATCH, bounds);
        let mut outbox = Outbox::new();
        let total = 40 * LOCAL_BATCH as u64;
        for id in 1..=total {
            submit(&producer, Some(&mut outbox), id);
        }
        let spilled = consumer.spilled() as u64;
        let refused = consumer.take_refused();
        assert!(
            spilled > 0 && refused > 0,
            "{spilled} spilled, {refused} refused"
        );
        assert!(producer.pending());
        let (mut ids, _) = take_ids(&consumer);
        let mut spilled_ids = Vec::new();
        while consumer.take_spilled(100, |r, _| spilled_ids.push(r.frame.id)) > 0 {}
        assert_eq!(consumer.spilled(), 0);
        assert_eq!(spilled_ids.len() as u64, spilled);
        assert!(
            spilled_ids.windows(2).all(|w| w[0] < w[1]),
            "spilled records come back in order"
        );
        ids.extend(spilled_ids);
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len() as u64 + refused, total);
    }
}
