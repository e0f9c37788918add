//! The hand-off from the threads that record events to the background thread: the hot
//! path's only way into the slow path, and the only hot-path module the pipeline sees.
//! Here, the channel and its sending end ([`Producer`]); a recording thread's end in
//! [`outbox`], the background thread's in [`consumer`], the process-wide slot (and what a
//! forked child does with it) in [`process_slot`], the messages the background thread is
//! given in [`message`].
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
//! normally, zero when memory is full and there is no spool to write to. A chunk over the
//! limit goes to the senders' [`overflow`] while it has room, else it is dropped and
//! counted; it is never waited for.
//!
//! The process's producer lives in a slot here ([`process_slot`]), installed once by
//! `global` (the only writer), so the hot path reaches it without going up a layer. The
//! names of the threads that record events are noted as they register ([`thread_names`]).

mod chunk;
mod consumer;
mod message;
mod outbox;
mod overflow;
mod process_slot;
mod thread_names;
mod wake;

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::Relaxed, Ordering::SeqCst};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use crate::model::flush_report::FlushReport;
use crate::platform::clock;
use crate::record::Frame;
use crate::record::overflow::Bounds;
use chunk::{Chunk, Mailbox, Pool};
pub(crate) use consumer::ChannelState;
pub(crate) use message::{FlushRequest, Msg};
pub(crate) use outbox::{Outbox, submit_alone};
pub(crate) use process_slot::{
    announce, disown, flush, flush_at_exit, flush_at_exit_hook, flush_spool, install,
    request_exit_flush,
};
pub(crate) use thread_names::ThreadNames;
use wake::Wake;

/// Records a thread collects before handing them over in one send.
pub(crate) const LOCAL_BATCH: usize = 64;

/// Beyond its timeout, a flush waits this much more for the background thread's answer: the
/// time to write what was not delivered to the spool.
const SPOOL_MARGIN: Duration = Duration::from_millis(500);

/// What travels through the channel.
enum Parcel {
    /// A chunk the background thread alone can reach now, and how many records it held
    /// when sent (the count `queued` went up by).
    Records(Arc<Chunk>, usize),
    Flush(FlushRequest),
    /// A running event to send as a *started* event now (see [`announce`]).
    Started(Frame),
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

fn disowned() -> bool {
    DISOWNED.load(Relaxed)
}

/// The senders' end, held in the process-wide slot.
#[derive(Debug)]
pub(crate) struct Producer {
    tx: Sender<Parcel>,
    shared: Arc<Shared>,
}

/// The background thread's end.
#[derive(Debug)]
pub(crate) struct Consumer {
    rx: Receiver<Parcel>,
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
    overflow: overflow::SendersOverflow,
    /// Every recording thread's mailbox, live or left behind by a thread that exited.
    locals: Mutex<Vec<Arc<Mailbox>>>,
    /// Emptied chunks, for reuse.
    pool: Pool,
    /// The names of the threads that recorded events.
    names: Arc<ThreadNames>,
    /// Wakes the background thread.
    wake: Wake,
    /// `queued` value at which a sender wakes the background thread.
    wake_at: usize,
}

/// A channel that wakes its consumer every `wake_at` records and holds at most `bound`;
/// past that, records go to an overflow within `overflow`.
pub(crate) fn channel(wake_at: usize, bound: usize, overflow: Bounds) -> (Producer, Consumer) {
    let (tx, rx) = mpsc::channel();
    let shared = Arc::new(Shared {
        queued: AtomicUsize::new(0),
        transit: AtomicUsize::new(0),
        held: AtomicUsize::new(0),
        limit: AtomicUsize::new(bound),
        bound,
        refused: AtomicU64::new(0),
        overflow: overflow::SendersOverflow::new(overflow),
        locals: Mutex::new(Vec::new()),
        pool: Pool::default(),
        names: Arc::default(),
        wake: Wake::default(),
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

impl std::fmt::Debug for Parcel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Parcel::Records(_, n) => write!(f, "Records({n})"),
            Parcel::Flush(_) => f.write_str("Flush"),
            Parcel::Started(_) => f.write_str("Started"),
        }
    }
}

impl Producer {
    /// Sends a thread's records, or drops (and counts) them past the limit.
    fn hand_over(&self, chunk: Arc<Chunk>) {
        if disowned() {
            return;
        }
        let shared = &*self.shared;
        let n = chunk.waiting();
        // Racy by design: a few senders at once may pass the limit by a chunk each.
        // Past the live tag bytes, refused: the overflow would only move them to disk while
        // the process keeps recording.
        if crate::model::tag_bytes::live_over() {
            shared.refused.fetch_add(n as u64, Relaxed);
            return;
        }
        let limit = shared.limit.load(Relaxed);
        if shared.queued.load(Relaxed) >= limit {
            // A zero limit means nowhere to keep them: refuse.
            if limit == 0 || !shared.overflow.keep(&chunk) {
                shared.refused.fetch_add(n as u64, Relaxed);
            }
            return;
        }
        // Counted before sending: the consumer's decrement, which follows its receive, then
        // can never come first and wrap the counter.
        let before = shared.queued.fetch_add(n, Relaxed);
        if self.tx.send(Parcel::Records(chunk, n)).is_err() {
            // The background thread is gone (it could not start).
            shared.queued.fetch_sub(n, Relaxed);
            shared.refused.fetch_add(n as u64, Relaxed);
            return;
        }
        if before < shared.wake_at && before + n >= shared.wake_at {
            shared.wake.notify();
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
        let sent = self.tx.send(Parcel::Flush(request)).is_ok();
        self.shared.wake.notify();
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
            || shared.overflow.held() > 0
    }
}
