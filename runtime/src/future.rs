//! Futures that carry an event or a context across `.await` points: the context is entered
//! on every poll and left after it, so interleaved futures on one thread and tasks that move
//! between worker threads each see their own parent.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::Conclusion;
use crate::context::{Entered, Entry, EventContext, FrameScope};
use crate::event::{AsyncEvent, Frame, abandoned};

/// The body of an `async fn` under its event. Resolves to the body's output and a
/// [`Finisher`] that records the conclusion; dropped before completion, the event is
/// recorded as `CANCELLED`.
#[doc(hidden)]
#[derive(Debug)]
#[must_use = "futures do nothing unless polled"]
pub struct Instrumented<F> {
    fut: F,
    frame: Option<Frame>,
}

/// Wraps the body; with `None` (analytics disabled) it only forwards polls.
#[doc(hidden)]
#[inline]
pub fn instrument<F: Future>(event: Option<AsyncEvent>, fut: F) -> Instrumented<F> {
    Instrumented {
        fut,
        frame: event.map(|e| e.frame),
    }
}

/// Records the end of an async event once its conclusion is known.
#[doc(hidden)]
#[derive(Debug)]
pub struct Finisher {
    frame: Option<Frame>,
}

impl Finisher {
    /// Ends the event with the conclusion of the body's output.
    // Out of line, like `SyncGuard::finish`, so that it is not copied into every async fn.
    #[inline(never)]
    pub fn finish(mut self, returned: Conclusion) {
        if let Some(frame) = self.frame.take() {
            frame.finish(returned);
        }
    }
}

impl Drop for Finisher {
    fn drop(&mut self) {
        if let Some(frame) = self.frame.take() {
            frame.finish(abandoned());
        }
    }
}

impl<F: Future> Future for Instrumented<F> {
    type Output = (F::Output, Finisher);

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // SAFETY: `fut` is structurally pinned and never moved; `frame` is not pinned.
        let this = unsafe { self.get_unchecked_mut() };
        let fut = unsafe { Pin::new_unchecked(&mut this.fut) };
        let scope = FrameScope::enter(&mut this.frame);
        let poll = fut.poll(cx);
        drop(scope);
        poll.map(|out| {
            (
                out,
                Finisher {
                    frame: this.frame.take(),
                },
            )
        })
    }
}

impl<F> Drop for Instrumented<F> {
    fn drop(&mut self) {
        if let Some(frame) = self.frame.take() {
            frame.finish(abandoned());
        }
    }
}

/// A future that runs under an [`EventContext`]; made by [`EventContext::instrument`] or
/// [`FutureExt::with_current_context`]. It enters the context on every poll and leaves it
/// after, so it may move between threads and interleave with other futures.
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
    fut: F,
    ctx: Option<EventContext>,
}

impl<F> WithContext<F> {
    pub(crate) fn new(ctx: EventContext, fut: F) -> Self {
        WithContext {
            fut,
            ctx: Some(ctx),
        }
    }
}

impl<F: Future> Future for WithContext<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        // SAFETY: `fut` is structurally pinned and never moved; `ctx` is not pinned.
        let this = unsafe { self.get_unchecked_mut() };
        let fut = unsafe { Pin::new_unchecked(&mut this.fut) };
        match (&this.ctx, crate::global::enabled()) {
            (Some(ctx), true) => {
                let _entered = Entered::push(Entry::Attached(ctx.clone()));
                fut.poll(cx)
            }
            _ => fut.poll(cx),
        }
    }
}

/// Runs futures under the current event from wherever they are polled: what a spawned task
/// needs, since `tokio::spawn` (or any executor) polls it outside the spawning event.
/// Implemented for every future.
///
/// ```
/// use trunk_ci_analytics::{FutureExt, track_event};
/// # let _guard = trunk_ci_analytics::init(Default::default());
///
/// #[track_event]
/// async fn shard(n: u32) -> bool { n < 10 }
///
/// #[track_event]
/// async fn test_all() -> bool {
///     // Captured here, in `test_all`: each shard is its child.
///     let tasks: Vec<_> = (0..4).map(|n| tokio::spawn(shard(n).with_current_context())).collect();
///     let mut ok = true;
///     for t in tasks {
///         ok &= t.await.unwrap_or(false);
///     }
///     ok
/// }
///
/// let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
/// assert!(rt.block_on(test_all()));
/// ```
pub trait FutureExt: Future + Sized {
    /// Captures [`current_context`](crate::current_context) now (when called, not when
    /// first polled) and enters it on every poll.
    ///
    /// ```
    /// use trunk_ci_analytics::FutureExt;
    ///
    /// async fn upload() {}
    /// # async fn demo() {
    /// // Inside a tracked function: `tokio::spawn(upload().with_current_context())`.
    /// upload().with_current_context().await;
    /// # }
    /// ```
    fn with_current_context(self) -> WithContext<Self> {
        WithContext {
            fut: self,
            ctx: crate::current_context(),
        }
    }
}

impl<F: Future> FutureExt for F {}
