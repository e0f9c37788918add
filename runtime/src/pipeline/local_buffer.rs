//! One recording thread's buffer of finished records, which the background thread empties
//! from outside.
//!
//! Both sides lock it, but the owning thread locks it on every event, so the lock is a
//! spinlock whose unlock is a plain release store. `std::sync::Mutex` unlocks with an atomic
//! swap (it must look for sleeping waiters), and in the overhead benchmark its lock and
//! unlock were a quarter of an event's cost. Waits are short by construction: each side
//! holds the lock only to push one record or to swap the vector out.

use std::cell::UnsafeCell;
use std::hint::spin_loop;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::event::Record;

#[derive(Debug, Default)]
pub(crate) struct LocalBuffer {
    locked: AtomicBool,
    records: UnsafeCell<Vec<Record>>,
}

// SAFETY: `records` is only reached through `with`, which holds `locked`, so at most one
// thread at a time touches it; `Record` is `Send`.
unsafe impl Sync for LocalBuffer {}

impl LocalBuffer {
    pub(crate) fn with_capacity(n: usize) -> Self {
        LocalBuffer {
            locked: AtomicBool::new(false),
            records: UnsafeCell::new(Vec::with_capacity(n)),
        }
    }

    /// Runs `f` on the records with the lock held.
    #[inline]
    pub(crate) fn with<R>(&self, f: impl FnOnce(&mut Vec<Record>) -> R) -> R {
        let mut spins = 0u32;
        while self
            .locked
            .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            spins += 1;
            if spins < 64 {
                spin_loop();
            } else {
                // The holder was descheduled mid-push: let it run.
                std::thread::yield_now();
            }
        }
        let _unlock = Unlock(&self.locked);
        // SAFETY: the lock is held until `_unlock` drops, after `f` returns or unwinds.
        f(unsafe { &mut *self.records.get() })
    }
}

struct Unlock<'a>(&'a AtomicBool);

impl Drop for Unlock<'_> {
    #[inline]
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn two_threads_never_hold_it_at_once() {
        // A plain counter updated non-atomically under the lock must not lose increments.
        struct Counter(UnsafeCell<u64>, LocalBuffer);
        unsafe impl Sync for Counter {}
        let c = Arc::new(Counter(UnsafeCell::new(0), LocalBuffer::default()));
        let handles: Vec<_> = (0..4)
            .map(|_| {
                let c = Arc::clone(&c);
                std::thread::spawn(move || {
                    for _ in 0..50_000 {
                        c.1.with(|_| unsafe { *c.0.get() += 1 });
                    }
                })
            })
            .collect();
        for h in handles {
            assert!(h.join().is_ok());
        }
        assert_eq!(unsafe { *c.0.get() }, 200_000);
    }
}
