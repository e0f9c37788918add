//! How senders wake the background thread, with std alone: a flag that says "look now", and
//! the [`Waker`] the background thread left when it last went to sleep. Whatever drives the
//! background thread gives its own waker: a blocking driver one that unparks its thread, an
//! async runtime its task's. So the hand-off needs no async runtime, and the hot path never
//! sees which driver runs.
//!
//! A wake-up is never lost: the sender sets the flag before it takes the waker, and the
//! background thread looks at the flag again after it left its waker. A wake-up that comes
//! while the thread is awake stays in the flag for its next look, as a permit does.

use std::sync::atomic::AtomicBool;
use std::sync::atomic::Ordering::{AcqRel, Release};
use std::sync::{Mutex, PoisonError};
use std::task::{Context, Poll, Waker};

#[derive(Debug, Default)]
pub(crate) struct Wake {
    woken: AtomicBool,
    waker: Mutex<Option<Waker>>,
}

impl Wake {
    /// Wakes the background thread, or has its next look return at once. Rare: a sender calls
    /// it when a full upload batch waits, and a flush when it starts.
    pub(crate) fn notify(&self) {
        self.woken.store(true, Release);
        let waker = self
            .waker
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    /// `Ready` once woken since the last `Ready` (the wake-up is used up); else `Pending`,
    /// with `cx`'s waker left for the next [`notify`](Self::notify).
    pub(crate) fn poll(&self, cx: &mut Context<'_>) -> Poll<()> {
        if self.woken.swap(false, AcqRel) {
            return Poll::Ready(());
        }
        {
            let mut slot = self.waker.lock().unwrap_or_else(PoisonError::into_inner);
            match slot.as_mut() {
                Some(waker) if waker.will_wake(cx.waker()) => {}
                _ => *slot = Some(cx.waker().clone()),
            }
        }
        // A wake-up between the first look and leaving the waker found no waker to wake.
        if self.woken.swap(false, AcqRel) {
            return Poll::Ready(());
        }
        Poll::Pending
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    use super::*;

    /// Unparks the thread that polled.
    struct Unpark(std::thread::Thread);
    impl std::task::Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }

    #[test]
    fn a_wake_up_before_the_look_is_kept_and_used_once() {
        let wake = Wake::default();
        let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
        let mut cx = Context::from_waker(&waker);
        wake.notify();
        assert!(wake.poll(&mut cx).is_ready());
        assert!(wake.poll(&mut cx).is_pending(), "used up");
    }

    #[test]
    fn a_sleeping_thread_is_unparked() {
        let wake = Arc::new(Wake::default());
        let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
        let mut cx = Context::from_waker(&waker);
        assert!(wake.poll(&mut cx).is_pending());
        let sender = Arc::clone(&wake);
        let notifier = std::thread::spawn(move || sender.notify());
        let limit = Instant::now() + Duration::from_secs(10);
        while wake.poll(&mut cx).is_pending() {
            assert!(Instant::now() < limit, "never woken");
            std::thread::park_timeout(Duration::from_secs(1));
        }
        assert!(notifier.join().is_ok());
    }
}
