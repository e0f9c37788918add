//! The slow path. Finished events go from the threads that record them, through one channel,
//! to one background thread, which encodes them to wire JSON, writes the local sinks, and
//! (with a token) uploads them in batches, spooling to disk whatever the network cannot take.
//!
//! - [`queue`]: the hand-off; the only part on the hot path.
//! - [`worker`]: the background thread and its loop; [`encoder`]: records to JSON.
//! - [`uploader`]: batches, requests, retries, flush bookkeeping; [`batch`]: request bodies.
//! - [`http`]: one request and what its answer means; [`retry`]: backoff and `Retry-After`.
//! - [`spool`]: undelivered batches on disk; [`breaker`]: the cross-process circuit breaker.
//! - [`exit_hook`]: the flush at a normal process exit.
//!
//! Choices worth knowing:
//! - **Memory bound.** `Tuning::memory_events` bounds what the background thread holds
//!   (encoded, waiting for the network): past it, sealed batches go to the spool at once. It
//!   also bounds the records waiting in the channel; senders never block, so a record past
//!   that is dropped and counted. That takes a program recording faster than the background
//!   thread encodes and spools (~400,000 events/s): a burst of 80,000 from 8 threads fits in
//!   the default of 100,000. With no usable spool, the channel takes nothing more while the
//!   thread's memory is full. A full spool evicts its oldest files (counted as dropped too).
//! - **No repository.** With a token but no repository (`TRUNK_REPO`, CI variables, git
//!   origin), no request body can be formed, nor a spool file: one error line says so, the
//!   events still reach `TRUNK_EVENTS_FILE`, and flushes count them as dropped.
//! - **Spool partitions.** One per repository and endpoint, so a token only ever sends the
//!   events its own repository's runs recorded.
//! - **Replay.** Spool files (from earlier runs, or this one's overflow) are sent when no own
//!   batch waits. A flush at exit also keeps replaying until the spool is empty or its
//!   deadline passes — the last chance for short-lived processes such as build scripts — while
//!   a plain [`flush`](Pipeline::flush) returns once this process's own events are settled.
//! - **Breaker.** Two connection failures in a row, or a request still unanswered when an
//!   exit deadline cuts it (after ≥ 250 ms), open the shared breaker for
//!   `Tuning::breaker_cooldown`; 5xx and 429 do not (the endpoint is there, just unhappy).

mod batch;
mod breaker;
mod encoder;
pub(crate) mod exit_hook;
mod http;
mod outbox;
mod queue;
mod report;
mod retry;
mod spool;
mod uploader;
mod worker;

use std::sync::mpsc;
use std::time::{Duration, Instant};

pub use report::FlushReport;

use crate::config::Config;
pub(crate) use queue::Outbox;
use queue::{FlushRequest, Producer};

/// Beyond its timeout, a flush waits this much more for the background thread's answer: the
/// time to write what was not delivered to the spool.
const SPOOL_MARGIN: Duration = Duration::from_millis(500);

/// Handle held by the process-wide runtime.
#[derive(Debug)]
pub(crate) struct Pipeline {
    /// The senders' end; finishing events hand their frames to it directly
    /// (`Producer::submit_frame`, through `global::submit_frame`).
    pub(crate) producer: Producer,
}

impl Pipeline {
    pub(crate) fn start(config: Config) -> Pipeline {
        let (producer, consumer) =
            queue::channel(config.tuning.batch_size, config.tuning.memory_events);
        if let Err(e) = worker::spawn(config, consumer) {
            crate::log!(
                Error,
                "cannot start the background thread: {e}; events are not recorded"
            );
        }
        Pipeline { producer }
    }

    /// Waits until everything submitted before the call is delivered, spooled, dropped or
    /// rejected, at most `timeout` (plus the time to write the spool).
    pub(crate) fn flush(&self, timeout: Duration) -> FlushReport {
        self.flush_with(timeout, false)
    }

    /// [`flush`](Self::flush) for a process about to exit: also replays the spool until the
    /// deadline, since this process will not get another chance.
    pub(crate) fn flush_exit(&self, timeout: Duration) -> FlushReport {
        self.flush_with(timeout, true)
    }

    /// Whether events wait in memory (not yet delivered, spooled or dropped).
    pub(crate) fn pending(&self) -> bool {
        self.producer.pending()
    }

    fn flush_with(&self, timeout: Duration, exit: bool) -> FlushReport {
        let (reply, answer) = mpsc::channel();
        let request = FlushRequest {
            deadline: Instant::now() + timeout,
            exit,
            reply,
        };
        if !self.producer.flush(request) {
            return FlushReport::default();
        }
        answer
            .recv_timeout(timeout + SPOOL_MARGIN)
            .unwrap_or(FlushReport {
                timed_out: true,
                ..FlushReport::default()
            })
    }
}
