//! The data of an event: [`Frame`] while it runs, [`Record`] once it finished. A record is
//! the one type that crosses from the threads that record events to the background thread,
//! as plain data: ids as integers, `&'static` site constants, clock readings, and owned
//! values only where the user declared tags or metrics.
//!
//! Beside it, the rest of layer 3: where an event belongs ([`lineage`]), who delivers the
//! events of the run ([`run_uploader`]), the events running now as another thread may see
//! them ([`running`]), and finished records kept for later when they come faster than they
//! are sent ([`overflow`]).

pub(crate) mod lineage;
pub(crate) mod overflow;
pub(crate) mod run_uploader;
pub(crate) mod running;

use std::borrow::Cow;

use crate::Conclusion;
use crate::model::error_text::ERROR_TAG;
use crate::model::id;
use crate::model::site::Meta;
use crate::model::values::Extras;
use crate::model::wire::TagValue;
use crate::platform::clock;
use crate::record::lineage::{Chain, EventContext, ParentRef, inherited};

/// A running event's state. It lives on a thread's context stack while its code runs, and
/// inside its guard or future otherwise.
#[derive(Debug)]
pub(crate) struct Frame {
    pub(crate) id: u64,
    pub(crate) meta: Meta,
    pub(crate) chain: Chain,
    pub(crate) parent: Option<ParentRef>,
    /// A `clock::now` reading.
    pub(crate) start: u64,
    /// Set inside the body (`set_conclusion`): wins over the one the body's end implies.
    pub(crate) conclusion: Option<Conclusion>,
    pub(crate) extras: Option<Box<Extras>>,
}

/// A finished event.
#[derive(Debug)]
pub(crate) struct Record {
    pub(crate) frame: Frame,
    /// A `clock::now` reading.
    pub(crate) end: u64,
    pub(crate) conclusion: Conclusion,
}

impl Record {
    /// How long the event ran, in milliseconds, from the monotonic clock.
    pub(crate) fn duration_ms(&self) -> f64 {
        clock::elapsed_ns(self.frame.start, self.end) / 1e6
    }
}

/// One level of a thread's context stack: an event running on the thread, or a context
/// attached to it.
#[derive(Debug)]
pub(crate) enum Entry {
    Event(Frame),
    Attached(EventContext),
}

impl Frame {
    /// A new event started at `start`, whose parent is whatever is current in `stack`
    /// (unless `root`).
    // Always inlined: the frame is then built where the caller stores it (in place on the
    // context stack) instead of being returned through a temporary and copied.
    #[inline(always)]
    pub(crate) fn new_at(
        stack: &[Entry],
        meta: Meta,
        root: bool,
        extras: Option<Box<Extras>>,
        start: u64,
    ) -> Frame {
        let id = id::next();
        let (parent, chain) = match if root { None } else { parent_of(stack) } {
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

    /// What another thread may know of this running event: everything but its tags,
    /// metrics and conclusion, which stay with it.
    pub(crate) fn running_view(&self) -> Frame {
        Frame {
            id: self.id,
            meta: self.meta.clone(),
            chain: self.chain.clone(),
            parent: self.parent.clone(),
            start: self.start,
            conclusion: None,
            extras: None,
        }
    }

    pub(crate) fn extras_mut(&mut self) -> &mut Extras {
        self.extras.get_or_insert_with(Default::default)
    }

    /// Records the error text of a `#[track_event(err)]` function: as the `error.message`
    /// tag, and apart for sinks that have a place for an error (a span's status message).
    pub(crate) fn set_error(&mut self, text: Box<str>) {
        let extras = self.extras_mut();
        // Through the byte bounds, like every tag.
        extras.push_tag(
            Cow::Borrowed(ERROR_TAG),
            TagValue::Str(String::from(&*text)),
        );
        extras.error = Some(text);
    }

    /// The handle that makes this event the parent of other work.
    pub(crate) fn context(&self) -> EventContext {
        EventContext {
            parent: ParentRef::Local {
                id: self.id,
                meta: self.meta.clone(),
            },
            chain: self.chain.clone(),
        }
    }
}

/// The parent and chain of an event starting now under `stack`: its top, else the context
/// this process inherited.
#[inline]
pub(crate) fn parent_of(stack: &[Entry]) -> Option<(ParentRef, Chain)> {
    match stack.last() {
        Some(Entry::Event(f)) => Some((
            ParentRef::Local {
                id: f.id,
                meta: f.meta.clone(),
            },
            f.chain.clone(),
        )),
        Some(Entry::Attached(c)) => Some((c.parent.clone(), c.chain.clone())),
        None => inherited().map(|_| (ParentRef::Inherited, Chain::Inherited)),
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

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
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

    /// Every event writes its frame on the context stack and copies it into the hand-off:
    /// a careless new field or variant grows both.
    #[test]
    #[cfg(target_pointer_width = "64")]
    fn frames_and_records_keep_their_size() {
        assert_eq!(std::mem::size_of::<Frame>(), 88);
        assert_eq!(std::mem::size_of::<Record>(), 104);
    }
}
