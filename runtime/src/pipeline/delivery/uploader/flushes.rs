//! Flushes: registered with the batches they cover, settled once those are resolved (an
//! exit flush also waits for the spool's replay), expired at their deadline with what they
//! cover spooled, and answered with the report of this sink's events since the last one.

use std::time::Instant;

use super::{Current, HANG, Job, MIN_HANG, PendingFlush, Phase, Uploader};
use crate::model::flush_report::FlushReport;
use crate::pipeline::delivery::batch::Batch;
use crate::pipeline::sink::SinkFlush;

impl Uploader {
    /// Registers a flush: everything taken so far is its business.
    pub(crate) fn add_flush(&mut self, flush: SinkFlush, now: Instant) {
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

    /// Flushes settled since the last call.
    pub(crate) fn take_answered(&mut self) -> Vec<(u64, FlushReport)> {
        std::mem::take(&mut self.answered)
    }

    /// Deadlines passed: what the flush covers goes to the spool now (an exit flush: all of
    /// it), and the flush is answered as timed out.
    pub(super) fn expire_flushes(&mut self, now: Instant) {
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

    pub(super) fn settle_flushes(&mut self, now: Instant) {
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

    fn answer(&mut self, flush: SinkFlush, timed_out: bool) {
        let mut report = std::mem::take(&mut self.report);
        report.timed_out = timed_out;
        report.upload_stopped.clone_from(&self.off);
        self.window += 1;
        self.answered.push((flush.ticket, report));
    }
}
