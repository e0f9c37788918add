//! The names of the threads that record events, noted once per thread when it registers
//! with the hand-off (a cold path), for sinks that label threads (the trace file). The
//! background thread cannot ask a thread that already exited for its name.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

/// Most names kept: a program that starts threads without end must not grow this without
/// end; threads past it are labelled by their id.
const MAX_NAMES: usize = 4096;

/// OS thread id → thread name (`std::thread::Builder::name`), for named threads.
#[derive(Debug, Default)]
pub(crate) struct ThreadNames(Mutex<HashMap<u64, String>>);

impl ThreadNames {
    /// Notes the calling thread's name under its OS id `thread`.
    pub(crate) fn note(&self, thread: u64) {
        let current = std::thread::current();
        let Some(name) = current.name() else { return };
        let mut names = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if names.len() < MAX_NAMES || names.contains_key(&thread) {
            names.insert(thread, name.to_owned());
        }
    }

    /// The name of thread `thread`, if it had one.
    pub(crate) fn get(&self, thread: u64) -> Option<String> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&thread)
            .cloned()
    }
}
