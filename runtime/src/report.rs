//! What a flush achieved.

/// Outcome of [`flush`](crate::flush): counts of this process's events since the previous
/// flush. Its `Display` is one line, for a log.
///
/// ```
/// use trunk_ci_analytics::FlushReport;
/// let report = FlushReport::default();
/// assert!(report.is_complete());
/// assert_eq!(report.to_string(), "0 delivered, 0 spooled, 0 dropped, 0 rejected");
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct FlushReport {
    /// Accepted by the API.
    pub delivered: u64,
    /// Written to the spool, to be sent by a later run.
    pub spooled: u64,
    /// Lost: the memory bound and the spool bound were both exhausted; or a tracked call
    /// ran where its thread's state was already gone (from a thread-local destructor).
    pub dropped: u64,
    /// Rejected by the API as malformed (each reported on stderr with the reason).
    pub rejected: u64,
    /// Events of earlier runs, read back from the spool and delivered.
    pub replayed: u64,
    /// The flush ran out of time; what was not delivered is in the spool.
    pub timed_out: bool,
    /// Tag values cut to their byte bound, or left out of an event that had no room left
    /// (the events themselves were kept).
    pub truncated: u64,
}

impl FlushReport {
    /// True when nothing was lost, rejected or left waiting.
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let report = trunk_ci_analytics::flush(Duration::from_secs(2));
    /// if !report.is_complete() {
    ///     eprintln!("analytics: {report}"); // e.g. "0 delivered, 120 spooled, 0 dropped, 0 rejected (timed out)"
    /// }
    /// ```
    pub fn is_complete(&self) -> bool {
        self.dropped == 0 && self.rejected == 0 && self.spooled == 0 && !self.timed_out
    }
}

impl FlushReport {
    /// Adds `other`'s counts to these (another sink's share of the same flush).
    pub(crate) fn merge(&mut self, other: &FlushReport) {
        self.delivered += other.delivered;
        self.spooled += other.spooled;
        self.dropped += other.dropped;
        self.rejected += other.rejected;
        self.replayed += other.replayed;
        self.timed_out |= other.timed_out;
        self.truncated += other.truncated;
    }
}

impl std::fmt::Display for FlushReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} delivered, {} spooled, {} dropped, {} rejected",
            self.delivered, self.spooled, self.dropped, self.rejected
        )?;
        if self.replayed > 0 {
            write!(f, ", {} replayed from the spool", self.replayed)?;
        }
        if self.truncated > 0 {
            write!(f, ", {} tag values truncated", self.truncated)?;
        }
        if self.timed_out {
            f.write_str(" (timed out)")?;
        }
        Ok(())
    }
}
