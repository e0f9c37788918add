//! Sinks that need no backend: the events file and the tree summary on stderr.

mod events_file;
mod summary;

pub(crate) use events_file::EventsFile;
pub(crate) use summary::Summary;
