//! Sinks that need no backend: the events file, the trace file and the tree summary on
//! stderr.

mod append;
mod events_file;
mod summary;
mod trace_file;

pub(crate) use events_file::EventsFile;
pub(crate) use summary::Summary;
pub(crate) use trace_file::TraceFile;
