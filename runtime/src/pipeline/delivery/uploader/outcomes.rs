//! What the outcome of a request does to its job: delivered (in full or in part), refused
//! (split to find the bad events, or dropped whole), unauthorized or misdirected (uploading
//! stops), or retried with backoff until its attempts run out.

use std::time::Instant;

use super::{Current, Job, MAX_REJECTION_LINES, Phase, Uploader};
use crate::pipeline::delivery::batch::{Batch, Origin};
use crate::pipeline::delivery::protocol::Outcome;
use crate::pipeline::delivery::retry;
use crate::platform::clock;

impl Uploader {
    pub(super) fn on_outcome(&mut self, job: Job, attempts: u32, outcome: Outcome) {
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
                    self.url
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
                            self.url
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
                    self.url,
                    p.credentials_var,
                    self.spool_dir()
                ));
                self.park(job);
            }
            Outcome::Misdirected { status, reason } => {
                self.stop(format!(
                    "{} answered HTTP {status}{}: check {}; uploading is off for this process \
                     and events are kept in the spool {}",
                    self.url,
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
                        self.url,
                        self.spool_dir()
                    );
                    self.park(job);
                    return;
                }
                let wait = after.unwrap_or_else(|| retry::backoff(attempts, &mut self.jitter));
                crate::log!(
                    Debug,
                    "{}: {failure}; attempt {} in {} ms",
                    self.url,
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
                self.url
            );
        } else {
            crate::log_once!(
                Error,
                "more batches refused by {}; only the first {MAX_REJECTION_LINES} are described \
                 (see the flush report for the count)",
                self.url
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
}
