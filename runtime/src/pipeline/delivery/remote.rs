//! A sink that talks to a network: an encoder that writes each record into the batch being
//! filled, and the uploader that delivers the batches. Every remote sink is one of these,
//! so batching, retries, spool, breaker and flush answers behave the same for each.

use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use super::uploader::Uploader;
use crate::model::flush_report::FlushReport;
use crate::pipeline::sink::{Sink, SinkFlush};
use crate::pipeline::upload_status::UploadStatus;
use crate::record::{Frame, Record};

/// How one protocol writes a record into a batch body.
pub(crate) trait Encode {
    /// The sink's name in flush reports (`trackEvents`, `otlp`).
    const NAME: &'static str;

    /// Appends `record`, in the protocol's form, to the body being filled.
    fn encode(&mut self, record: &Record, buf: &mut Vec<u8>);

    /// Whether the protocol has *started* events (an event with an id but no end yet).
    const STARTED: bool = false;

    /// Appends the started event of the running `frame`.
    fn encode_started(&mut self, frame: &Frame, buf: &mut Vec<u8>) {
        let _ = (frame, buf);
    }
}

/// An encoder and its uploader; with `status`, the state of uploading is published for the
/// summary's header.
pub(crate) struct RemoteSink<E> {
    pub(crate) encoder: E,
    pub(crate) uploader: Uploader,
    pub(crate) status: Option<Arc<UploadStatus>>,
}

impl<E> RemoteSink<E> {
    fn publish(&self) {
        if let Some(status) = &self.status {
            status.set(self.uploader.upload());
            let (spooled, dropped) = self.uploader.counts();
            status.set_counts(spooled, dropped);
        }
    }
}

impl<E> std::fmt::Debug for RemoteSink<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemoteSink")
            .field("uploader", &self.uploader)
            .finish_non_exhaustive()
    }
}

impl<E: Encode> Sink for RemoteSink<E> {
    fn remote_name(&self) -> Option<&'static str> {
        Some(E::NAME)
    }

    #[cfg(feature = "upload")]
    fn sends(&self) -> bool {
        self.uploader.sends()
    }

    fn take(&mut self, record: &Record, now: Instant) {
        let encoder = &mut self.encoder;
        let pushed = self
            .uploader
            .builder()
            .push_with(now, |buf| {
                encoder.encode(record, buf);
                Ok(())
            })
            .is_some();
        if pushed {
            self.uploader.pushed();
        } else {
            self.uploader.count_dropped(1);
        }
    }

    fn wants_started(&self) -> bool {
        E::STARTED
    }

    fn started(&mut self, events: &[Frame], now: Instant) {
        let encoder = &mut self.encoder;
        self.uploader.push_started(|builder| {
            for frame in events {
                builder.push_with(now, |buf| {
                    encoder.encode_started(frame, buf);
                    Ok(())
                });
            }
        });
    }

    fn begin_flush(&mut self, flush: SinkFlush, now: Instant) -> Option<FlushReport> {
        self.uploader.add_flush(flush, now);
        None
    }

    fn step(&mut self, now: Instant) {
        self.uploader.step(now);
        self.publish();
    }

    fn poll(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let polled = self.uploader.poll_request(cx);
        self.publish();
        polled
    }

    fn next_due(&self) -> Option<Instant> {
        self.uploader.next_due()
    }

    fn answered(&mut self) -> Vec<(u64, FlushReport)> {
        self.uploader.take_answered()
    }

    fn backlog(&self) -> usize {
        self.uploader.held()
    }

    fn refuses(&self) -> bool {
        self.uploader.over_memory() && !self.uploader.spool_usable()
    }

    fn can_spool(&self) -> bool {
        self.uploader.spool_usable()
    }
}
