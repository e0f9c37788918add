//! The hot path: starting and finishing an event.
//!
//! Start reads the clock, draws an id, takes the parent from the context stack and pushes a
//! [`Frame`]. Finish pops it, reads the clock again and hands the frame, as a [`Record`], to
//! the background thread. Nothing here formats, allocates (unless the user declared tags or
//! metrics) or touches the disk or network.

use std::borrow::Cow;
use std::marker::PhantomData;

use crate::context::{self, Chain, Entry, ParentRef};
use crate::site::{Meta, Site};
use crate::values::{Extras, MetricValue};
use crate::wire::TagValue;
use crate::{Conclusion, clock, global, id};

/// A running event's state. It lives on the context stack while its code runs on a thread,
/// and inside the guard or future otherwise.
#[derive(Debug)]
pub(crate) struct Frame {
    pub(crate) id: u64,
    pub(crate) meta: Meta,
    pub(crate) chain: Chain,
    pub(crate) parent: Option<ParentRef>,
    pub(crate) start: u64,
    pub(crate) conclusion: Option<Conclusion>,
    pub(crate) extras: Option<Box<Extras>>,
}

/// A finished event on its way to the background thread.
#[derive(Debug)]
pub(crate) struct Record {
    pub(crate) frame: Frame,
    pub(crate) end: u64,
    pub(crate) conclusion: Conclusion,
}

impl Frame {
    /// A frame whose parent is whatever is current in `stack` (unless `root`).
    #[inline]
    pub(crate) fn new(
        stack: &[Entry],
        meta: Meta,
        root: bool,
        extras: Option<Box<Extras>>,
    ) -> Frame {
        Frame::new_at(stack, meta, root, extras, clock::now())
    }

    /// [`new`](Self::new) with the start already read.
    // Always inlined: built out of line, the frame is returned through a stack temporary
    // and copied into the context stack, the copy `context::push_frame` exists to avoid
    // (a parent variant added to `parent_of` once tipped the inliner: 0.95× -> 1.15×).
    #[inline(always)]
    pub(crate) fn new_at(
        stack: &[Entry],
        meta: Meta,
        root: bool,
        extras: Option<Box<Extras>>,
        start: u64,
    ) -> Frame {
        let id = id::next();
        let (parent, chain) = match if root {
            None
        } else {
            context::parent_of(stack)
        } {
            Some((p, c)) => (Some(p), c),
            None => (None, Chain::Local(id)),
        };
        Frame {
            id,
            meta,
            chain,
            parent,
            start,
            conclusion: None,
            extras,
        }
    }

    /// Ends the event: the conclusion set inside the body wins over `returned`.
    #[inline]
    pub(crate) fn finish(self, returned: Conclusion) {
        self.finish_at(clock::now(), returned);
    }

    /// [`finish`](Self::finish) with the end already read.
    pub(crate) fn finish_at(self, end: u64, returned: Conclusion) {
        let conclusion = self.conclusion.unwrap_or(returned);
        let flush = self.meta.flush();
        let frame = std::mem::ManuallyDrop::new(self);
        context::with_outbox(|outbox| {
            // SAFETY: `frame` is valid and never used or dropped after; `submit_frame`
            // moves it out.
            unsafe { global::submit_frame(outbox, &*frame, end, conclusion) }
        });
        if flush {
            global::flush_at_exit();
        }
    }

    pub(crate) fn extras_mut(&mut self) -> &mut Extras {
        self.extras.get_or_insert_with(Default::default)
    }
}

/// The conclusion of an event whose code did not return: a panic is a failure, anything
/// else (a dropped future, a forgotten manual event) was cancelled.
pub(crate) fn abandoned() -> Conclusion {
    if std::thread::panicking() {
        Conclusion::Failure
    } else {
        Conclusion::Cancelled
    }
}

/// Ends every event still open on this thread, innermost first: `exit` unwinds nothing, so
/// their guards never run.
pub(crate) fn finish_open(conclusion: Conclusion) {
    let frames: Vec<Frame> = context::with_stack(|s| {
        s.drain(..)
            .filter_map(|e| match e {
                Entry::Event(frame) => Some(frame),
                Entry::Attached(_) => None,
            })
            .collect()
    })
    .unwrap_or_default();
    for frame in frames.into_iter().rev() {
        frame.finish(conclusion);
    }
}

/// Guard of a synchronous `#[track_event]` call; its frame is on this thread's stack.
#[doc(hidden)]
#[derive(Debug)]
pub struct SyncGuard {
    id: u64,
    finished: bool,
    // The frame is on this thread's stack: the guard must not move to another thread.
    _not_send: PhantomData<*const ()>,
}

impl SyncGuard {
    /// Starts an event of `site` as a child of the current context if analytics is on,
    /// setting the runtime up on first use; the expansion calls it (or `__private::run`,
    /// which does) unless [`off`](global::off).
    #[inline]
    pub fn enter(site: &'static Site, extras: Option<Box<Extras>>) -> Option<SyncGuard> {
        global::enabled().then(|| SyncGuard::start(site, extras))
    }

    /// Starts an event of `site` as a child of the current context.
    // Out of line: it is the same code for every tracked function, and inlined into each
    // `__private::run` it only made them bigger, not faster (min_ratio, BENCHMARKS.md).
    #[inline(never)]
    pub(crate) fn start(site: &'static Site, extras: Option<Box<Extras>>) -> SyncGuard {
        // The clock first: the reading takes ~20 ns here, and the bookkeeping after it
        // does not depend on it, so the two overlap.
        let start = clock::now();
        let id = context::push_frame(|s| {
            Frame::new_at(s, Meta::Static(site), site.root(), extras, start)
        })
        .unwrap_or(0);
        SyncGuard {
            id,
            finished: false,
            _not_send: PhantomData,
        }
    }

    /// Ends the event with the conclusion of the function's return value.
    #[inline(never)]
    pub(crate) fn finish(mut self, returned: Conclusion) {
        self.finished = true;
        if self.id == 0 {
            return;
        }
        let end = clock::now();
        // The frame goes from the top of the stack straight into the hand-off's slot: built
        // in a local first, the 100-byte record was copied three times (BENCHMARKS.md).
        let finished = context::pop_top(self.id, |frame, outbox| {
            // SAFETY: `pop_top` lends a valid frame, ours to move out, which
            // `submit_frame` does.
            let (flush, conclusion) = unsafe { ((*frame).meta.flush(), (*frame).conclusion) };
            let conclusion = conclusion.unwrap_or(returned);
            unsafe { global::submit_frame(Some(outbox), frame, end, conclusion) };
            flush
        });
        match finished {
            Some(true) => drop(global::flush_at_exit()),
            Some(false) => {}
            // Not on top: an event started inside was not finished (e.g. leaked).
            None => {
                if let Some(frame) = self.pop() {
                    frame.finish_at(end, returned);
                }
            }
        }
    }

    fn pop(&self) -> Option<Frame> {
        if self.id == 0 {
            None
        } else {
            context::remove_frame(self.id)
        }
    }
}

impl Drop for SyncGuard {
    fn drop(&mut self) {
        if !self.finished {
            if let Some(frame) = self.pop() {
                frame.finish(abandoned());
            }
        }
    }
}

/// An event of an `async fn`, started at its first poll; see [`Instrumented`](crate::future::Instrumented).
#[doc(hidden)]
#[derive(Debug)]
pub struct AsyncEvent {
    pub(crate) frame: Frame,
}

impl AsyncEvent {
    /// Starts an event of `site` whose parent is the current context.
    // Out of line, like `SyncGuard::start`, so that it is not copied into every async fn.
    #[inline(never)]
    pub fn start(site: &'static Site, extras: Option<Box<Extras>>) -> Option<AsyncEvent> {
        let start = clock::now();
        context::with_stack(|s| AsyncEvent {
            frame: Frame::new_at(s, Meta::Static(site), site.root(), extras, start),
        })
    }
}

/// Runs `f` on the innermost event running on this thread, if there is one.
fn with_current(f: impl FnOnce(&mut Frame)) {
    let found = context::with_stack(|s| match s.last_mut() {
        Some(Entry::Event(frame)) => {
            f(frame);
            true
        }
        _ => false,
    });
    if found != Some(true) {
        crate::log!(
            Debug,
            "tag, metric or conclusion set outside of any event: ignored"
        );
    }
}

/// Adds a tag to the innermost event running on this thread (a `#[track_event]` function,
/// or a [`ManualEvent`](crate::ManualEvent) inside [`in_scope`](crate::ManualEvent::in_scope)).
/// Strings and numbers are accepted; numbers stay numbers on the wire. Outside any event,
/// or with analytics off, it does nothing.
///
/// ```
/// use trunk_ci_analytics::{tag, track_event};
/// # let _guard = trunk_ci_analytics::init(Default::default());
///
/// #[track_event]
/// fn build(target: &str) {
///     tag("target", target);
///     tag("shard", 3);
/// }
/// build("x86_64-unknown-linux-gnu");
/// ```
pub fn tag(key: impl Into<Cow<'static, str>>, value: impl Into<TagValue>) {
    if !global::enabled() {
        return;
    }
    let (key, value) = (key.into(), value.into());
    with_current(|f| f.extras_mut().tags.push((key, value)));
}

/// Adds a metric to the innermost event running on this thread (see [`tag`]). Any number
/// or a [`Duration`](std::time::Duration) (in milliseconds) is accepted. Non-finite values
/// (NaN, infinity) are dropped with one warning, since JSON cannot carry them. Outside any
/// event, or with analytics off, it does nothing.
///
/// ```
/// use trunk_ci_analytics::{metric, track_event};
/// # let _guard = trunk_ci_analytics::init(Default::default());
///
/// #[track_event]
/// fn compile() {
///     metric("crates_compiled", 42);
///     metric("cache_hit_ratio", 0.93);
///     metric("link_time", std::time::Duration::from_millis(850)); // 850 (ms)
/// }
/// compile();
/// ```
pub fn metric(key: impl Into<Cow<'static, str>>, value: impl MetricValue) {
    if !global::enabled() {
        return;
    }
    let (key, value) = (key.into(), value.to_metric());
    with_current(|f| f.extras_mut().metrics.push((key, value)));
}

/// Sets the conclusion of the innermost event running on this thread (see [`tag`]); it
/// wins over the one derived from the return value or a panic.
///
/// ```
/// use trunk_ci_analytics::{set_conclusion, track_event, Conclusion};
/// # let _guard = trunk_ci_analytics::init(Default::default());
///
/// #[track_event]
/// fn deploy(dry_run: bool) -> Result<(), String> {
///     if dry_run {
///         set_conclusion(Conclusion::Skipped); // recorded as SKIPPED, not SUCCESS
///         return Ok(());
///     }
///     Ok(())
/// }
/// deploy(true).unwrap();
/// ```
pub fn set_conclusion(conclusion: Conclusion) {
    if !global::enabled() {
        return;
    }
    with_current(|f| f.conclusion = Some(conclusion));
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::context::ParentRef;
    use std::sync::Arc;

    /// A finished root event with id `id`, of a hand-built site.
    pub(crate) fn record(id: u64) -> Record {
        record_of(id, Meta::Dynamic(Arc::default()))
    }

    /// A finished root event with id `id` and site `meta`.
    pub(crate) fn record_of(id: u64, meta: Meta) -> Record {
        Record {
            frame: Frame {
                id,
                meta,
                chain: Chain::Local(id),
                parent: None,
                start: 1,
                conclusion: None,
                extras: None,
            },
            end: 2,
            conclusion: Conclusion::Success,
        }
    }

    fn stack_ids() -> Option<Vec<u64>> {
        context::with_stack(|s| {
            s.iter()
                .filter_map(|e| match e {
                    Entry::Event(f) => Some(f.id),
                    Entry::Attached(_) => None,
                })
                .collect()
        })
    }

    #[test]
    fn a_guard_finished_out_of_order_leaves_the_others_in_place() {
        // `finish` moves the frame out of the top of the stack without dropping it there;
        // a frame that is not on top takes the slow path instead of the wrong frame.
        static SITE: Site = Site::new("t", None, None, "t", "function", None, false, false);
        let outer = SyncGuard::start(&SITE, None);
        let inner = SyncGuard::start(&SITE, None);
        let (outer_id, inner_id) = (outer.id, inner.id);
        let parent = context::with_stack(|s| match s.last() {
            Some(Entry::Event(Frame {
                parent: Some(ParentRef::Local { id, .. }),
                ..
            })) => Some(*id),
            _ => None,
        });
        assert_eq!(parent, Some(Some(outer_id)));

        outer.finish(Conclusion::Success);
        assert_eq!(stack_ids(), Some(vec![inner_id]));
        inner.finish(Conclusion::Success);
        assert_eq!(stack_ids(), Some(vec![]));
    }

    /// Every event writes its frame on the context stack and copies it into the outbox; a
    /// variant added carelessly (a fat `Arc<str>` in a three-variant enum did) grows both.
    #[test]
    #[cfg(target_pointer_width = "64")]
    fn frames_and_records_keep_their_size() {
        assert_eq!(std::mem::size_of::<Frame>(), 88);
        assert_eq!(std::mem::size_of::<Record>(), 104);
    }
}
