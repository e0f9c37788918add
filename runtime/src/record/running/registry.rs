//! Running events no thread's mirror shows: a suspended future's, a manual event's, a frame
//! too deep or not plain enough for a slot. A lock and a map, taken on those paths only.
//!
//! Holds are counted, because one event can be held twice at once: a manual event (held
//! from start to finish) whose frame is also on a stack for a scope.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use crate::record::Frame;

static OPEN: Mutex<Option<HashMap<u64, (Frame, u32)>>> = Mutex::new(None);

/// Shows `frame`'s event as running until a matching [`release`].
#[cold]
#[inline(never)]
pub(crate) fn hold(frame: &Frame) {
    let mut open = OPEN.lock().unwrap_or_else(PoisonError::into_inner);
    open.get_or_insert_with(HashMap::new)
        .entry(frame.id)
        .or_insert_with(|| (frame.running_view(), 0))
        .1 += 1;
}

/// Ends one hold of the event `id`.
#[cold]
#[inline(never)]
pub(crate) fn release(id: u64) {
    let mut open = OPEN.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(map) = open.as_mut() {
        if let Some((_, holds)) = map.get_mut(&id) {
            *holds -= 1;
            if *holds == 0 {
                map.remove(&id);
            }
        }
    }
}

/// The events held now.
pub(crate) fn read_all() -> Vec<Frame> {
    let open = OPEN.lock().unwrap_or_else(PoisonError::into_inner);
    open.iter()
        .flat_map(|m| m.values().map(|(f, _)| f.running_view()))
        .collect()
}
