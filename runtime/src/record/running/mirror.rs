//! Each recording thread's running events, in atomics another thread may read: slot `d`
//! mirrors the frame at depth `d` of the thread's context stack.
//!
//! Only the owning thread writes its slots; the background thread reads them a few times a
//! second. A slot is a seqlock keyed by the event id: the writer fills the fields and then
//! stores the id (release); it empties the slot by storing 0. A reader loads the id, the
//! fields, and the id again, and keeps what it read only if both ids are the same event —
//! ids are unique in the process, so a slot emptied and refilled in between shows another id.
//! Writing a slot is a handful of plain stores, no lock and no locked instruction.
//!
//! A frame whose parts are not plain integers (a context from another run, a site built at
//! run time) or that is deeper than [`SLOTS`] goes to the registry instead.

use std::ptr;
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU64, Ordering::*, fence};
use std::sync::{Mutex, PoisonError};

use super::registry;
use crate::model::site::{Meta, Site};
use crate::record::Frame;
use crate::record::lineage::{Chain, ParentRef};

/// Stack depths mirrored per thread.
pub(crate) const SLOTS: usize = 64;

/// `parent` of an event whose parent is the inherited context.
const INHERITED_PARENT: u64 = u64::MAX;

struct Slot {
    /// The event's id; 0 while the slot is empty or being written.
    id: AtomicU64,
    start: AtomicU64,
    site: AtomicPtr<Site>,
    /// The root event's id; 0 for the inherited chain.
    chain: AtomicU64,
    /// The parent's id; 0 for none, [`INHERITED_PARENT`] for the inherited context.
    parent: AtomicU64,
    parent_site: AtomicPtr<Site>,
}

impl Slot {
    // A template for array repeats and statics, each use a fresh slot: the lint's worry (one
    // shared atomic expected, a copy got) does not apply.
    #[allow(clippy::declare_interior_mutable_const)]
    const EMPTY: Slot = Slot {
        id: AtomicU64::new(0),
        start: AtomicU64::new(0),
        site: AtomicPtr::new(ptr::null_mut()),
        chain: AtomicU64::new(0),
        parent: AtomicU64::new(0),
        parent_site: AtomicPtr::new(ptr::null_mut()),
    };
}

/// One thread's slots.
pub(crate) struct Mirror {
    slots: [Slot; SLOTS],
    /// Whether a thread owns it; a thread that exits gives it back for the next one.
    taken: AtomicBool,
}

/// The mirror of a thread that has not published anything yet: never read and never
/// written (its empty slots send every retire to the registry, which has nothing of that
/// thread's either), so a thread's finish path needs no check for a mirror of its own.
pub(crate) static UNCLAIMED: Mirror = Mirror {
    slots: [Slot::EMPTY; SLOTS],
    taken: AtomicBool::new(true),
};

/// Every mirror ever made; they are never freed, only reused.
static MIRRORS: Mutex<Vec<&'static Mirror>> = Mutex::new(Vec::new());

/// A mirror for the calling thread: one given back by an exited thread, else a new one.
#[cold]
#[inline(never)]
pub(crate) fn acquire() -> &'static Mirror {
    let mut all = MIRRORS.lock().unwrap_or_else(PoisonError::into_inner);
    for m in all.iter() {
        if m.taken
            .compare_exchange(false, true, Acquire, Relaxed)
            .is_ok()
        {
            return m;
        }
    }
    let m: &'static Mirror = Box::leak(Box::new(Mirror {
        slots: [Slot::EMPTY; SLOTS],
        taken: AtomicBool::new(true),
    }));
    all.push(m);
    m
}

/// The parts of `frame` a slot holds: site, chain, parent id and parent site. `None` when
/// one of them is not a plain integer or a static site.
#[inline]
fn plain(frame: &Frame) -> Option<(&'static Site, u64, u64, *mut Site)> {
    let Meta::Static(site) = frame.meta else {
        return None;
    };
    let chain = match frame.chain {
        Chain::Local(id) => id,
        Chain::Inherited => 0,
        Chain::Remote(_) => return None,
    };
    let (parent, parent_site) = match &frame.parent {
        None => (0, ptr::null_mut()),
        Some(ParentRef::Inherited) => (INHERITED_PARENT, ptr::null_mut()),
        Some(ParentRef::Local {
            id,
            meta: Meta::Static(s),
        }) => (*id, ptr::from_ref(*s).cast_mut()),
        Some(_) => return None,
    };
    Some((site, chain, parent, parent_site))
}

impl Mirror {
    /// Shows `frame`, now at `depth` of this thread's stack, to other threads.
    #[inline]
    pub(crate) fn publish(&self, depth: usize, frame: &Frame) {
        match (self.slots.get(depth), plain(frame)) {
            (Some(slot), Some((site, chain, parent, parent_site))) => {
                // Orders the id's earlier 0 (the slot's last event retired) before these
                // stores, for a reader that saw that event's id.
                fence(Release);
                slot.start.store(frame.start, Relaxed);
                slot.site.store(ptr::from_ref(site).cast_mut(), Relaxed);
                slot.chain.store(chain, Relaxed);
                slot.parent.store(parent, Relaxed);
                slot.parent_site.store(parent_site, Relaxed);
                slot.id.store(frame.id, Release);
            }
            _ => registry::hold(frame),
        }
    }

    /// Stops showing `frame`, at `depth` of this thread's stack, which is ending or moving.
    #[inline]
    pub(crate) fn retire(&self, depth: usize, frame: &Frame) {
        // Only this thread writes the slot, so its id is the one this thread stored: the
        // frame's own exactly when `publish` put it in the slot rather than the registry.
        match self.slots.get(depth) {
            Some(slot) if slot.id.load(Relaxed) == frame.id => slot.id.store(0, Relaxed),
            _ => registry::release(frame.id),
        }
    }

    /// Empties every slot and gives the mirror back (its thread is exiting).
    pub(crate) fn release(&self) {
        for slot in &self.slots {
            slot.id.store(0, Relaxed);
        }
        self.taken.store(false, Release);
    }

    fn read(&self, out: &mut Vec<Frame>) {
        for slot in &self.slots {
            let id = slot.id.load(Acquire);
            if id == 0 {
                continue;
            }
            let start = slot.start.load(Relaxed);
            let site = slot.site.load(Relaxed);
            let chain = slot.chain.load(Relaxed);
            let parent = slot.parent.load(Relaxed);
            let parent_site = slot.parent_site.load(Relaxed);
            fence(Acquire);
            if slot.id.load(Relaxed) != id {
                continue;
            }
            let (Some(site), parent_site) = (static_site(site), static_site(parent_site)) else {
                continue;
            };
            let parent = match (parent, parent_site) {
                (0, _) => None,
                (INHERITED_PARENT, _) => Some(ParentRef::Inherited),
                (id, Some(s)) => Some(ParentRef::Local {
                    id,
                    meta: Meta::Static(s),
                }),
                (_, None) => continue,
            };
            out.push(Frame {
                id,
                meta: Meta::Static(site),
                chain: if chain == 0 {
                    Chain::Inherited
                } else {
                    Chain::Local(chain)
                },
                parent,
                start,
                conclusion: None,
                extras: None,
            });
        }
    }
}

/// A site pointer read back from a slot.
fn static_site(p: *mut Site) -> Option<&'static Site> {
    // SAFETY: slots only ever hold null or a pointer made from a `&'static Site` in
    // `publish`, and a reader uses what it read only after checking (id before and after)
    // that all of it was written for one event, so the pointer is one of those.
    unsafe { p.cast_const().as_ref() }
}

/// The events in every thread's slots.
pub(crate) fn read_all() -> Vec<Frame> {
    let all: Vec<&'static Mirror> = MIRRORS
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone();
    let mut out = Vec::new();
    for m in all {
        m.read(&mut out);
    }
    out
}
