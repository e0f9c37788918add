//! Sinks that need no backend: the events file, the trace file and the tree summary on
//! stderr (with the chain file through which it sees the whole run, and the GitHub job
//! summary).

mod chain_file;
mod events_file;
mod header;
mod job_summary;
mod node;
mod summary;
mod trace_file;
mod tree;

pub(crate) use events_file::EventsFile;
pub(crate) use job_summary::JobSummary;
pub(crate) use summary::Summary;
pub(crate) use trace_file::TraceFile;
