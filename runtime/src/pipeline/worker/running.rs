//! What the background thread does with the events still running (`record::running`): every
//! [`WATCH_EVERY`] it sends the started event of those running for a second to the sinks
//! that want them; on a cancellation signal it records them all as `CANCELLED`, asks for an
//! exit flush, and once that is answered ends the process as the signal would.

use std::collections::HashSet;
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

use crate::Conclusion;
use crate::handoff;
use crate::model::flush_report::FlushReport;
use crate::pipeline::sink::Sink;
use crate::platform::{clock, signals};
use crate::record::running;
use crate::record::{Frame, Record};

/// How often running events are looked at, for started events and a pending signal.
pub(crate) const WATCH_EVERY: Duration = Duration::from_millis(250);

/// An event running this long is also sent as a started event.
const STARTED_AFTER_NS: f64 = 1e9;

pub(crate) struct Running {
    /// Whether a sink sends started events.
    wants_started: bool,
    /// When to look for started events next.
    look_at: Instant,
    /// Running events whose started event went out.
    announced: HashSet<u64>,
    /// Events recorded as cancelled on a signal: their own end, if it comes, is not sent.
    cancelled: HashSet<u64>,
    /// The signal to end the process with once its flush is answered (or overdue).
    ending: Option<(i32, Receiver<FlushReport>, Instant)>,
}

impl Running {
    pub(crate) fn new(sinks: &[Box<dyn Sink>]) -> Running {
        Running {
            wants_started: sinks.iter().any(|s| s.wants_started()),
            look_at: Instant::now(),
            announced: HashSet::new(),
            cancelled: HashSet::new(),
            ending: None,
        }
    }

    /// When the background thread must look again, if it has started events to send.
    pub(crate) fn next_due(&self) -> Option<Instant> {
        self.wants_started.then_some(self.look_at)
    }

    /// Whether `record` is the end of an event already recorded as cancelled on a signal.
    pub(crate) fn is_cancelled(&self, record: &Record) -> bool {
        !self.cancelled.is_empty() && self.cancelled.contains(&record.frame.id)
    }

    /// One turn: a signal first (and, once its flush is answered, the end of the process),
    /// else the started events due.
    pub(crate) fn turn(&mut self, sinks: &mut [Box<dyn Sink>], now: Instant) {
        if let Some((sig, answer, by)) = &self.ending {
            if answer.try_recv().is_ok() || now >= *by {
                signals::end_with(*sig);
            }
            return;
        }
        if let Some(sig) = signals::pending() {
            self.cancel(sig, sinks, now);
            return;
        }
        if self.wants_started && now >= self.look_at {
            self.look_at = clock::deadline_after(now, WATCH_EVERY);
            self.announce(sinks, now);
        }
    }

    /// Sends `frames` as started events now, once each: their processes announced them
    /// (an event another process will finish).
    pub(crate) fn announce_now(
        &mut self,
        sinks: &mut [Box<dyn Sink>],
        frames: Vec<Frame>,
        now: Instant,
    ) {
        if frames.is_empty() {
            return;
        }
        self.announced.extend(frames.iter().map(|f| f.id));
        for sink in sinks.iter_mut().filter(|s| s.wants_started()) {
            sink.started(&frames, now);
        }
    }

    /// Sends, once each, the started events of those running a second or more.
    fn announce(&mut self, sinks: &mut [Box<dyn Sink>], now: Instant) {
        let open = running::snapshot();
        let reading = clock::now();
        // Forget the events that ended, so the set stays as small as what runs.
        let running: HashSet<u64> = open.iter().map(|e| e.id).collect();
        self.announced.retain(|id| running.contains(id));
        let fresh: Vec<Frame> = open
            .into_iter()
            .filter(|e| {
                clock::elapsed_ns(e.start, reading) >= STARTED_AFTER_NS
                    && !self.announced.contains(&e.id)
            })
            .collect();
        if fresh.is_empty() {
            return;
        }
        self.announced.extend(fresh.iter().map(|e| e.id));
        for sink in sinks.iter_mut().filter(|s| s.wants_started()) {
            sink.started(&fresh, now);
        }
    }

    /// The process got `sig`: every running event ends now as `CANCELLED`, and an exit
    /// flush is asked for.
    fn cancel(&mut self, sig: i32, sinks: &mut [Box<dyn Sink>], now: Instant) {
        let open = running::snapshot();
        crate::log!(
            Info,
            "signal {sig}: {} running events recorded as CANCELLED; flushing before the \
             process ends",
            open.len()
        );
        let end = clock::now();
        for frame in open {
            self.cancelled.insert(frame.id);
            let record = Record {
                frame,
                end,
                conclusion: Conclusion::Cancelled,
            };
            for sink in sinks.iter_mut() {
                sink.take_from(&record, 0, now);
            }
        }
        match handoff::request_exit_flush() {
            Some((answer, by)) => self.ending = Some((sig, answer, by)),
            None => signals::end_with(sig),
        }
    }
}
