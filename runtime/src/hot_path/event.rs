//! The hot path: starting and finishing an event.
//!
//! Start reads the clock, draws an id, takes the parent from the context stack and pushes a
//! [`Frame`]. Finish reads the clock again and moves the frame, as a finished record, into
//! the hand-off. Nothing here formats, allocates (unless the user declared tags or metrics)
//! or touches the disk or network; the caller has already checked that analytics is on.

use std::borrow::Cow;
use std::marker::PhantomData;

use crate::hot_path::{gate, stack};
use crate::model::site::{Meta, Site};
use crate::model::values::{Extras, MetricValue};
use crate::model::wire::TagValue;
use crate::platform::clock;
use crate::record::{Entry, Frame, Record, abandoned};
use crate::{Conclusion, handoff};

/// Ends the event of `frame` (not on any stack) at `end`: a conclusion set inside the body
/// wins over `returned`. Flushes if its site asks for it.
pub(crate) fn finish(frame: Frame, end: u64, returned: Conclusion) {
    let conclusion = frame.conclusion.unwrap_or(returned);
    let flush = frame.meta.flush();
    stack::submit(Record {
        frame,
        end,
        conclusion,
    });
    if flush {
        handoff::flush_at_exit();
    }
}

/// Finishes the event `id`, which should be on top of this thread's stack, now: from the
/// top the way a sync call ends, else from wherever it is.
pub(crate) fn finish_on_stack(id: u64, returned: Conclusion) {
    let end = clock::now();
    match stack::finish_top(id, end, returned) {
        Some(true) => drop(handoff::flush_at_exit()),
        Some(false) => {}
        None => {
            if let Some(frame) = stack::remove_frame(id) {
                finish(frame, end, returned);
            }
        }
    }
}

/// Records `text` as the error of the event `id` on this thread's stack, if it is there.
pub(crate) fn set_error_on_stack(id: u64, text: Box<str>) {
    if id == 0 {
        return;
    }
    stack::with_stack(|s| {
        let frame = s.iter_mut().rev().find_map(|e| match e {
            Entry::Event(f) if f.id == id => Some(f),
            _ => None,
        });
        if let Some(frame) = frame {
            frame.set_error(text);
        }
    });
}

/// [`finish`] now.
pub(crate) fn finish_now(frame: Frame, returned: Conclusion) {
    finish(frame, clock::now(), returned);
}

/// Ends every event still open on this thread, innermost first: `exit` unwinds nothing, so
/// their guards never run.
pub(crate) fn finish_open(conclusion: Conclusion) {
    for frame in stack::drain_frames().into_iter().rev() {
        finish_now(frame, conclusion);
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
    /// Starts an event of `site` as a child of the current context.
    // Out of line: the same code for every tracked function, which inlined into each one
    // would only make them bigger.
    #[inline(never)]
    pub(crate) fn start(site: &'static Site, extras: Option<Box<Extras>>) -> SyncGuard {
        // The clock first: the bookkeeping after it does not depend on the reading, so the
        // two overlap.
        let start = clock::now();
        let id =
            stack::push_frame(|s| Frame::new_at(s, Meta::Static(site), site.root(), extras, start))
                .unwrap_or_else(stack::unrecorded);
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
        match stack::finish_top(self.id, end, returned) {
            Some(true) => drop(handoff::flush_at_exit()),
            Some(false) => {}
            // Not on top: an event started inside was not finished (e.g. leaked).
            None => {
                if let Some(frame) = self.pop() {
                    finish(frame, end, returned);
                }
            }
        }
    }

    /// [`finish`](Self::finish), recording `error` (a `#[track_event(err)]` function's
    /// `Err`) on the event first.
    #[inline(never)]
    pub(crate) fn finish_with_error(self, returned: Conclusion, error: Option<Box<str>>) {
        if let Some(text) = error {
            set_error_on_stack(self.id, text);
        }
        self.finish(returned);
    }

    fn pop(&self) -> Option<Frame> {
        if self.id == 0 {
            None
        } else {
            stack::remove_frame(self.id)
        }
    }
}

impl Drop for SyncGuard {
    fn drop(&mut self) {
        if !self.finished {
            if let Some(frame) = self.pop() {
                finish_now(frame, abandoned());
            }
        }
    }
}

/// An event of an `async fn`, started at its first poll; see
/// [`Instrumented`](crate::hot_path::future::Instrumented).
#[doc(hidden)]
#[derive(Debug)]
pub struct AsyncEvent {
    pub(crate) frame: Frame,
}

impl AsyncEvent {
    /// Starts an event of `site` whose parent is the current context.
    // Out of line, like `SyncGuard::start`.
    #[inline(never)]
    pub fn start(site: &'static Site, extras: Option<Box<Extras>>) -> Option<AsyncEvent> {
        let start = clock::now();
        stack::with_stack(|s| AsyncEvent {
            frame: Frame::new_at(s, Meta::Static(site), site.root(), extras, start),
        })
    }
}

/// Runs `f` on the innermost event running on this thread, if there is one.
fn with_current(f: impl FnOnce(&mut Frame)) {
    let found = stack::with_stack(|s| match s.last_mut() {
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
    // Off or not yet set up: no event can be running, so there is nothing to tag.
    if !gate::on() {
        return;
    }
    let (key, value) = (key.into(), value.into());
    with_current(|f| f.extras_mut().push_tag(key, value));
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
    if !gate::on() {
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
    if !gate::on() {
        return;
    }
    with_current(|f| f.conclusion = Some(conclusion));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::lineage::ParentRef;

    fn stack_ids() -> Option<Vec<u64>> {
        stack::with_stack(|s| {
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
        let parent = stack::with_stack(|s| match s.last() {
            Some(Entry::Event(Frame {
                parent: Some(ParentRef::Local { id, .. }),
                ..
            })) => Some(*id),
            _ => None,
        });
        assert_eq!(parent, Some(Some(outer_id)));

        let open = |id| {
            crate::record::running::snapshot()
                .iter()
                .any(|e| e.id == id)
        };
        assert!(open(outer_id) && open(inner_id));

        outer.finish(Conclusion::Success);
        assert_eq!(stack_ids(), Some(vec![inner_id]));
        // The inner frame moved down a level: the mirror follows, and still shows it.
        assert!(!open(outer_id) && open(inner_id));
        inner.finish(Conclusion::Success);
        assert_eq!(stack_ids(), Some(vec![]));
        assert!(!open(inner_id));
    }
}
