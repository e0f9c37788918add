//! The hand-off's unsafe core: a chunk of [`LOCAL_BATCH`] record slots that one recording
//! thread fills and the background thread may empty from outside, with no lock per event.
//! Every `unsafe` block of the hand-off is in this file.
//!
//! The owning thread writes a slot, then publishes how many slots are written with a release
//! store (a plain `mov` on x86: no locked instruction per event). The background thread
//! reads that count with acquire and moves out the slots between what it took before and
//! the count. Written slots are never written again and unwritten ones are never read, so
//! the two sides never touch one slot at once. A full chunk goes through the channel whole,
//! and the thread starts a new one.
//!
//! A finished event goes from the top of the thread's context stack straight into its slot
//! ([`Writer::push_top`]): the frame is copied once, never through a local.

use std::cell::UnsafeCell;
use std::mem::MaybeUninit;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use super::LOCAL_BATCH;
use crate::Conclusion;
use crate::record::running::mirror::Mirror;
use crate::record::{Entry, Frame, Record};

/// Slots filled in order by one [`Writer`], emptied by [`take`](Chunk::take).
pub(crate) struct Chunk {
    /// Slots below it are initialized, and no longer written.
    written: AtomicUsize,
    /// Slots below it were moved out (or are being moved out by whoever advanced it).
    taken: AtomicUsize,
    /// The OS thread id of the writer that filled it: set when a writer takes the chunk,
    /// before the chunk is reachable from the background thread.
    thread: AtomicU64,
    slots: [UnsafeCell<MaybeUninit<Record>>; LOCAL_BATCH],
}

// SAFETY: a slot is written only by the chunk's single `Writer`, before `written` passes it,
// and read only by the one `take` whose `fetch_max` on `taken` claimed it, after `written`
// passed it (acquire pairs with the writer's release); `Record` is `Send`.
unsafe impl Sync for Chunk {}
unsafe impl Send for Chunk {}

impl Chunk {
    fn new() -> Arc<Chunk> {
        // Built in place: `Arc::new(Chunk { .. })` would copy every (uninitialized) slot
        // from the stack.
        let mut chunk = Arc::<Chunk>::new_uninit();
        match Arc::get_mut(&mut chunk) {
            Some(uninit) => {
                let p = uninit.as_mut_ptr();
                // SAFETY: `p` points into the new, unique allocation; the slots are
                // `MaybeUninit` and need no initialization.
                unsafe {
                    std::ptr::addr_of_mut!((*p).written).write(AtomicUsize::new(0));
                    std::ptr::addr_of_mut!((*p).taken).write(AtomicUsize::new(0));
                    std::ptr::addr_of_mut!((*p).thread).write(AtomicU64::new(0));
                }
                // SAFETY: every field that needs it was just initialized.
                unsafe { chunk.assume_init() }
            }
            // Never: a new `Arc` is unique.
            None => Arc::new(Chunk {
                written: AtomicUsize::new(0),
                taken: AtomicUsize::new(0),
                thread: AtomicU64::new(0),
                slots: [const { UnsafeCell::new(MaybeUninit::uninit()) }; LOCAL_BATCH],
            }),
        }
    }

    /// Claims every record written and not yet taken, to be moved out, oldest first, by
    /// iterating. Safe from any thread at any time: each call claims a range no other gets.
    pub(crate) fn take(&self) -> Taken<'_> {
        let written = self.written.load(Ordering::Acquire);
        let from = self.taken.fetch_max(written, Ordering::AcqRel);
        Taken {
            slots: self.slots[from.min(written)..written].iter(),
            thread: self.thread.load(Ordering::Relaxed),
        }
    }

    /// Records written and not yet taken.
    pub(crate) fn waiting(&self) -> usize {
        let written = self.written.load(Ordering::Acquire);
        written.saturating_sub(self.taken.load(Ordering::Acquire))
    }
}

impl Drop for Chunk {
    fn drop(&mut self) {
        let (written, taken) = (*self.written.get_mut(), *self.taken.get_mut());
        for slot in &mut self.slots[taken.min(written)..written] {
            // SAFETY: written and never taken; `&mut self` excludes every other access.
            unsafe { slot.get_mut().assume_init_drop() };
        }
    }
}

impl std::fmt::Debug for Chunk {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Chunk({} waiting)", self.waiting())
    }
}

/// Records claimed from a chunk; those not iterated are dropped with it.
pub(crate) struct Taken<'a> {
    slots: std::slice::Iter<'a, UnsafeCell<MaybeUninit<Record>>>,
    /// The OS thread id of the thread that recorded them.
    pub(crate) thread: u64,
}

impl Iterator for Taken<'_> {
    type Item = Record;

    fn next(&mut self) -> Option<Record> {
        let slot = self.slots.next()?;
        // SAFETY: below `written`, so initialized; claimed by our `fetch_max` alone, and the
        // iterator yields each slot once.
        Some(unsafe { (*slot.get()).assume_init_read() })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.slots.size_hint()
    }
}

impl ExactSizeIterator for Taken<'_> {}

impl Drop for Taken<'_> {
    fn drop(&mut self) {
        self.for_each(drop);
    }
}

/// What [`Writer::push_top`] did.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Pushed {
    /// The chunk is full and must be handed over.
    pub(crate) full: bool,
    /// The event's site asks for a flush when it ends.
    pub(crate) flush: bool,
}

/// The only writer of one chunk, held by the recording thread.
#[derive(Debug)]
pub(crate) struct Writer {
    chunk: Arc<Chunk>,
    /// Our own copy of `chunk.written`: no load on the hot path.
    len: usize,
    /// The OS id of the recording thread, fetched once per thread.
    thread: u64,
}

impl Writer {
    /// A writer of a new chunk for the OS thread `thread`, which the background thread can
    /// reach through `mailbox`.
    pub(crate) fn new(mailbox: &Mailbox, pool: &Pool, thread: u64) -> Writer {
        let chunk = pool.get();
        // Relaxed: the mailbox's lock (or the channel) publishes it with the chunk.
        chunk.thread.store(thread, Ordering::Relaxed);
        *mailbox.lock() = Some(Arc::clone(&chunk));
        Writer {
            chunk,
            len: 0,
            thread,
        }
    }

    /// Appends a record; `true` when the chunk is now full and must be handed over.
    pub(crate) fn push(&mut self, record: Record) -> bool {
        let Some(slot) = self.chunk.slots.get(self.len) else {
            // Unreachable, as in `push_top`.
            drop(record);
            return true;
        };
        // SAFETY: at or above `written`: no reader touches it, and we are its only writer.
        unsafe { (*slot.get()).write(record) };
        self.publish()
    }

    /// Makes the slot just written visible to the background thread.
    #[inline]
    fn publish(&mut self) -> bool {
        self.len += 1;
        self.chunk.written.store(self.len, Ordering::Release);
        if let Some(next) = self.chunk.slots.get(self.len) {
            prefetch_for_write(next.get().cast());
        }
        self.len == LOCAL_BATCH
    }

    /// Moves the event `id` from the top of `stack` into the next slot, as finished at
    /// `end`, after retiring it from `mirror`; a conclusion set inside its body wins over
    /// `returned`. `None` (and nothing moved) when the top of `stack` is not that event.
    #[inline]
    pub(crate) fn push_top(
        &mut self,
        stack: &mut Vec<Entry>,
        mirror: &Mirror,
        id: u64,
        end: u64,
        returned: Conclusion,
    ) -> Option<Pushed> {
        let len = stack.len();
        let Some(Entry::Event(top)) = stack.last() else {
            return None;
        };
        if top.id != id {
            return None;
        }
        mirror.retire(len - 1, top);
        let flush = top.meta.flush();
        let conclusion = top.conclusion.unwrap_or(returned);
        let frame: *const Frame = top;
        let Some(slot) = self.chunk.slots.get(self.len) else {
            // Unreachable: a full chunk is replaced before the next push. Dropping the
            // event is the only answer that keeps the hot path free of panics.
            drop(stack.pop());
            return Some(Pushed { full: true, flush });
        };
        let dst = slot.get().cast::<Record>();
        // SAFETY: the slot is at or above `written`, so no reader touches it and we are its
        // only writer. The frame is read once, bitwise, into the slot, and the stack forgets
        // the entry (an `Entry::Event` owns nothing but the frame), so the frame is moved,
        // not duplicated; no reference into the stack is alive across `set_len`.
        unsafe {
            std::ptr::copy_nonoverlapping(frame, &raw mut (*dst).frame, 1);
            (&raw mut (*dst).end).write(end);
            (&raw mut (*dst).conclusion).write(conclusion);
            stack.set_len(len - 1);
        }
        Some(Pushed {
            full: self.publish(),
            flush,
        })
    }

    /// Starts a new chunk (made reachable through `mailbox` first) and returns the old one,
    /// which the background thread can then no longer reach but through the channel.
    pub(crate) fn replace(&mut self, mailbox: &Mailbox, pool: &Pool) -> Arc<Chunk> {
        let thread = self.thread;
        std::mem::replace(self, Writer::new(mailbox, pool, thread)).chunk
    }

    /// A chunk holding `record` alone, for a thread that has no outbox (it is exiting).
    pub(crate) fn single(record: Record) -> Arc<Chunk> {
        let thread = crate::platform::sys::thread_id();
        let chunk = Chunk::new();
        chunk.thread.store(thread, Ordering::Relaxed);
        let mut writer = Writer {
            chunk,
            len: 0,
            thread,
        };
        writer.push(record);
        writer.chunk
    }
}

/// Asks for the cache lines of the next slot ahead of the next event, so that writing the
/// record does not wait for them.
#[inline(always)]
fn prefetch_for_write(p: *const u8) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_MM_HINT_ET0, _mm_prefetch};
        // SAFETY: a prefetch is only a hint; it never faults, whatever the address.
        unsafe {
            _mm_prefetch::<_MM_HINT_ET0>(p.cast());
            _mm_prefetch::<_MM_HINT_ET0>(p.wrapping_add(64).cast());
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}

/// Chunks the background thread emptied, for the recording threads to fill again: while
/// it keeps up, a thread's next chunk is one that is already mapped, not a fresh allocation
/// of a whole chunk on the hot path (freed on the other thread). A burst larger than the pool
/// allocates; the pool is small so that it never holds much memory idle.
#[derive(Debug, Default)]
pub(crate) struct Pool(Mutex<Vec<Arc<Chunk>>>);

/// Most chunks a pool keeps (each holds [`LOCAL_BATCH`] record slots).
const POOL_CHUNKS: usize = 64;

impl Pool {
    fn get(&self) -> Arc<Chunk> {
        let reused = self.0.lock().unwrap_or_else(PoisonError::into_inner).pop();
        reused.unwrap_or_else(Chunk::new)
    }

    /// Keeps `chunk` for reuse if nothing else holds it and it is empty.
    pub(crate) fn give(&self, mut chunk: Arc<Chunk>) {
        let Some(c) = Arc::get_mut(&mut chunk) else {
            return;
        };
        if c.written.get_mut() != c.taken.get_mut() {
            return;
        }
        *c.written.get_mut() = 0;
        *c.taken.get_mut() = 0;
        let mut pool = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if pool.len() < POOL_CHUNKS {
            pool.push(chunk);
        }
    }
}

/// Where the background thread finds a recording thread's current chunk.
#[derive(Debug, Default)]
pub(crate) struct Mailbox(Mutex<Option<Arc<Chunk>>>);

impl Mailbox {
    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Arc<Chunk>>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Takes what the current chunk holds. The lock is held meanwhile, so once
    /// [`Writer::replace`] returns, no collection is still reading the old chunk.
    pub(crate) fn collect<R>(&self, f: impl FnOnce(Taken<'_>) -> R) -> Option<R> {
        self.lock().as_ref().map(|chunk| f(chunk.take()))
    }

    /// Records waiting in the current chunk.
    pub(crate) fn waiting(&self) -> usize {
        self.lock().as_ref().map_or(0, |chunk| chunk.waiting())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::tests::{record, record_of};

    #[test]
    fn what_one_thread_writes_another_takes_exactly_once() {
        let mailbox = Arc::new(Mailbox::default());
        let pool = Arc::new(Pool::default());
        let total = 20 * LOCAL_BATCH + 7;
        let (tx, rx) = std::sync::mpsc::channel();
        let writer = {
            let mailbox = Arc::clone(&mailbox);
            let pool = Arc::clone(&pool);
            std::thread::spawn(move || {
                let mut w = Writer::new(&mailbox, &pool, 7);
                for i in 0..total {
                    if w.push(record(i as u64 + 1)) {
                        let _ = tx.send(w.replace(&mailbox, &pool));
                    }
                }
            })
        };
        let mut seen = Vec::new();
        // Collect from outside while the writer runs, as the background thread does.
        while !writer.is_finished() {
            mailbox.collect(|taken| seen.extend(taken.map(|r| r.frame.id)));
        }
        assert!(writer.join().is_ok());
        for chunk in rx.try_iter() {
            seen.extend(chunk.take().map(|r| r.frame.id));
            pool.give(chunk);
        }
        mailbox.collect(|taken| seen.extend(taken.map(|r| r.frame.id)));
        seen.sort_unstable();
        let expected: Vec<u64> = (1..=total as u64).collect();
        assert_eq!(seen, expected);
    }

    #[test]
    fn every_record_is_dropped_once_whether_taken_or_left_in_the_chunk() {
        // Each record holds a reference on `site`: a leak leaves the count high, a double
        // drop (or a slot read twice) brings it below one or crashes.
        let site = Arc::new(crate::model::site::DynSite::default());
        let meta = || crate::model::site::Meta::Dynamic(Arc::clone(&site));
        let mailbox = Mailbox::default();
        let pool = Pool::default();
        let mut w = Writer::new(&mailbox, &pool, 7);
        for i in 0..3 {
            w.push(record_of(i + 1, meta()));
        }
        assert_eq!(mailbox.collect(|taken| taken.len()), Some(3));
        // Claimed but not iterated: dropped all the same.
        assert_eq!(Arc::strong_count(&site), 1);
        assert_eq!(mailbox.collect(|taken| taken.len()), Some(0), "taken twice");
        for i in 3..5 {
            w.push(record_of(i + 1, meta()));
        }
        assert_eq!(mailbox.waiting(), 2);
        let chunk = w.replace(&mailbox, &pool);
        assert_eq!(mailbox.waiting(), 0, "the new chunk is empty");
        assert_eq!(Arc::strong_count(&site), 3);
        drop(chunk);
        assert_eq!(Arc::strong_count(&site), 1);
    }

    #[test]
    fn an_event_moves_from_the_top_of_its_stack_into_a_slot_once() {
        use crate::record::Entry;
        let site = Arc::new(crate::model::site::DynSite::default());
        let meta = || crate::model::site::Meta::Dynamic(Arc::clone(&site));
        let mailbox = Mailbox::default();
        let pool = Pool::default();
        let mut w = Writer::new(&mailbox, &pool, 7);
        let mirror = crate::record::running::mirror::acquire();
        let mut stack: Vec<Entry> = [1, 2]
            .into_iter()
            .map(|id| Entry::Event(record_of(id, meta()).frame))
            .collect();
        // Not the top: nothing moves.
        assert!(
            w.push_top(&mut stack, mirror, 1, 9, Conclusion::Success)
                .is_none()
        );
        assert_eq!(stack.len(), 2);
        let pushed = w.push_top(&mut stack, mirror, 2, 9, Conclusion::Failure);
        assert!(pushed.is_some_and(|p| !p.full && !p.flush));
        assert_eq!(stack.len(), 1);
        assert_eq!(Arc::strong_count(&site), 3, "moved, not copied or dropped");
        let got = mailbox.collect(|taken| {
            taken
                .map(|r| (r.frame.id, r.end, r.conclusion))
                .collect::<Vec<_>>()
        });
        assert_eq!(got, Some(vec![(2, 9, Conclusion::Failure)]));
        assert_eq!(Arc::strong_count(&site), 2);
        drop(stack);
        assert_eq!(Arc::strong_count(&site), 1);
    }
}
