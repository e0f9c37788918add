//! Where finished events go, one module per destination: the Trunk `trackEvents` API
//! ([`trunk`]) and an OTLP/HTTP collector ([`otlp`]), each on its own instance of the
//! delivery machinery; and the destinations that need no backend: the events file
//! ([`events_file`]), the Chrome trace file ([`trace_file`]) and the tree summary on stderr
//! with the GitHub job summary ([`summary`]). Each is a [`Sink`](super::sink::Sink).

pub(crate) mod events_file;
pub(crate) mod otlp;
pub(crate) mod summary;
pub(crate) mod trace_file;
pub(crate) mod trunk;

pub(crate) use events_file::EventsFile;
pub(crate) use summary::Summary;
pub(crate) use summary::job_summary::JobSummary;
pub(crate) use trace_file::TraceFile;
