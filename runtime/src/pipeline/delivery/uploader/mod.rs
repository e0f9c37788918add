//! The upload state machine: batches in, requests out, the spool for everything the network
//! cannot take, and the flush bookkeeping.
//!
//! It runs on the background thread and never blocks on the network: one request at a time is
//! in flight (one kept-alive connection), polled by the worker's loop between draining
//! chunks; a retry waits as a timestamp, not a sleeping task. Everything it holds is one of:
//! the batch being filled, sealed batches waiting (`ready`), and the `current` job (in flight
//! or waiting to retry). Each sealed batch ends exactly one way: delivered, spooled, dropped
//! (spool unusable or evicted) or rejected (refused by the peer: for a protocol whose
//! batches split, a 400 on that one event; otherwise the whole batch). What differs between
//! protocols comes from its [`Protocol`].
//!
//! Here, its state and what becomes of each batch (spooled, parked, resolved); sending in
//! [`sending`], what the outcome of a request does in [`outcomes`], flushes in [`flushes`].

mod flushes;
mod outcomes;
mod sending;

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::time::{Duration, Instant};

use super::batch::{Batch, BatchBuilder, Origin};
use super::body::Body;
use super::breaker::Breaker;
use super::http::Request;
use super::protocol::Protocol;
use super::retry::Jitter;
use super::spool::{Claimed, Spool};
use super::transport::Transport;
use crate::config::Tuning;
use crate::model::flush_report::FlushReport;
use crate::pipeline::sink::SinkFlush;

/// A replay that failed pauses replaying this long (the spool is not going anywhere).
const REPLAY_PAUSE: Duration = Duration::from_secs(5);
/// At most this many rejected events are described on stderr, one line each.
const MAX_REJECTION_LINES: u32 = 20;
/// An in-flight request cut by a flush deadline after this long (or half the flush's
/// timeout, if shorter, but never less than [`MIN_HANG`]) means the endpoint hangs: the
/// breaker opens, so the next processes do not wait for it too.
const HANG: Duration = Duration::from_secs(1);
/// A request this young at a deadline says nothing about the endpoint: the flush was short.
const MIN_HANG: Duration = Duration::from_millis(250);
/// Most bytes of encoded events the uploader holds in memory; past it the newest waiting
/// batches go to the spool, as past its event count.
pub(crate) const MAX_MEMORY_BYTES: usize = 64 * 1024 * 1024;

/// One unit of sending.
#[derive(Debug)]
enum Job {
    Batch(Batch),
    /// A spool file, sent as it is.
    Replay(Claimed, Body),
}

impl Job {
    fn body(&self) -> Body {
        match self {
            Job::Batch(b) => b.body.clone(),
            Job::Replay(_, body) => body.clone(),
        }
    }
}

enum Phase {
    InFlight { since: Instant, request: Request },
    Waiting { until: Instant },
}

struct Current {
    job: Job,
    /// Requests made for this job so far.
    attempts: u32,
    phase: Phase,
}

struct PendingFlush {
    /// Batches sealed before the flush have a smaller seq.
    bound: u64,
    started: Instant,
    flush: SinkFlush,
}

pub(crate) struct Uploader {
    protocol: &'static Protocol,
    tuning: Tuning,
    /// The endpoint, for messages.
    url: String,
    transport: Transport,
    spool: Option<Spool>,
    breaker: Breaker,
    builder: BatchBuilder,
    ready: VecDeque<Batch>,
    current: Option<Current>,
    next_seq: u64,
    /// Unresolved batch pieces by seq (a split batch has several).
    outstanding: BTreeMap<u64, usize>,
    /// Own events held: in the builder, `ready` and `current`.
    held: usize,
    /// Bytes of the JSON of the own events held (bounded by [`MAX_MEMORY_BYTES`]).
    held_bytes: usize,
    /// Batches rebuilt from a replayed file (after a 400), not yet resolved.
    replay_batches: usize,
    flushes: Vec<PendingFlush>,
    /// Flushes settled, for the worker to collect.
    answered: Vec<(u64, FlushReport)>,
    report: FlushReport,
    /// Own events written to the spool (less those evicted since), and own events neither
    /// delivered nor spooled, over the whole process: what the summary's header says.
    spooled_total: u64,
    dropped_total: u64,
    /// Counts reports sent, to tell this window's spool files from earlier ones.
    window: u64,
    /// Files this process spooled: events, and the window they were counted in.
    own_files: HashMap<String, (usize, u64)>,
    /// Why uploading stopped for good in this process, once it has.
    off: Option<String>,
    /// The last batch used up its retries: later ones get one attempt until one succeeds.
    failing: bool,
    unreachable_streak: u32,
    replay_after: Option<Instant>,
    rejection_lines: u32,
    jitter: Jitter,
}

impl std::fmt::Debug for Uploader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Uploader")
            .field("url", &self.url)
            .field("held", &self.held)
            .field("ready", &self.ready.len())
            .finish_non_exhaustive()
    }
}

impl Uploader {
    pub(crate) fn new(
        tuning: Tuning,
        url: String,
        transport: Transport,
        builder: BatchBuilder,
        spool: Option<Spool>,
        breaker: Breaker,
        protocol: &'static Protocol,
    ) -> Uploader {
        Uploader {
            protocol,
            tuning,
            url,
            transport,
            spool,
            breaker,
            builder,
            ready: VecDeque::new(),
            current: None,
            next_seq: 0,
            outstanding: BTreeMap::new(),
            held: 0,
            held_bytes: 0,
            replay_batches: 0,
            flushes: Vec::new(),
            answered: Vec::new(),
            report: FlushReport::default(),
            spooled_total: 0,
            dropped_total: 0,
            window: 0,
            own_files: HashMap::new(),
            off: None,
            failing: false,
            unreachable_streak: 0,
            replay_after: None,
            rejection_lines: 0,
            jitter: Jitter::new(),
        }
    }

    /// The batch being filled, for the encoder.
    pub(crate) fn builder(&mut self) -> &mut BatchBuilder {
        &mut self.builder
    }

    /// After the encoder pushed an event into [`builder`](Self::builder).
    pub(crate) fn pushed(&mut self) {
        self.held += 1;
        self.held_bytes += self.builder.last_len();
        if self.builder.len() >= self.tuning.batch_size || self.builder.is_full_bytes() {
            self.seal();
        }
    }

    /// Sends the *started* events `write` pushes into a batch of their own, behind every
    /// event taken so far (so a started event never follows its finished one).
    pub(crate) fn push_started(&mut self, write: impl FnOnce(&mut BatchBuilder)) {
        self.seal();
        write(&mut self.builder);
        if self.builder.is_empty() {
            return;
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        *self.outstanding.entry(seq).or_default() += 1;
        self.ready
            .push_back(self.builder.seal(seq, Origin::Started));
    }

    /// Whether uploading goes on, is stopped, or waits for the endpoint (breaker open); or
    /// whether this process spools, for the run's uploader or for later.
    pub(crate) fn upload(&self) -> crate::pipeline::upload_status::Upload {
        use crate::pipeline::upload_status::Upload;
        match self.transport {
            Transport::Http(_) => {}
            Transport::ToUploader { .. } => return Upload::ThroughUploader,
            #[cfg(not(feature = "upload"))]
            Transport::Spool => return Upload::Spooled,
        }
        if self.off.is_some() {
            Upload::Stopped
        } else if self.breaker.is_open() {
            Upload::Spooling
        } else {
            Upload::Uploading
        }
    }

    /// Own events not yet delivered, spooled or dropped.
    pub(crate) fn held(&self) -> usize {
        self.held
    }

    /// Whether undelivered events have somewhere to go.
    pub(crate) fn spool_usable(&self) -> bool {
        self.spool.is_some()
    }

    /// Whether it sends over the network (else every batch goes to the spool).
    pub(crate) fn sends(&self) -> bool {
        self.transport.http().is_some()
    }

    /// Counts events lost before they reached this thread.
    pub(crate) fn count_dropped(&mut self, n: u64) {
        self.report.dropped += n;
        self.dropped_total += n;
    }

    /// This process's events spooled (less those evicted since) and dropped so far.
    pub(crate) fn counts(&self) -> (u64, u64) {
        (self.spooled_total, self.dropped_total)
    }

    fn seal(&mut self) {
        if self.builder.is_empty() {
            return;
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        *self.outstanding.entry(seq).or_default() += 1;
        self.ready.push_back(self.builder.seal(seq, Origin::Own));
    }

    /// Whether more events are held than the memory bound allows.
    pub(crate) fn over_memory(&self) -> bool {
        self.held > self.tuning.memory_events || self.held_bytes > MAX_MEMORY_BYTES
    }

    fn earliest_deadline(&self) -> Option<Instant> {
        self.flushes.iter().map(|f| f.flush.deadline).min()
    }

    fn can_replay(&self, now: Instant) -> bool {
        self.sends()
            && self.off.is_none()
            && !self.breaker.is_open()
            && self.replay_after.is_none_or(|t| now >= t)
            && self.spool.as_ref().is_some_and(|s| s.may_have_files(now))
    }

    /// Uploading stops for this process: say why, once.
    fn stop(&mut self, why: String) {
        if self.off.is_none() {
            crate::log!(Error, "{why}");
            self.off = Some(why);
        }
    }

    fn trip(&mut self, failure: &str) {
        self.breaker.trip(failure);
        self.unreachable_streak = 0;
        crate::log_once!(
            Warn,
            "{} is unreachable or hanging ({failure}); for the next {} s this and other \
             processes write events to the spool {} instead of waiting on the network",
            self.url,
            self.breaker.cooldown().as_secs(),
            self.spool_dir()
        );
    }

    /// A job that cannot be sent now: own batches go to the spool, replayed files back to it.
    fn park(&mut self, job: Job) {
        match job {
            Job::Batch(batch) => self.spool_batch(batch),
            Job::Replay(claimed, _) => {
                self.replay_after = Some(Instant::now() + REPLAY_PAUSE);
                if let Some(spool) = self.spool.as_ref() {
                    spool.release(claimed);
                }
            }
        }
    }

    fn spool_batch(&mut self, batch: Batch) {
        let n = batch.len();
        if batch.origin == Origin::Started {
            crate::log!(Debug, "{n} started events not sent: dropped, never spooled");
            self.resolve(&batch);
            return;
        }
        match self.spool.as_mut().map(|s| s.write(&batch.body, n)) {
            Some(Ok(written)) => {
                match self.transport {
                    Transport::ToUploader { pid } => crate::log!(
                        Info,
                        "handed {n} events to the run's uploader (process {pid}) through the \
                         spool {}",
                        self.spool_dir()
                    ),
                    _ => crate::log!(Info, "wrote {n} events to the spool {}", self.spool_dir()),
                }
                if batch.origin == Origin::Own {
                    self.report.spooled += n as u64;
                    self.spooled_total += n as u64;
                    self.own_files.insert(written.name, (n, self.window));
                }
                for (name, _) in &written.evicted {
                    // A report counts this process's events: an earlier run's files evicted
                    // here are said on stderr (below), not added to what this run lost.
                    if let Some((n, window)) = self.own_files.remove(name) {
                        self.report.dropped += n as u64;
                        self.dropped_total += n as u64;
                        self.spooled_total = self.spooled_total.saturating_sub(n as u64);
                        if window == self.window {
                            self.report.spooled = self.report.spooled.saturating_sub(n as u64);
                        }
                    }
                }
                if !written.evicted.is_empty() {
                    crate::log_once!(
                        Warn,
                        "the spool {} reached its size limit ({} bytes): the oldest undelivered \
                         events are dropped to make room (this process's are counted in the \
                         flush report)",
                        self.spool_dir(),
                        self.tuning.spool_bytes
                    );
                }
            }
            Some(Err(e)) => {
                self.report.dropped += n as u64;
                self.dropped_total += n as u64;
                crate::log_once!(
                    Error,
                    "cannot write undelivered events to the spool: {e}; they are dropped \
                     (counted in the flush report)"
                );
            }
            None => {
                self.report.dropped += n as u64;
                self.dropped_total += n as u64;
            }
        }
        self.resolve(&batch);
    }

    fn resolve(&mut self, batch: &Batch) {
        if let Some(n) = self.outstanding.get_mut(&batch.seq) {
            *n -= 1;
            if *n == 0 {
                self.outstanding.remove(&batch.seq);
            }
        }
        match batch.origin {
            Origin::Own => {
                self.held = self.held.saturating_sub(batch.len());
                self.held_bytes = self.held_bytes.saturating_sub(batch.event_bytes());
            }
            Origin::Replayed => self.replay_batches = self.replay_batches.saturating_sub(1),
            Origin::Started => {}
        }
    }

    fn spool_dir(&self) -> String {
        self.spool
            .as_ref()
            .map_or_else(|| "(unavailable)".into(), |s| s.dir().display().to_string())
    }
}
