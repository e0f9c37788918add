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

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;

use super::batch::{Batch, BatchBuilder, Origin};
use super::breaker::Breaker;
use super::http::{Http, Request};
use super::protocol::{Outcome, Protocol};
use super::retry::{self, Jitter};
use super::spool::{Claimed, Spool};
use crate::config::Tuning;
use crate::model::flush_report::FlushReport;
use crate::pipeline::sink::Flush;
use crate::platform::clock;

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
    Replay(Claimed, Bytes),
}

impl Job {
    fn body(&self) -> Bytes {
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
    flush: Flush,
}

pub(crate) struct Uploader {
    protocol: &'static Protocol,
    tuning: Tuning,
    http: Http,
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
            .field("url", &self.http.url())
            .field("held", &self.held)
            .field("ready", &self.ready.len())
            .finish_non_exhaustive()
    }
}

impl Uploader {
    pub(crate) fn new(
        tuning: Tuning,
        http: Http,
        builder: BatchBuilder,
        spool: Option<Spool>,
        breaker: Breaker,
        protocol: &'static Protocol,
    ) -> Uploader {
        Uploader {
            protocol,
            tuning,
            http,
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

    /// Whether uploading goes on, is stopped, or waits for the endpoint (breaker open).
    pub(crate) fn upload(&self) -> crate::pipeline::upload_status::Upload {
        use crate::pipeline::upload_status::Upload;
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

    /// Counts events lost before they reached this thread.
    pub(crate) fn count_dropped(&mut self, n: u64) {
        self.report.dropped += n;
    }

    /// Registers a flush: everything taken so far is its business.
    pub(crate) fn add_flush(&mut self, flush: Flush, now: Instant) {
        self.seal();
        if flush.exit {
            if let Some(spool) = self.spool.as_mut() {
                spool.relist_soon();
            }
        }
        self.flushes.push(PendingFlush {
            bound: self.next_seq,
            started: now,
            flush,
        });
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

    /// Flushes settled since the last call.
    pub(crate) fn take_answered(&mut self) -> Vec<(u64, FlushReport)> {
        std::mem::take(&mut self.answered)
    }

    /// Everything that is due: seal a lingering batch, keep memory bounded, start the next
    /// request, settle flushes.
    pub(crate) fn step(&mut self, now: Instant) {
        let linger = self.tuning.linger / 2;
        if (self.builder.opened()).is_some_and(|t| now >= clock::deadline_after(t, linger)) {
            self.seal();
        }
        if self.replay_after.is_some_and(|t| now >= t) {
            self.replay_after = None;
        }
        self.give_up_waits_past_deadlines();
        // Memory bound: the newest waiting batches go to the spool. (The channel has its own
        // bound; a full channel means this thread is busy, and writing files would not help.)
        while self.over_memory() {
            let Some(batch) = self.ready.pop_back() else {
                break;
            };
            self.spool_batch(batch);
        }
        self.start_next(now);
        self.expire_flushes(now);
        self.settle_flushes(now);
    }

    /// Polls the request in flight; on its answer, acts on it and returns `Ready`.
    pub(crate) fn poll_request(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let Some(Current {
            phase: Phase::InFlight { request, .. },
            ..
        }) = self.current.as_mut()
        else {
            return Poll::Pending;
        };
        let Poll::Ready(outcome) = request.as_mut().poll(cx) else {
            return Poll::Pending;
        };
        if let Some(current) = self.current.take() {
            let Current {
                job,
                attempts,
                phase,
            } = current;
            // The request lets go of the body first, so a delivered batch's buffer can be
            // reused.
            drop(phase);
            self.on_outcome(job, attempts, outcome);
        }
        Poll::Ready(())
    }

    /// When the worker must look again even if nothing wakes it.
    pub(crate) fn next_due(&self) -> Option<Instant> {
        let linger =
            (self.builder.opened()).map(|t| clock::deadline_after(t, self.tuning.linger / 2));
        let retry = match &self.current {
            Some(Current {
                phase: Phase::Waiting { until },
                ..
            }) => Some(*until),
            _ => None,
        };
        let deadline = self.flushes.iter().map(|f| f.flush.deadline).min();
        [linger, retry, deadline, self.replay_after]
            .into_iter()
            .flatten()
            .min()
    }

    fn earliest_deadline(&self) -> Option<Instant> {
        self.flushes.iter().map(|f| f.flush.deadline).min()
    }

    fn give_up_waits_past_deadlines(&mut self) {
        let Some(deadline) = self.earliest_deadline() else {
            return;
        };
        if let Some(Current {
            phase: Phase::Waiting { until },
            ..
        }) = &self.current
        {
            if *until > deadline {
                if let Some(current) = self.current.take() {
                    self.park(current.job);
                }
            }
        }
    }

    fn can_replay(&self, now: Instant) -> bool {
        self.off.is_none()
            && !self.breaker.is_open()
            && self.replay_after.is_none_or(|t| now >= t)
            && self.spool.as_ref().is_some_and(|s| s.may_have_files(now))
    }

    fn start_next(&mut self, now: Instant) {
        loop {
            let (job, attempts) = match self.current.take() {
                Some(
                    c @ Current {
                        phase: Phase::InFlight { .. },
                        ..
                    },
                ) => {
                    self.current = Some(c);
                    return;
                }
                Some(Current {
                    job,
                    attempts,
                    phase: Phase::Waiting { until },
                }) => {
                    if until > now {
                        self.current = Some(Current {
                            job,
                            attempts,
                            phase: Phase::Waiting { until },
                        });
                        return;
                    }
                    (job, attempts)
                }
                None => match self.next_job(now) {
                    Some(job) => (job, 0),
                    None => return,
                },
            };
            if self.off.is_some() {
                self.park(job);
                continue;
            }
            if !self.breaker.allows(now) {
                crate::log_once!(
                    Warn,
                    "events are written to the spool {}, not sent: {} was found unreachable or \
                     hanging in the last {} s (by this or another process); a later run sends them",
                    self.spool_dir(),
                    self.http.url(),
                    self.breaker.cooldown().as_secs()
                );
                self.park(job);
                continue;
            }
            let request = self.http.post(job.body());
            self.current = Some(Current {
                job,
                attempts: attempts + 1,
                phase: Phase::InFlight {
                    since: now,
                    request,
                },
            });
            return;
        }
    }

    /// Own batches first; when there are none, a file from the spool.
    fn next_job(&mut self, now: Instant) -> Option<Job> {
        if let Some(batch) = self.ready.pop_front() {
            return Some(Job::Batch(batch));
        }
        if !self.can_replay(now) {
            return None;
        }
        let spool = self.spool.as_mut()?;
        let claimed = spool.claim_next(now)?;
        match spool.read(&claimed) {
            Ok(body) => Some(Job::Replay(claimed, Bytes::from(body))),
            Err(e) => {
                crate::log_once!(
                    Warn,
                    "cannot read spool file {}: {e}; left for a later run",
                    claimed.name
                );
                spool.release(claimed);
                self.replay_after = Some(now + REPLAY_PAUSE);
                None
            }
        }
    }

    fn on_outcome(&mut self, job: Job, attempts: u32, outcome: Outcome) {
        let now = Instant::now();
        match outcome {
            Outcome::Delivered | Outcome::Partial { .. } => {
                let (n, what) = match &job {
                    Job::Batch(b) if b.origin == Origin::Own => (b.len(), "events"),
                    Job::Batch(b) if b.origin == Origin::Started => {
                        (b.len(), "started events (of events still running)")
                    }
                    Job::Batch(b) => (b.len(), "events of an earlier run"),
                    Job::Replay(claimed, _) => (claimed.events, "events from the spool"),
                };
                crate::log!(
                    Info,
                    "delivered {n} {what} to {} (attempt {attempts})",
                    self.http.url()
                );
                self.failing = false;
                self.unreachable_streak = 0;
                self.breaker.record_success();
                let refused = match outcome {
                    Outcome::Partial { rejected, reason } => {
                        crate::log_once!(
                            Warn,
                            "{} took a batch only in part: {rejected} refused ({reason}); \
                             refused ones are counted as rejected in the flush report",
                            self.http.url()
                        );
                        rejected
                    }
                    _ => 0,
                };
                self.delivered(job, refused);
            }
            Outcome::Rejected {
                status,
                reason,
                suspects,
            } => {
                self.unreachable_streak = 0;
                self.breaker.record_success();
                self.rejected(job, status, &reason, &suspects);
            }
            Outcome::Unauthorized(status) => {
                let p = self.protocol;
                self.stop(format!(
                    "{} refused {} (HTTP {status}) at {}: check {}; uploading is off for this \
                     process and events are kept in the spool {}",
                    p.peer,
                    p.credentials,
                    self.http.url(),
                    p.credentials_var,
                    self.spool_dir()
                ));
                self.park(job);
            }
            Outcome::Misdirected { status, reason } => {
                self.stop(format!(
                    "{} answered HTTP {status}{}: check {}; uploading is off for this process \
                     and events are kept in the spool {}",
                    self.http.url(),
                    if reason.is_empty() {
                        String::new()
                    } else {
                        format!(" ({reason})")
                    },
                    self.protocol.address_var,
                    self.spool_dir()
                ));
                self.park(job);
            }
            Outcome::Retry { after, failure } => {
                if failure.is_unreachable() {
                    self.unreachable_streak += 1;
                } else {
                    self.unreachable_streak = 0;
                }
                if self.unreachable_streak >= 2 {
                    self.trip(&failure.to_string());
                    self.park(job);
                    return;
                }
                let max_attempts = if self.failing {
                    1
                } else {
                    self.tuning.max_retries + 1
                };
                if attempts >= max_attempts {
                    self.failing = true;
                    crate::log_once!(
                        Warn,
                        "cannot deliver events to {} after {attempts} attempt(s), last: {failure}; \
                         they wait in the spool {} for a later run",
                        self.http.url(),
                        self.spool_dir()
                    );
                    self.park(job);
                    return;
                }
                let wait = after.unwrap_or_else(|| retry::backoff(attempts, &mut self.jitter));
                crate::log!(
                    Debug,
                    "{}: {failure}; attempt {} in {} ms",
                    self.http.url(),
                    attempts + 1,
                    wait.as_millis()
                );
                let until = clock::deadline_after(now, wait);
                if self.earliest_deadline().is_some_and(|d| until > d) {
                    self.park(job);
                    return;
                }
                self.current = Some(Current {
                    job,
                    attempts,
                    phase: Phase::Waiting { until },
                });
            }
        }
    }

    /// A job got in, but for `refused` of its events.
    fn delivered(&mut self, job: Job, refused: u64) {
        self.report.rejected += refused;
        match job {
            Job::Batch(batch) => {
                let n = (batch.len() as u64).saturating_sub(refused);
                match batch.origin {
                    Origin::Own => self.report.delivered += n,
                    Origin::Replayed => self.report.replayed += n,
                    Origin::Started => {}
                }
                self.resolve(&batch);
                self.builder.recycle(batch.body);
            }
            Job::Replay(claimed, _) => {
                let events = (claimed.events as u64).saturating_sub(refused);
                match self.own_files.remove(&claimed.name) {
                    Some((n, window)) => {
                        self.report.delivered += (n as u64).saturating_sub(refused);
                        if window == self.window {
                            self.report.spooled = self.report.spooled.saturating_sub(n as u64);
                        }
                    }
                    None => self.report.replayed += events,
                }
                if let Some(spool) = self.spool.as_mut() {
                    spool.finish(claimed);
                }
            }
        }
    }

    fn rejected(&mut self, job: Job, status: u16, reason: &str, suspects: &[usize]) {
        if !self.protocol.split_rejected {
            self.rejected_whole(job, status, reason);
            return;
        }
        let batch = match job {
            Job::Batch(batch) => batch,
            Job::Replay(claimed, body) => {
                let seq = self.next_seq;
                let parsed = Batch::from_body(&body, seq);
                let own = self.own_files.remove(&claimed.name);
                if let Some(spool) = self.spool.as_mut() {
                    spool.finish(claimed);
                }
                let Some(batch) = parsed else {
                    crate::log_once!(
                        Warn,
                        "a spool file is not a request body the API accepts ({reason}): removed"
                    );
                    return;
                };
                if let Some((n, window)) = own {
                    if window == self.window {
                        self.report.spooled = self.report.spooled.saturating_sub(n as u64);
                    }
                }
                self.next_seq += 1;
                *self.outstanding.entry(seq).or_default() += 1;
                self.replay_batches += 1;
                batch
            }
        };
        if batch.len() <= 1 {
            if batch.origin != Origin::Started {
                self.report.rejected += batch.len() as u64;
            }
            if batch.len() == 1 {
                self.describe_rejection(&batch, status, reason);
            }
            self.resolve(&batch);
            return;
        }
        let pieces = batch.split(suspects);
        let extra = pieces.len().saturating_sub(1);
        *self.outstanding.entry(batch.seq).or_default() += extra;
        if batch.origin == Origin::Replayed {
            self.replay_batches += extra;
        }
        for piece in pieces.into_iter().rev() {
            self.ready.push_front(piece);
        }
    }

    /// A refused batch of a protocol whose batches do not split: all of it is dropped.
    fn rejected_whole(&mut self, job: Job, status: u16, reason: &str) {
        let n = match job {
            Job::Batch(batch) if batch.origin == Origin::Started => {
                self.resolve(&batch);
                return;
            }
            Job::Batch(batch) => {
                self.resolve(&batch);
                batch.len()
            }
            Job::Replay(claimed, _) => {
                let n = match self.own_files.remove(&claimed.name) {
                    Some((n, window)) => {
                        if window == self.window {
                            self.report.spooled = self.report.spooled.saturating_sub(n as u64);
                        }
                        n
                    }
                    None => claimed.events,
                };
                if let Some(spool) = self.spool.as_mut() {
                    spool.finish(claimed);
                }
                n
            }
        };
        self.report.rejected += n as u64;
        self.rejection_lines += 1;
        if self.rejection_lines <= MAX_REJECTION_LINES {
            crate::log!(
                Error,
                "{} refused a batch of {n} events (HTTP {status}) and it is dropped: {reason}",
                self.http.url()
            );
        } else {
            crate::log_once!(
                Error,
                "more batches refused by {}; only the first {MAX_REJECTION_LINES} are described \
                 (see the flush report for the count)",
                self.http.url()
            );
        }
    }

    fn describe_rejection(&mut self, batch: &Batch, status: u16, reason: &str) {
        self.rejection_lines += 1;
        if self.rejection_lines > MAX_REJECTION_LINES {
            crate::log_once!(
                Error,
                "more events rejected by the API; only the first {MAX_REJECTION_LINES} are \
                 described (see the flush report for the count)"
            );
            return;
        }
        let event: serde_json::Value = serde_json::from_slice(batch.event(0)).unwrap_or_default();
        let id = event["id"].as_str().unwrap_or("?");
        let name = event["sequence"]["name"].as_str().unwrap_or("?");
        crate::log!(
            Error,
            "event {id} (`{name}`) was rejected by the API (HTTP {status}) and dropped: {reason}"
        );
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
            self.http.url(),
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
                crate::log!(Info, "wrote {n} events to the spool {}", self.spool_dir());
                if batch.origin == Origin::Own {
                    self.report.spooled += n as u64;
                    self.own_files.insert(written.name, (n, self.window));
                }
                for (name, _) in &written.evicted {
                    // A report counts this process's events: an earlier run's files evicted
                    // here are said on stderr (below), not added to what this run lost.
                    if let Some((n, window)) = self.own_files.remove(name) {
                        self.report.dropped += n as u64;
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
                crate::log_once!(
                    Error,
                    "cannot write undelivered events to the spool: {e}; they are dropped \
                     (counted in the flush report)"
                );
            }
            None => self.report.dropped += n as u64,
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

    /// Deadlines passed: what the flush covers goes to the spool now (an exit flush: all of
    /// it), and the flush is answered as timed out.
    fn expire_flushes(&mut self, now: Instant) {
        let Some(i) = self.flushes.iter().position(|f| f.flush.deadline <= now) else {
            return;
        };
        let flush = self.flushes.swap_remove(i);
        let bound = if flush.flush.exit {
            self.seal();
            u64::MAX
        } else {
            flush.bound
        };
        let (covered, later): (Vec<Batch>, Vec<Batch>) =
            self.ready.drain(..).partition(|b| b.seq < bound);
        self.ready = later.into();
        for batch in covered {
            self.spool_batch(batch);
        }
        let cancel = match &self.current {
            Some(Current {
                job: Job::Batch(b), ..
            }) => b.seq < bound,
            Some(Current {
                job: Job::Replay(..),
                ..
            }) => true,
            None => false,
        };
        if cancel {
            if let Some(current) = self.current.take() {
                if let Phase::InFlight { since, .. } = current.phase {
                    let hang = HANG
                        .min(
                            flush
                                .flush
                                .deadline
                                .saturating_duration_since(flush.started)
                                / 2,
                        )
                        .max(MIN_HANG);
                    if now.duration_since(since) >= hang {
                        let waited = now.duration_since(since).as_millis();
                        self.trip(&format!("no answer within {waited} ms"));
                    }
                }
                self.park(current.job);
            }
        }
        self.answer(flush.flush, true);
        // Others may have expired at the same moment.
        self.expire_flushes(now);
    }

    fn settle_flushes(&mut self, now: Instant) {
        let replay_busy = matches!(
            self.current,
            Some(Current {
                job: Job::Replay(..),
                ..
            })
        ) || self.replay_batches > 0
            || self.can_replay(now);
        let mut i = 0;
        while i < self.flushes.len() {
            let f = &self.flushes[i];
            let own_done = self.outstanding.range(..f.bound).next().is_none();
            if own_done && !(f.flush.exit && replay_busy) {
                let flush = self.flushes.swap_remove(i);
                self.answer(flush.flush, false);
            } else {
                i += 1;
            }
        }
    }

    fn answer(&mut self, flush: Flush, timed_out: bool) {
        let mut report = std::mem::take(&mut self.report);
        report.timed_out = timed_out;
        report.upload_stopped.clone_from(&self.off);
        self.window += 1;
        self.answered.push((flush.ticket, report));
    }
}
