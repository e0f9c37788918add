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

mod batch;
mod breaker;
mod encoder;
pub(crate) mod exit_hook;
mod http;
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
use crate::event::Record;
use queue::{FlushRequest, Producer};

/// Beyond its timeout, a flush waits this much more for the background thread's answer: the
/// time to write what was not delivered to the spool.
const SPOOL_MARGIN: Duration = Duration::from_millis(500);

/// Handle held by the process-wide runtime.
#[derive(Debug)]
pub(crate) struct Pipeline {
    producer: Producer,
}

impl Pipeline {
    pub(crate) fn start(config: Config) -> Pipeline {
        let (producer, consumer) = queue::channel(config.tuning.batch_size);
        if let Err(e) = worker::spawn(config, consumer) {
            crate::log!(
                Error,
                "cannot start the background thread: {e}; events are not recorded"
            );
        }
        Pipeline { producer }
    }

    /// Hands a finished event to the background thread. Never blocks.
    #[inline]
    pub(crate) fn submit(&self, record: Record) {
        self.producer.submit(record);
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
