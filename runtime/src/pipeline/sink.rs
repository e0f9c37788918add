//! What the background thread hands finished events to.

use std::task::{Context, Poll};
use std::time::Instant;

use crate::model::flush_report::FlushReport;
use crate::record::{Frame, Record};

/// A flush as a sink sees it: everything it took before is the flush's business.
#[derive(Clone, Copy, Debug)]
pub(crate) struct SinkFlush {
    /// Names the flush in [`Sink::answered`].
    pub(crate) ticket: u64,
    pub(crate) deadline: Instant,
    /// The process is about to exit: also replay the spool until the deadline.
    pub(crate) exit: bool,
}

/// One destination of finished events. Local sinks (a file, stderr) do their work as they
/// take events; remote ones batch, send, retry and spool, driven by `step` and `poll`.
pub(crate) trait Sink {
    /// The name of a remote sink, for the flush report's per-sink shares; `None` for a
    /// local one.
    fn remote_name(&self) -> Option<&'static str> {
        None
    }

    /// Whether it sends over the network, so that the background thread must drive its
    /// requests on an async runtime.
    #[cfg(feature = "upload")]
    fn sends(&self) -> bool {
        false
    }

    /// Takes a finished event.
    fn take(&mut self, record: &Record, now: Instant);

    /// Takes a finished event recorded on the OS thread `thread`; sinks that show threads
    /// override it, the others see [`take`](Self::take).
    fn take_from(&mut self, record: &Record, thread: u64, now: Instant) {
        let _ = thread;
        self.take(record, now);
    }

    /// Whether it sends a *started* event for an event that has run a while.
    fn wants_started(&self) -> bool {
        false
    }

    /// Takes events running for a while now, each given once (see [`wants_started`]).
    ///
    /// [`wants_started`]: Self::wants_started
    fn started(&mut self, events: &[Frame], now: Instant) {
        let _ = (events, now);
    }

    /// Every event recorded so far has been taken: write out or print what waits.
    fn caught_up(&mut self) {}

    /// Registers a flush. `Some` answers it at once; `None` means the sink answers later,
    /// through [`answered`](Self::answered).
    fn begin_flush(&mut self, flush: SinkFlush, now: Instant) -> Option<FlushReport> {
        let _ = (flush, now);
        Some(FlushReport::default())
    }

    /// Does what is due now (seal, spool, send, settle flushes).
    fn step(&mut self, now: Instant) {
        let _ = now;
    }

    /// Polls the request in flight; `Ready` when it got its answer and acted on it.
    fn poll(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let _ = cx;
        Poll::Pending
    }

    /// When the sink must be stepped again even if nothing wakes the thread.
    fn next_due(&self) -> Option<Instant> {
        None
    }

    /// Flushes settled since the last call, with what happened to this sink's events.
    fn answered(&mut self) -> Vec<(u64, FlushReport)> {
        Vec::new()
    }

    /// Events taken and not yet delivered, spooled or dropped: how far the sink is behind.
    /// The background thread gives it more only while this stays under a few batches, so
    /// it must fall as the sink makes progress; nonzero also makes the exit hook flush a
    /// program that never flushed itself.
    fn backlog(&self) -> usize {
        0
    }

    /// Whether something waits for the exit flush that is not a backlog (a tree kept for
    /// the exit, the job summary): the exit hook then flushes a program that never flushed
    /// itself. Never counted as backlog: nothing but the exit makes it go away.
    fn owes_exit(&self) -> bool {
        false
    }

    /// Whether memory is over its bound with nowhere to spool: the hand-off should then
    /// drop new events.
    fn refuses(&self) -> bool {
        false
    }

    /// Whether events the network cannot take have somewhere to go.
    fn can_spool(&self) -> bool {
        true
    }
}
