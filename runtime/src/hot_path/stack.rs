//! This thread's share of the hot path: its context stack (which event is current here),
//! its end of the hand-off and the mirror that shows its running events to the background
//! thread, in one thread-local so that starting or finishing an event looks up one, not
//! three.
//!
//! The mirror follows the stack: every entry pushed is published at its depth, every entry
//! removed is retired first (before its record can reach the background thread, which must
//! never see a finished event still shown as running).

use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use crate::Conclusion;
use crate::handoff::{self, Outbox};
use crate::record::lineage::EventContext;
use crate::record::running::mirror::{self, Mirror};
use crate::record::{Entry, Frame, Record};

struct Local {
    stack: Vec<Entry>,
    outbox: Outbox,
    /// [`mirror::UNCLAIMED`] until this thread's first event takes one of its own.
    mirror: &'static Mirror,
}

impl Local {
    /// This thread's mirror, to publish in: taken now if it has none yet.
    #[inline]
    fn mirror(&mut self) -> &'static Mirror {
        if std::ptr::eq(self.mirror, &mirror::UNCLAIMED) {
            self.mirror = mirror::acquire();
        }
        self.mirror
    }
}

impl Drop for Local {
    fn drop(&mut self) {
        if !std::ptr::eq(self.mirror, &mirror::UNCLAIMED) {
            self.mirror.release();
        }
    }
}

thread_local! {
    static LOCAL: RefCell<Local> = const {
        RefCell::new(Local {
            stack: Vec::new(),
            outbox: Outbox::new(),
            mirror: &mirror::UNCLAIMED,
        })
    };
}

/// Tracked calls that found this thread's state gone (they run from a thread-local
/// destructor, after the stack was torn down) and so were not recorded.
static UNRECORDED: AtomicU64 = AtomicU64::new(0);

/// Counts a tracked call that could not be recorded; its event id is 0 (none).
#[cold]
#[inline(never)]
pub(crate) fn unrecorded() -> u64 {
    UNRECORDED.fetch_add(1, Relaxed);
    0
}

/// Tracked calls not recorded since the last call.
pub(crate) fn take_unrecorded() -> u64 {
    UNRECORDED.swap(0, Relaxed)
}

/// Runs `f` on this thread's state. Not reentrant: `f` must not call back into it.
#[inline]
fn with_local<R>(f: impl FnOnce(&mut Local) -> R) -> Option<R> {
    // `try_with` fails only during thread teardown, `try_borrow_mut` only if an event
    // starts from inside a Drop the stack itself runs; both are skipped, never a panic.
    LOCAL
        .try_with(|l| l.try_borrow_mut().ok().map(|mut l| f(&mut l)))
        .ok()
        .flatten()
}

/// Runs `f` on this thread's stack. Not reentrant: `f` must not call back into the stack.
#[inline]
pub(crate) fn with_stack<R>(f: impl FnOnce(&mut Vec<Entry>) -> R) -> Option<R> {
    with_local(|l| f(&mut l.stack))
}

/// Pushes the frame `make` builds (from the stack as it is) and returns its id.
#[inline]
pub(crate) fn push_frame(make: impl FnOnce(&[Entry]) -> Frame) -> Option<u64> {
    with_local(|l| {
        let s = &mut l.stack;
        s.reserve(1);
        let len = s.len();
        let frame = make(s);
        let id = frame.id;
        // Written in place rather than with `push`, whose capacity check comes after the
        // value is built and so makes it build the frame elsewhere and copy it.
        // SAFETY: `reserve` made room for one more entry at `len`, and `make` could not
        // change the stack (it only saw it shared).
        unsafe {
            s.as_mut_ptr().add(len).write(Entry::Event(frame));
            s.set_len(len + 1);
        }
        let mirror = l.mirror();
        if let Some(Entry::Event(frame)) = l.stack.last() {
            mirror.publish(len, frame);
        }
        id
    })
}

/// Pushes `entry`, showing it if it is an event.
fn push(l: &mut Local, entry: Entry) {
    if let Entry::Event(frame) = &entry {
        l.mirror().publish(l.stack.len(), frame);
    }
    l.stack.push(entry);
}

/// Removes the entry at `pos`, retiring it and moving the mirror of those above it down.
fn remove_at(l: &mut Local, pos: usize) -> Entry {
    // As it is: any event on the stack was published, so the thread has one if it matters.
    let mirror = l.mirror;
    for (depth, entry) in l.stack.iter().enumerate().skip(pos) {
        if let Entry::Event(frame) = entry {
            mirror.retire(depth, frame);
        }
    }
    let removed = l.stack.remove(pos);
    for (depth, entry) in l.stack.iter().enumerate().skip(pos) {
        if let Entry::Event(frame) = entry {
            mirror.publish(depth, frame);
        }
    }
    removed
}

/// Finishes the event `id` if it is on top of this thread's stack (as it is, but when an
/// event started inside it was leaked), handing it over. Returns whether its site asks for
/// a flush; `None` when it is not on top.
#[inline]
pub(crate) fn finish_top(id: u64, end: u64, returned: Conclusion) -> Option<bool> {
    // The mirror as it is: an event on the stack was published, so the thread has one.
    with_local(|l| {
        l.outbox
            .submit_top(&mut l.stack, l.mirror, id, end, returned)
    })
    .flatten()
}

/// Removes the event frame `id` from this thread's stack, wherever it is.
pub(crate) fn remove_frame(id: u64) -> Option<Frame> {
    with_local(|l| {
        let pos = l
            .stack
            .iter()
            .rposition(|e| matches!(e, Entry::Event(f) if f.id == id))?;
        match remove_at(l, pos) {
            Entry::Event(f) => Some(f),
            Entry::Attached(_) => None,
        }
    })
    .flatten()
}

/// Hands over a finished event that is not on this thread's stack.
pub(crate) fn submit(record: Record) {
    let mut record = Some(record);
    let _ = with_local(|l| {
        if let Some(r) = record.take() {
            l.outbox.submit(r);
        }
    });
    if let Some(r) = record {
        handoff::submit_alone(r);
    }
}

/// Takes every event frame off this thread's stack, innermost last.
pub(crate) fn drain_frames() -> Vec<Frame> {
    with_local(|l| {
        let mirror = l.mirror;
        l.stack
            .drain(..)
            .enumerate()
            .filter_map(|(depth, e)| match e {
                Entry::Event(frame) => {
                    mirror.retire(depth, &frame);
                    Some(frame)
                }
                Entry::Attached(_) => None,
            })
            .collect()
    })
    .unwrap_or_default()
}

/// The context an event starting now on this thread would get as its parent.
pub(crate) fn current() -> Option<EventContext> {
    with_stack(|s| crate::record::parent_of(s))
        .flatten()
        .map(|(parent, chain)| EventContext { parent, chain })
}

/// Pops its entry when dropped, also on unwinding.
pub(crate) struct Entered;

impl Entered {
    pub(crate) fn push(ctx: EventContext) -> Entered {
        with_local(|l| push(l, Entry::Attached(ctx)));
        Entered
    }
}

impl Drop for Entered {
    fn drop(&mut self) {
        let _ = with_local(|l| {
            let top = l.stack.len().checked_sub(1)?;
            Some(remove_at(l, top))
        });
    }
}

/// Makes `ctx` current on this thread until [`detach`] is called with its event's id: for
/// an entered `tracing` span, whose enter and exit are two calls rather than one scope.
#[cfg(feature = "tracing")]
pub(crate) fn attach(ctx: EventContext) {
    let _ = with_local(|l| push(l, Entry::Attached(ctx)));
}

/// Removes the innermost context of the event `id` that [`attach`] made current here.
/// Entries above it stay: `tracing` allows spans to be exited out of order.
#[cfg(feature = "tracing")]
pub(crate) fn detach(id: u64) {
    let _ = with_local(|l| {
        use crate::record::lineage::ParentRef;
        let pos = l.stack.iter().rposition(|e| {
            matches!(e, Entry::Attached(EventContext { parent: ParentRef::Local { id: p, .. }, .. }) if *p == id)
        })?;
        Some(remove_at(l, pos))
    });
}

/// Lends a frame to this thread's stack for a scope and takes it back when dropped, also
/// during unwinding (so a panicking body still finds its frame to record FAILURE).
pub(crate) struct FrameScope<'a> {
    slot: &'a mut Option<Frame>,
    id: u64,
}

impl<'a> FrameScope<'a> {
    pub(crate) fn enter(slot: &'a mut Option<Frame>) -> Option<FrameScope<'a>> {
        let frame = slot.take()?;
        let id = frame.id;
        with_local(|l| push(l, Entry::Event(frame)));
        Some(FrameScope { slot, id })
    }
}

impl FrameScope<'_> {
    /// Leaves the frame on the stack (the slot stays empty) and returns its id: the event's
    /// code is done, and it is finished from the stack right after, as a sync call is.
    pub(crate) fn keep(self) -> u64 {
        let id = self.id;
        std::mem::forget(self);
        id
    }
}

impl Drop for FrameScope<'_> {
    fn drop(&mut self) {
        *self.slot = remove_frame(self.id);
    }
}
