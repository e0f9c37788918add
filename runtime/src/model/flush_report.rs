//! What a flush achieved.

/// Outcome of [`flush`](crate::flush): counts of this process's events since the previous
/// flush. Its `Display` is one line, for a log.
///
/// Counts are per sink delivery: with both the `trackEvents` API and OTLP export configured,
/// each event is delivered (or spooled, dropped, rejected) once per sink, so a flush of 10
/// events that both sinks took reports 20 delivered. [`per_sink`](Self::per_sink) then has
/// each sink's share, and the `Display` line shows it.
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
    /// Why uploading stopped for good in this process, once it has: the API refused the
    /// token (401/403) or the address is wrong (e.g. 404). A configuration problem no
    /// retry fixes; the events wait in the spool until it is fixed.
    pub upload_stopped: Option<String>,
    /// Each remote sink's share of the counts above (`trackEvents`, `otlp`), in the order the
    /// sinks answered; empty when no remote sink is configured.
    pub per_sink: Vec<(&'static str, FlushReport)>,
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
        if self.upload_stopped.is_none() {
            self.upload_stopped.clone_from(&other.upload_stopped);
        }
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
        if self.per_sink.len() > 1 {
            for (i, (name, share)) in self.per_sink.iter().enumerate() {
                f.write_str(if i == 0 { " [" } else { "; " })?;
                write!(f, "{name}: {share}")?;
            }
            f.write_str("]")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn several_sinks_show_their_shares() {
        let share = |delivered, spooled| FlushReport {
            delivered,
            spooled,
            ..FlushReport::default()
        };
        let mut total = FlushReport::default();
        total.merge(&share(10, 0));
        total.merge(&share(0, 10));
        assert_eq!(
            total.to_string(),
            "10 delivered, 10 spooled, 0 dropped, 0 rejected"
        );
        total.per_sink = vec![("trackEvents", share(10, 0)), ("otlp", share(0, 10))];
        assert_eq!(
            total.to_string(),
            "10 delivered, 10 spooled, 0 dropped, 0 rejected [trackEvents: 10 delivered, 0 \
             spooled, 0 dropped, 0 rejected; otlp: 0 delivered, 10 spooled, 0 dropped, 0 rejected]"
        );
    }
}
