//! What became of uploading in this process, as the Trunk sink last saw it: the summary's
//! header reports it instead of assuming that a token means events are delivered, or that
//! events the network did not take are in the spool (a full disk drops them).

use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};

/// The state of uploading, shared by the Trunk sink (the only writer) and the summary.
#[derive(Debug, Default)]
pub(crate) struct UploadStatus {
    state: AtomicU8,
    /// This process's events written to the spool (less those evicted since).
    spooled: AtomicU64,
    /// This process's events neither delivered nor spooled.
    dropped: AtomicU64,
}

/// What [`UploadStatus`] holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Upload {
    /// No token: nothing is sent.
    Local,
    /// Uploading, and nothing stopped it so far.
    Uploading,
    /// The endpoint was found unreachable or hanging (by this or another process): events
    /// go to the spool, for a later run to send.
    Spooling,
    /// Uploading stopped for this process (refused token, wrong address): events are kept
    /// in the spool.
    Stopped,
    /// A token but no repository to upload for: events are dropped.
    NoRepository,
    /// No token, but spans are exported over OTLP.
    Exporting,
    /// Handed to the run's uploader (an ancestor process), which sends them.
    ThroughUploader,
    /// Spooled for the next uploading process or `trunk-ci-analytics flush`: built without
    /// the `upload` feature, and no uploading ancestor.
    Spooled,
}

impl UploadStatus {
    pub(crate) fn new(initial: Upload) -> UploadStatus {
        let status = UploadStatus::default();
        status.set(initial);
        status
    }

    pub(crate) fn set(&self, upload: Upload) {
        self.state.store(upload as u8, Ordering::Relaxed);
    }

    /// How many of this process's events went to the spool, and how many were dropped.
    pub(crate) fn set_counts(&self, spooled: u64, dropped: u64) {
        self.spooled.store(spooled, Ordering::Relaxed);
        self.dropped.store(dropped, Ordering::Relaxed);
    }

    /// This process's events spooled (less those evicted since), and dropped.
    pub(crate) fn counts(&self) -> (u64, u64) {
        (
            self.spooled.load(Ordering::Relaxed),
            self.dropped.load(Ordering::Relaxed),
        )
    }

    pub(crate) fn get(&self) -> Upload {
        match self.state.load(Ordering::Relaxed) {
            1 => Upload::Uploading,
            2 => Upload::Spooling,
            3 => Upload::Stopped,
            4 => Upload::NoRepository,
            5 => Upload::Exporting,
            6 => Upload::ThroughUploader,
            7 => Upload::Spooled,
            _ => Upload::Local,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_state_reads_back() {
        let s = UploadStatus::default();
        assert_eq!(s.get(), Upload::Local);
        for u in [
            Upload::Uploading,
            Upload::Spooling,
            Upload::Stopped,
            Upload::NoRepository,
            Upload::Exporting,
            Upload::ThroughUploader,
            Upload::Spooled,
            Upload::Local,
        ] {
            s.set(u);
            assert_eq!(s.get(), u);
        }
    }
}
