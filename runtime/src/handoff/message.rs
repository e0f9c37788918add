//! The messages the background thread is given, one at a time.

use std::sync::mpsc::Sender;
use std::time::Instant;

use crate::model::flush_report::FlushReport;
use crate::record::{Frame, Record};

/// What the background thread is given.
pub(crate) enum Msg {
    /// A finished event and the OS id of the thread that recorded it.
    Record(Record, u64),
    Flush(FlushRequest),
    /// A running event to send as a *started* event now, behind what was sent before it.
    Started(Frame),
}

/// A caller waiting in `flush`: everything sent before this message is its business.
#[derive(Debug)]
pub(crate) struct FlushRequest {
    pub(crate) deadline: Instant,
    /// The process is about to exit: also replay the spool (until the deadline), since no
    /// later moment in this process will.
    pub(crate) exit: bool,
    pub(crate) reply: Sender<FlushReport>,
}
