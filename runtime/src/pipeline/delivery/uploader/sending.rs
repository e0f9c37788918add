//! Sending: what is due at each step, the request in flight, and the next job (own batches
//! first, then a file from the spool), within the breaker and the flushes' deadlines.

use std::task::{Context, Poll};
use std::time::Instant;

use crate::pipeline::delivery::body::Body;

use super::{Current, Job, Phase, REPLAY_PAUSE, Uploader};
use crate::platform::clock;

impl Uploader {
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
            if !self.sends() || self.off.is_some() {
                // Nothing sends in this process (the spool is where its batches go), or
                // uploading stopped.
                self.park(job);
                continue;
            }
            if !self.breaker.allows(now) {
                crate::log_once!(
                    Warn,
                    "events are written to the spool {}, not sent: {} was found unreachable or \
                     hanging in the last {} s (by this or another process); a later run sends them",
                    self.spool_dir(),
                    self.url,
                    self.breaker.cooldown().as_secs()
                );
                self.park(job);
                continue;
            }
            let Some(request) = self.transport.http().map(|http| http.post(job.body())) else {
                self.park(job);
                continue;
            };
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
            Ok(body) => Some(Job::Replay(claimed, Body::from(body))),
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
}
