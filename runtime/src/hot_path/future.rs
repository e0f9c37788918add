//! Futures that carry an event or a context across `.await` points: the context is entered
//! on every poll and left after it, so interleaved futures on one thread and tasks that move
//! between worker threads each see their own parent.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use std::marker::PhantomData;

use crate::Conclusion;
use crate::hot_path::event::{AsyncEvent, finish_now, finish_on_stack, set_error_on_stack};
use crate::hot_path::gate;
use crate::hot_path::stack::{Entered, FrameScope};
use crate::record::lineage::EventContext;
use crate::record::running::registry;
use crate::record::{Frame, abandoned};

pin_project_lite::pin_project! {
    /// The body of an `async fn` under its event. Resolves to the body's output and a
    /// [`Finisher`] that records the conclusion; dropped before completion, the event is
    /// recorded as `CANCELLED`.
    #[doc(hidden)]
    #[derive(Debug)]
    #[must_use = "futures do nothing unless polled"]
    pub struct Instrumented<F> {
        #[pin]
        fut: F,
        frame: Option<Frame>,
        // Whether the event is in the registry of running events: from the first poll
        // that left it suspended (off every stack, so no mirror shows it) until it ends.
        held: bool,
    }

    impl<F> PinnedDrop for Instrumented<F> {
        fn drop(this: Pin<&mut Self>) {
            let this = this.project();
            if let Some(frame) = this.frame.take() {
                if std::mem::take(this.held) {
                    registry::release(frame.id);
                }
                finish_now(frame, abandoned());
            }
        }
    }
}

/// Wraps the body; with `None` (analytics disabled) it only forwards polls.
#[doc(hidden)]
#[inline]
pub fn instrument<F: Future>(event: Option<AsyncEvent>, fut: F) -> Instrumented<F> {
    Instrumented {
        fut,
        frame: event.map(|e| e.frame),
        held: false,
    }
}

/// Records the end of an async event once its conclusion is known. Its frame is still on
/// top of this thread's stack, left there by the poll that completed the body: the
/// conclusion is computed and this finishes the event within that same poll.
#[doc(hidden)]
#[derive(Debug)]
pub struct Finisher {
    /// The event's id; 0 when there is none.
    id: u64,
    // The frame is on this thread's stack: the finisher must not move to another thread.
    _not_send: PhantomData<*const ()>,
}

impl Finisher {
    /// Ends the event with the conclusion of the body's output.
    // Out of line, like `SyncGuard::finish`, so that it is not copied into every async fn.
    #[inline(never)]
    pub fn finish(mut self, returned: Conclusion) {
        let id = std::mem::take(&mut self.id);
        if id != 0 {
            finish_on_stack(id, returned);
        }
    }
}

impl Finisher {
    /// [`finish`](Self::finish), recording `error` (a `#[track_event(err)]` function's
    /// `Err`) on the event first.
    #[inline(never)]
    pub fn finish_with_error(mut self, returned: Conclusion, error: Option<Box<str>>) {
        let id = std::mem::take(&mut self.id);
        if id != 0 {
            if let Some(text) = error {
                set_error_on_stack(id, text);
            }
            finish_on_stack(id, returned);
        }
    }
}

impl Drop for Finisher {
    fn drop(&mut self) {
        if self.id != 0 {
            finish_on_stack(self.id, abandoned());
        }
    }
}

impl<F: Future> Future for Instrumented<F> {
    type Output = (F::Output, Finisher);

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let scope = FrameScope::enter(this.frame);
        match this.fut.poll(cx) {
            Poll::Ready(out) => {
                let id = scope.map_or(0, FrameScope::keep);
                if std::mem::take(this.held) {
                    registry::release(id);
                }
                Poll::Ready((
                    out,
                    Finisher {
                        id,
                        _not_send: PhantomData,
                    },
                ))
            }
            Poll::Pending => {
                drop(scope);
                if !*this.held {
                    if let Some(frame) = this.frame.as_ref() {
                        registry::hold(frame);
                        *this.held = true;
                    }
                }
                Poll::Pending
            }
        }
    }
}

pin_project_lite::pin_project! {
    /// A future that runs under an [`EventContext`]; made by [`EventContext::instrument`] or
    /// [`FutureExt::with_current_context`](crate::FutureExt::with_current_context). It enters
    /// the context on every poll and leaves it after, so it may move between threads and
    /// interleave with other futures.
    ///
    /// ```
    /// use trunk_ci_analytics::{EventContext, WithContext};
    ///
    /// let ctx = EventContext::from_ids("c", "e", "k");
    /// let fut: WithContext<_> = ctx.instrument(async { 1 + 1 });
    /// # let _ = fut;
    /// ```
    #[derive(Debug)]
    #[must_use = "futures do nothing unless polled"]
    pub struct WithContext<F> {
        #[pin]
        fut: F,
        ctx: Option<EventContext>,
    }
}

impl<F> WithContext<F> {
    /// `fut` under `ctx`; the caller has set the runtime up (so the gate is known).
    pub(crate) fn new(ctx: Option<EventContext>, fut: F) -> Self {
        WithContext { fut, ctx }
    }
}

impl<F: Future> Future for WithContext<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        match this.ctx {
            Some(ctx) if gate::on() => {
                let _entered = Entered::push(ctx.clone());
                this.fut.poll(cx)
            }
            _ => this.fut.poll(cx),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hot_path::event::AsyncEvent;
    use crate::model::site::Site;

    /// Pending on its first poll, ready on the second.
    struct OnceMore(bool);

    impl Future for OnceMore {
        type Output = ();
        fn poll(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<()> {
            if std::mem::replace(&mut self.0, true) {
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        }
    }

    fn open(id: u64) -> bool {
        crate::record::running::snapshot()
            .iter()
            .any(|e| e.id == id)
    }

    #[test]
    fn a_suspended_call_stays_visible_as_running_until_it_ends() {
        static SITE: Site = Site::new("a", None, None, "a", "function", None, false, false);
        for cancel in [false, true] {
            let event = AsyncEvent::start(&SITE, None);
            let id = event.as_ref().map_or(0, |e| e.frame.id);
            let mut fut = Box::pin(instrument(event, OnceMore(false)));
            let mut cx = Context::from_waker(std::task::Waker::noop());
            assert!(fut.as_mut().poll(&mut cx).is_pending());
            assert!(open(id), "suspended: off every stack, in the registry");
            if cancel {
                drop(fut);
            } else {
                let Poll::Ready(((), finisher)) = fut.as_mut().poll(&mut cx) else {
                    panic!("ready on the second poll");
                };
                finisher.finish(Conclusion::Success);
            }
            assert!(!open(id), "ended (cancelled: {cancel})");
        }
    }
}
