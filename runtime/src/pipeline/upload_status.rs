//! What became of uploading in this process, as the Trunk sink last saw it: the summary's
//! header reports it instead of assuming that a token means events are delivered.

use std::sync::atomic::{AtomicU8, Ordering};

/// The state of uploading, shared by the Trunk sink (the only writer) and the summary.
#[derive(Debug, Default)]
pub(crate) struct UploadStatus(AtomicU8);

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
        self.0.store(upload as u8, Ordering::Relaxed);
    }

    pub(crate) fn get(&self) -> Upload {
        match self.0.load(Ordering::Relaxed) {
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

impl Upload {
    /// How the summary's header says it.
    pub(crate) fn describe(self) -> &'static str {
        match self {
            Upload::Local => "local mode: not uploaded",
            Upload::Uploading => "uploading to Trunk",
            Upload::Spooling => {
                "not uploaded yet: Trunk unreachable, events spooled for a later run"
            }
            Upload::Stopped => {
                "not uploaded: uploading stopped (see the error above), events spooled"
            }
            Upload::NoRepository => "not uploaded: no repository (set TRUNK_REPO)",
            Upload::Exporting => "exported over OTLP, not uploaded to Trunk",
            Upload::ThroughUploader => "handed to the run's uploader",
            Upload::Spooled => {
                "spooled for the next uploading process or `trunk-ci-analytics flush` (no \
                 `upload` feature)"
            }
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
