//! The senders' overflow: records a recording thread cannot hand over because the channel
//! is at its bound (the background thread is behind, e.g. descheduled on a busy machine)
//! are kept here, compact, in memory and then on disk, instead of being dropped; the
//! background thread takes them from here when it catches up. Off the hot path: one lock
//! per chunk of records, taken only past the bound; never a network call.

use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::{Mutex, PoisonError};

use super::chunk::Chunk;
use crate::record::Record;
use crate::record::overflow::{Bounds, Overflow};

#[derive(Debug)]
pub(crate) struct SendersOverflow {
    overflow: Mutex<Overflow>,
    /// Records kept, readable without the lock.
    held: AtomicUsize,
}

impl SendersOverflow {
    pub(crate) fn new(bounds: Bounds) -> SendersOverflow {
        SendersOverflow {
            overflow: Mutex::new(Overflow::new(bounds)),
            held: AtomicUsize::new(0),
        }
    }

    /// Keeps every record waiting in `chunk`; `false` (nothing kept) when it is full.
    #[cold]
    pub(crate) fn keep(&self, chunk: &Chunk) -> bool {
        let mut overflow = self.overflow.lock().unwrap_or_else(PoisonError::into_inner);
        if !overflow.accepts() {
            return false;
        }
        let mut n = 0;
        let taken = chunk.take();
        let thread = taken.thread;
        for record in taken {
            overflow.push(&record, thread);
            n += 1;
        }
        self.held.fetch_add(n, Relaxed);
        true
    }

    /// Records kept.
    pub(crate) fn held(&self) -> usize {
        self.held.load(Relaxed)
    }

    /// Gives up to `max` of the oldest records kept to `f`; returns how many, and how many
    /// were lost (kept on disk and unreadable since).
    pub(crate) fn pop(&self, max: usize, f: impl FnMut(Record, u64)) -> (usize, u64) {
        if self.held() == 0 {
            return (0, 0);
        }
        let mut overflow = self.overflow.lock().unwrap_or_else(PoisonError::into_inner);
        let before = overflow.len();
        let n = overflow.pop(max, f);
        let lost = overflow.take_lost();
        self.held.fetch_sub(before - overflow.len(), Relaxed);
        (n, lost)
    }
}
