//! Where an uploader's batches go: over HTTP, or — in a process that does not send — to the
//! spool, for the run's uploader or a later uploading process to send.

use super::http::Http;
use crate::config::delivery::Delivery;

/// How an uploader delivers.
#[derive(Debug)]
pub(crate) enum Transport {
    /// Sent over HTTP by this process (feature `upload`; without it [`Http`] has no values).
    #[cfg_attr(not(feature = "upload"), allow(dead_code))]
    Http(Http),
    /// Spooled under the run's uploader's root, for that process (`pid`) to send.
    ToUploader { pid: u32 },
    /// Spooled for the next uploading process or `trunk-ci-analytics flush` (no `upload`).
    #[cfg(not(feature = "upload"))]
    Spool,
}

impl Transport {
    /// The transport of a sink in a process that does not send; `None` in one that does
    /// (its sinks make their own HTTP clients).
    pub(crate) fn spooling(delivery: &Delivery) -> Option<Transport> {
        match delivery {
            Delivery::ToUploader(uploader) => Some(Transport::ToUploader { pid: uploader.pid }),
            #[cfg(not(feature = "upload"))]
            Delivery::Spool => Some(Transport::Spool),
            #[cfg(feature = "upload")]
            Delivery::Send => None,
        }
    }

    /// The HTTP client, when this process sends.
    pub(crate) fn http(&self) -> Option<&Http> {
        match self {
            Transport::Http(http) => Some(http),
            _ => None,
        }
    }
}
