//! The background thread's end of the hand-off ([`Consumer`]): it takes the chunks sent
//! through the channel, collects the partial chunks of every recording thread, gives back
//! what the senders kept in their overflow, and publishes what the background thread holds.

use std::sync::Arc;
use std::sync::PoisonError;
use std::sync::atomic::Ordering::{Acquire, Relaxed};
use std::sync::mpsc::TryRecvError;
use std::task::{Context, Poll};

use super::{Consumer, Msg, Parcel, ThreadNames};
use crate::record::Record;

/// What [`Consumer::take`] found after taking what it could.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ChannelState {
    /// The channel is empty for now.
    Empty,
    /// The limit was reached; more is waiting.
    More,
    /// Every sender is gone.
    Closed,
}

impl Consumer {
    /// The names of the threads that recorded events, as they register.
    pub(crate) fn thread_names(&self) -> Arc<ThreadNames> {
        Arc::clone(&self.shared.names)
    }

    /// `Ready` when a sender or a flush woke the background thread since the last `Ready`;
    /// else `cx`'s waker is woken when one does.
    pub(crate) fn poll_woken(&self, cx: &mut Context<'_>) -> Poll<()> {
        self.shared.wake.poll(cx)
    }

    /// Takes up to about `limit` records (and any flushes among them) without blocking.
    /// When the channel runs empty, and before a flush is handed on, the records still in
    /// the recording threads' outboxes are collected too.
    pub(crate) fn take(&self, limit: usize, mut f: impl FnMut(Msg)) -> ChannelState {
        let mut records = 0;
        loop {
            if records >= limit {
                break ChannelState::More;
            }
            match self.rx.try_recv() {
                Ok(Parcel::Records(chunk, n)) => {
                    self.shared.transit.fetch_add(n, Relaxed);
                    self.shared.queued.fetch_sub(n, Relaxed);
                    records += n;
                    let taken = chunk.take();
                    let thread = taken.thread;
                    taken.for_each(|r| f(Msg::Record(r, thread)));
                    self.shared.pool.give(chunk);
                }
                Ok(Parcel::Flush(request)) => {
                    records += self.collect(&mut f);
                    f(Msg::Flush(request));
                }
                Ok(Parcel::Started(frame)) => {
                    // Behind the records finished before it, as a flush is.
                    records += self.collect(&mut f);
                    f(Msg::Started(frame));
                }
                Err(TryRecvError::Empty) => {
                    let collected = self.collect(&mut f);
                    records += collected;
                    if collected == 0 {
                        break ChannelState::Empty;
                    }
                }
                Err(TryRecvError::Disconnected) => {
                    self.collect(&mut f);
                    break ChannelState::Closed;
                }
            }
        }
    }

    /// Takes every recording thread's waiting records; forgets the mailboxes of threads
    /// that exited once they are empty. The records are handed to `f` only after the locks
    /// are released: `f` may write to stderr (a sink's error), which blocks while the pipe
    /// is full, and recording threads take these locks to start their next chunk.
    fn collect(&self, f: &mut impl FnMut(Msg)) -> usize {
        let mut taken_all: Vec<(Record, u64)> = Vec::new();
        let mut locals = self
            .shared
            .locals
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let mut n = 0;
        locals.retain(|mailbox| {
            // Looked at before collecting: a thread seen gone wrote its last record before
            // it went (the acquire fence pairs with the release of its `Arc` drop), so this
            // collection gets everything; a thread seen alive keeps its mailbox for the next.
            let alive = Arc::strong_count(mailbox) > 1;
            if !alive {
                std::sync::atomic::fence(Acquire);
            }
            n += mailbox
                .collect(|taken| {
                    // Counted in transit before they leave the chunk, so that `pending` never
                    // sees them nowhere.
                    let n = taken.len();
                    self.shared.transit.fetch_add(n, Relaxed);
                    let thread = taken.thread;
                    taken_all.extend(taken.map(|r| (r, thread)));
                    n
                })
                .unwrap_or(0);
            alive
        });
        drop(locals);
        taken_all
            .into_iter()
            .for_each(|(r, thread)| f(Msg::Record(r, thread)));
        n
    }

    /// Records sent and not yet taken: how far the background thread is behind.
    pub(crate) fn backlog(&self) -> usize {
        self.shared.queued.load(Relaxed)
    }

    /// Records the senders kept in their overflow past the limit, waiting for
    /// [`take_overflowed`](Self::take_overflowed).
    pub(crate) fn overflowed(&self) -> usize {
        self.shared.overflow.held()
    }

    /// Gives up to `max` records of the senders' overflow to `f`; returns how many. Records
    /// lost from it (unreadable on disk) are counted as refused.
    pub(crate) fn take_overflowed(&self, max: usize, f: impl FnMut(Record, u64)) -> usize {
        let (n, lost) = self.shared.overflow.pop(max, f);
        if lost > 0 {
            self.shared.refused.fetch_add(lost, Relaxed);
        }
        n
    }

    /// Everything taken so far is settled: counted in `held`, written or dropped.
    pub(crate) fn settled(&self) {
        self.shared.transit.store(0, Relaxed);
    }

    /// Publishes how many own events the background thread holds.
    pub(crate) fn set_held(&self, n: usize) {
        self.shared.held.store(n, Relaxed);
    }

    /// Makes hand-offs drop (and count) every record, or only those past the memory bound.
    pub(crate) fn set_refuse(&self, refuse: bool) {
        let limit = if refuse { 0 } else { self.shared.bound };
        if self.shared.limit.load(Relaxed) != limit {
            self.shared.limit.store(limit, Relaxed);
        }
    }

    /// Records dropped at hand-off since the last call.
    pub(crate) fn take_refused(&self) -> u64 {
        if self.shared.refused.load(Relaxed) == 0 {
            return 0;
        }
        self.shared.refused.swap(0, Relaxed)
    }
}
