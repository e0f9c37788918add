//! The background thread: one loop of turns, driven by [`drive`].
//!
//! Each turn takes a chunk of records from the hand-off and gives each to every sink, lets
//! the sinks do what is due (seal, spool, send, settle flushes), answers the flushes every
//! sink has settled, then says what comes next: stop, go again at once, or sleep until a
//! given time — or until a sender's or a flush's wake-up, or the answer to a request in
//! flight, whichever comes first. While records keep coming the driver only yields between
//! chunks, so the network makes progress during a burst and the hand-off never waits on the
//! network. The turns are the same whichever driver runs them: a blocking one when no sink
//! sends (no `upload` feature, or events handed to the run's uploader), a current-thread
//! tokio runtime when one does.

mod drive;
mod running;

use std::sync::Arc;
use std::sync::mpsc::Sender;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use super::sink::{Sink, SinkFlush};
use super::sinks::otlp::OtlpSink;
use super::sinks::trunk::{TrunkSink, Undeliverable};
use super::sinks::{EventsFile, JobSummary, Summary, TraceFile};
use super::upload_status::{Upload, UploadStatus};
use crate::config::Config;
use crate::config::delivery::Delivery;
use crate::config::detect::process_info;
use crate::handoff::{ChannelState, Consumer, FlushRequest, Msg};
use crate::model::flush_report::FlushReport;
use crate::platform::dirs::default_spool_root;
use crate::platform::signals;
use crate::record::Record;
use crate::record::overflow::{Bounds, Overflow};
use running::{Running, WATCH_EVERY};

/// Records taken per turn before the network gets a look-in.
const CHUNK: usize = 1024;

/// Past this many records waiting in the hand-off (or half the memory bound, if more), the
/// background thread is behind: records go to the overflow (a fraction of the cost of
/// encoding them) until the sinks catch up. Below it they wait in the hand-off, which the
/// memory bound allows, and are encoded once instead of also being written to the overflow
/// and read back.
const OVERFLOW_AT: usize = 4 * CHUNK;

/// Batches the sinks may hold encoded before more records wait in the overflow instead: a
/// burst waits there at ~50 bytes a record rather than as JSON in fresh buffers, and is
/// encoded just in time into buffers the delivered batches hand back, still in the cache.
const AHEAD_BATCHES: usize = 3;

/// Records moved to the overflow per turn.
const OVERFLOW_CHUNK: usize = 16 * CHUNK;

/// Bytes of overflow held in memory per record of the memory bound (an overflowed record
/// takes ~50 bytes without tags of its own).
const OVERFLOW_BYTES_PER_EVENT: usize = 64;

/// A deferred flush stops waiting for the sinks to take the overflow at their pace this long
/// before its deadline: all of it goes to them, a turn at a time (to be sent or spooled).
const FLUSH_MARGIN: Duration = Duration::from_secs(1);

pub(crate) fn spawn(config: Config, delivery: Delivery, consumer: Consumer) -> std::io::Result<()> {
    signals::spawn("trunk-ci-analytics", None, move || {
        drive::run(&config, &delivery, consumer)
    })
}

/// What a driver does after a turn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Next {
    /// Every sender is gone and nothing is left to do.
    Stop,
    /// More records wait: let the requests in flight move, then turn again.
    Again,
    /// Sleep until this time at the latest.
    Sleep(Instant),
}

/// A flush some sinks have not answered yet.
struct Pending {
    ticket: u64,
    reply: Sender<FlushReport>,
    /// Sinks still to answer.
    waiting: usize,
    report: FlushReport,
}

struct Worker {
    consumer: Consumer,
    /// In the order they are told the hand-off caught up: the events file before the
    /// summary, so that a reader who sees a summary finds every event in the file.
    sinks: Vec<Box<dyn Sink>>,
    pending: Vec<Pending>,
    next_ticket: u64,
    /// Events the hand-off dropped, for the next flush's report.
    lost: u64,
    tick: Duration,
    /// The memory bound, for messages.
    bound: usize,
    /// Events the sinks may hold before records go to the overflow (within `bound`).
    ahead: usize,
    /// Records taken from the hand-off that the sinks have not taken yet.
    overflow: Overflow,
    /// Flushes that wait for the overflow to empty first.
    deferred: Vec<FlushRequest>,
    /// Events the sinks have yet to deliver or spool ([`Sink::backlog`]), as of the last turn.
    held: usize,
    /// Started events and cancellation on a signal.
    running: Running,
}

/// The bounds of an overflow (the background thread's, or the senders'): memory in
/// proportion to the memory bound, disk as much as the spool may take.
pub(crate) fn overflow_bounds(config: &Config) -> Bounds {
    Bounds {
        memory_bytes: config
            .tuning
            .memory_events
            .saturating_mul(OVERFLOW_BYTES_PER_EVENT),
        file_bytes: config.tuning.spool_bytes,
        dir: Some(config.spool_dir.clone().unwrap_or_else(default_spool_root)),
    }
}

/// The sinks `config` asks for.
fn sinks(config: &Config, delivery: &Delivery, consumer: &Consumer) -> Vec<Box<dyn Sink>> {
    let mut sinks: Vec<Box<dyn Sink>> = Vec::new();
    let trace = config
        .trace_file
        .as_deref()
        .map(|path| TraceFile::new(path, consumer.thread_names()));
    let (info, repo) = process_info::detect(config);
    // With OTLP export only, events still leave the machine: not "local mode".
    let status = Arc::new(UploadStatus::new(if config.has_otlp() {
        Upload::Exporting
    } else {
        Upload::Local
    }));
    if config.token.is_some() {
        status.set(match delivery {
            Delivery::ToUploader(_) => Upload::ThroughUploader,
            _ if delivery.sends() => Upload::Uploading,
            _ => Upload::Spooled,
        });
        let trunk = match &repo {
            Some(repo) => TrunkSink::new(config, delivery, info.clone(), repo, Arc::clone(&status)),
            None => {
                crate::log!(
                    Error,
                    "no repository to upload events for: set TRUNK_REPO=owner/name (or run in a \
                     git checkout whose origin is on github.com); this process's events are not \
                     uploaded{}",
                    if config.events_file.is_some() {
                        " (they are still written to TRUNK_EVENTS_FILE)"
                    } else {
                        ""
                    }
                );
                None
            }
        };
        match trunk {
            Some(sink) => sinks.push(Box::new(sink)),
            None => {
                status.set(Upload::NoRepository);
                sinks.push(Box::new(Undeliverable::default()));
            }
        }
    }
    if let Some(sink) = OtlpSink::new(config, delivery, &info, repo.as_ref()) {
        sinks.push(Box::new(sink));
    }
    if let Some(path) = config.events_file.as_deref() {
        sinks.push(Box::new(EventsFile::new(path, info)));
    }
    if let Some(trace) = trace {
        sinks.push(Box::new(trace));
    }
    if config.summary && crate::platform::log::enabled(crate::LogLevel::Error) {
        let inherited = config.parent.as_ref().map(|c| c.chain_id());
        // The run's root alone writes the job summary.
        let job = match (&inherited, &config.job_summary) {
            (None, Some(path)) => Some(JobSummary::new(path.clone())),
            _ => None,
        };
        sinks.push(Box::new(Summary::new(status, inherited, job)));
    }
    sinks
}

/// Adds a sink's answer to a flush's report: to the totals, and as that sink's share if it
/// is a remote one.
fn add_share(total: &mut FlushReport, remote: Option<&'static str>, share: FlushReport) {
    total.merge(&share);
    if let Some(name) = remote {
        total.per_sink.push((name, share));
    }
}

impl Worker {
    fn new(config: &Config, delivery: &Delivery, consumer: Consumer) -> Worker {
        let sinks = sinks(config, delivery, &consumer);
        // `held` counts the events of every remote sink.
        let remote = sinks.iter().filter(|s| s.remote_name().is_some()).count();
        Worker {
            ahead: config
                .tuning
                .batch_size
                .saturating_mul(AHEAD_BATCHES * remote.max(1))
                .clamp(1, config.tuning.memory_events.max(1)),
            consumer,
            pending: Vec::new(),
            next_ticket: 0,
            lost: 0,
            tick: (config.tuning.linger / 2).clamp(Duration::from_millis(10), WATCH_EVERY),
            bound: config.tuning.memory_events,
            overflow: Overflow::new(overflow_bounds(config)),
            deferred: Vec::new(),
            held: 0,
            running: Running::new(&sinks),
            sinks,
        }
    }

    /// Before the first turn.
    fn start(&mut self) {
        signals::set_watched(true);
    }

    /// One turn: take what the hand-off holds, let the sinks do what is due, answer flushes.
    fn turn(&mut self) -> Next {
        let now = Instant::now();
        let taken = self.drain(now);
        self.settle(now);
        self.consumer.settled();
        self.running.turn(&mut self.sinks, now);
        if taken == ChannelState::Closed
            && self.pending.is_empty()
            && self.deferred.is_empty()
            && self.kept() == 0
        {
            return Next::Stop;
        }
        if taken == ChannelState::More {
            return Next::Again;
        }
        Next::Sleep(self.due(now))
    }

    /// After the last turn.
    fn end(&mut self) {
        signals::set_watched(false);
        for sink in &mut self.sinks {
            sink.caught_up();
        }
    }

    /// Whether a sink sends over the network (then an async driver must run the turns).
    #[cfg(feature = "upload")]
    fn sends(&self) -> bool {
        self.sinks.iter().any(|s| s.sends())
    }

    /// Polls the requests in flight; `Ready` if one got its answer (and was acted on).
    fn poll_requests(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let mut ready = false;
        for sink in &mut self.sinks {
            ready |= sink.poll(cx).is_ready();
        }
        if ready {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }

    /// `Ready` when the thread has something to do before its next due time: an answer to a
    /// request in flight, or a sender's or a flush's wake-up.
    fn poll_wake(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        if self.poll_requests(cx).is_ready() || self.consumer.poll_woken(cx).is_ready() {
            return Poll::Ready(());
        }
        Poll::Pending
    }

    /// Takes up to a chunk of messages: records go to every sink (or, while the sinks are
    /// behind, to the overflow), flushes are registered. Then gives the sinks what the
    /// overflow holds, as far as their memory allows.
    fn drain(&mut self, now: Instant) -> ChannelState {
        // Before any flush in this chunk answers: what was dropped so far is its business.
        self.count_lost();
        let overflow_at = (self.bound / 2).max(OVERFLOW_AT);
        let to_overflow =
            self.kept() > 0 || self.consumer.backlog() > overflow_at || self.held >= self.ahead;
        let mut flushes = Vec::new();
        let mut started = Vec::new();
        let sinks = &mut self.sinks;
        let overflow = &mut self.overflow;
        let running = &self.running;
        let limit = if to_overflow { OVERFLOW_CHUNK } else { CHUNK };
        let mut taken = self.consumer.take(limit, |msg| match msg {
            Msg::Record(record, _) if running.is_cancelled(&record) => {}
            Msg::Record(record, thread) => {
                if to_overflow && overflow.accepts() {
                    overflow.push(&record, thread);
                } else {
                    for sink in sinks.iter_mut() {
                        sink.take_from(&record, thread, now);
                    }
                }
            }
            Msg::Flush(request) => flushes.push(request),
            Msg::Started(frame) => started.push(frame),
        });
        // Before the flushes of this chunk begin: they cover what was announced before them.
        self.running.announce_now(&mut self.sinks, started, now);
        if taken != ChannelState::More && self.kept() > 0 {
            let room = self.ahead.saturating_sub(self.held).min(CHUNK);
            let dump = taken == ChannelState::Closed
                || self
                    .deferred
                    .iter()
                    .chain(&flushes)
                    .any(|f| now + FLUSH_MARGIN >= f.deadline);
            // A dump ignores how far the sinks are ahead, but still goes a turn at a time:
            // between turns the sinks spool what is past their memory bound, so the overflow
            // never turns into JSON all at once.
            let max = if dump { CHUNK } else { room };
            self.replay(max, now);
            if self.kept() > 0 && (room > 0 || dump) {
                taken = ChannelState::More;
            }
        }
        self.deferred.append(&mut flushes);
        if self.kept() == 0 {
            flushes = std::mem::take(&mut self.deferred);
            if !flushes.is_empty() || taken != ChannelState::More {
                // Every event recorded before the flushes (or, with the hand-off run
                // empty, before now) has been taken.
                for sink in &mut self.sinks {
                    sink.caught_up();
                }
            }
        }
        if !flushes.is_empty() {
            self.count_lost();
        }
        for request in flushes {
            self.begin_flush(request, now);
        }
        taken
    }

    /// Records kept for later: in the overflow, and in the senders' overflow.
    fn kept(&self) -> usize {
        self.overflow.len() + self.consumer.overflowed()
    }

    /// Gives up to `max` kept records to the sinks, the overflow's first (the senders'
    /// overflow holds later ones).
    fn replay(&mut self, max: usize, now: Instant) {
        let sinks = &mut self.sinks;
        let running = &self.running;
        let give = |record: Record, thread: u64| {
            if running.is_cancelled(&record) {
                return;
            }
            for sink in sinks.iter_mut() {
                sink.take_from(&record, thread, now);
            }
        };
        let mut give = give;
        let n = self.overflow.pop(max, &mut give);
        if n < max {
            self.consumer.take_overflowed(max - n, &mut give);
        }
        self.lost += self.overflow.take_lost();
    }

    fn begin_flush(&mut self, request: FlushRequest, now: Instant) {
        let flush = SinkFlush {
            ticket: self.next_ticket,
            deadline: request.deadline,
            exit: request.exit,
        };
        self.next_ticket += 1;
        let mut pending = Pending {
            ticket: flush.ticket,
            reply: request.reply,
            waiting: 0,
            report: FlushReport {
                dropped: std::mem::take(&mut self.lost),
                ..FlushReport::default()
            },
        };
        for sink in &mut self.sinks {
            match sink.begin_flush(flush, now) {
                Some(report) => add_share(&mut pending.report, sink.remote_name(), report),
                None => pending.waiting += 1,
            }
        }
        if pending.waiting == 0 {
            let _ = pending.reply.send(pending.report);
        } else {
            self.pending.push(pending);
        }
    }

    fn settle(&mut self, now: Instant) {
        self.count_lost();
        let mut refuse = false;
        let mut held = 0;
        let mut owes_exit = false;
        for sink in &mut self.sinks {
            sink.step(now);
            for (ticket, report) in sink.answered() {
                if let Some(p) = self.pending.iter_mut().find(|p| p.ticket == ticket) {
                    add_share(&mut p.report, sink.remote_name(), report);
                    p.waiting = p.waiting.saturating_sub(1);
                }
            }
            refuse |= sink.refuses();
            held += sink.backlog();
            owes_exit |= sink.owes_exit();
        }
        self.pending.retain(|p| {
            if p.waiting > 0 {
                return true;
            }
            let _ = p.reply.send(p.report.clone());
            false
        });
        self.held = held;
        self.consumer.set_refuse(refuse);
        // What the exit hook looks at. Work owed to the exit counts there and never in
        // `held`, which paces the hand-over and must fall as the sinks deliver.
        self.consumer
            .set_held(held + self.overflow.len() + usize::from(owes_exit));
    }

    /// Counts the records the hand-off dropped (said once on stderr).
    fn count_lost(&mut self) {
        let refused = self.consumer.take_refused();
        if refused == 0 {
            return;
        }
        if self.sinks.iter().all(|s| s.can_spool()) {
            crate::log_once!(
                Warn,
                "events are recorded faster than they can be sent or spooled: past {} \
                 waiting, new ones are dropped (counted in the flush report); is \
                 #[track_event] on a function called in a hot loop?",
                self.bound
            );
        } else {
            crate::log_once!(
                Warn,
                "events are dropped: memory is full and there is no spool (counted in the \
                 flush report)"
            );
        }
        self.lost += refused;
    }

    /// The latest time to turn again: the next due time of a sink, a deferred flush or the
    /// running events, else a tick from now.
    fn due(&self, now: Instant) -> Instant {
        self.sinks
            .iter()
            .filter_map(|s| s.next_due())
            .chain(
                self.deferred
                    .iter()
                    .map(|f| f.deadline.checked_sub(FLUSH_MARGIN).unwrap_or(f.deadline)),
            )
            .chain(self.running.next_due())
            .fold(
                crate::platform::clock::deadline_after(now, self.tick),
                Instant::min,
            )
    }
}
