//! The Trunk `trackEvents` sink: each event as wire JSON into the batch being filled,
//! delivered by the uploader (batches, retries, spool, breaker).

pub(crate) mod answer;

use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use super::delivery::batch::BatchBuilder;
use super::delivery::http::Http;
use super::delivery::uploader::Uploader;
use super::delivery::{spool, storage};
use super::json::EventEncoder;
use super::process::ProcessInfo;
use super::sink::{Flush, Sink};
use super::status::UploadStatus;
use crate::config::Config;
use crate::record::Record;
use crate::report::FlushReport;
use crate::wire::{Repo, TRACK_EVENTS_PATH};
use answer::TRACK_EVENTS;

/// Uploads every event to `{TRUNK_PUBLIC_API_ADDRESS}/v1/metrics/trackEvents`.
pub(crate) struct TrunkSink {
    encoder: EventEncoder,
    uploader: Uploader,
    status: Arc<UploadStatus>,
}

impl TrunkSink {
    /// The sink for `repo`, or `None` (said once on stderr) when the HTTP client cannot be
    /// built.
    pub(crate) fn new(
        config: &Config,
        info: ProcessInfo,
        repo: &Repo,
        status: Arc<UploadStatus>,
    ) -> Option<TrunkSink> {
        let token = config.token.as_ref()?;
        let tuning = config.tuning.clone();
        let url = format!("{}{TRACK_EVENTS_PATH}", config.api_address);
        let http = answer::headers(token).and_then(|headers| {
            Http::new(
                url,
                headers,
                tuning.request_timeout,
                TRACK_EVENTS.judge,
                false,
            )
        });
        let http = match http {
            Ok(http) => http,
            Err(e) => {
                crate::log!(Error, "{e}; this process's events are not uploaded");
                return None;
            }
        };
        let (spool, breaker) = storage::open(
            config,
            &spool::partition(&config.api_address, repo),
            &config.api_address,
        );
        let repo_json = serde_json::to_vec(repo).unwrap_or_default();
        let uploader = Uploader::new(
            tuning,
            http,
            BatchBuilder::new(&repo_json),
            spool,
            breaker,
            &TRACK_EVENTS,
        );
        Some(TrunkSink {
            encoder: EventEncoder::new(&info),
            uploader,
            status,
        })
    }
}

impl std::fmt::Debug for TrunkSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TrunkSink")
            .field("uploader", &self.uploader)
            .finish_non_exhaustive()
    }
}

impl Sink for TrunkSink {
    fn remote_name(&self) -> Option<&'static str> {
        Some("trackEvents")
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

    fn begin_flush(&mut self, flush: Flush, now: Instant) -> Option<FlushReport> {
        self.uploader.add_flush(flush, now);
        None
    }

    fn step(&mut self, now: Instant) {
        self.uploader.step(now);
        self.status.set(self.uploader.upload());
    }

    fn poll(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let polled = self.uploader.poll_request(cx);
        self.status.set(self.uploader.upload());
        polled
    }

    fn next_due(&self) -> Option<Instant> {
        self.uploader.next_due()
    }

    fn answered(&mut self) -> Vec<(u64, FlushReport)> {
        self.uploader.take_answered()
    }

    fn held(&self) -> usize {
        self.uploader.held()
    }

    fn refuses(&self) -> bool {
        self.uploader.over_memory() && !self.uploader.spool_usable()
    }

    fn can_spill(&self) -> bool {
        self.uploader.spool_usable()
    }
}

/// With a token but no way to upload (no repository, no HTTP client): every event counts
/// as dropped, so that flush reports say what was lost.
#[derive(Debug, Default)]
pub(crate) struct Undeliverable {
    dropped: u64,
}

impl Sink for Undeliverable {
    fn remote_name(&self) -> Option<&'static str> {
        Some("trackEvents")
    }

    fn take(&mut self, _record: &Record, _now: Instant) {
        self.dropped += 1;
    }

    fn begin_flush(&mut self, _flush: Flush, _now: Instant) -> Option<FlushReport> {
        Some(FlushReport {
            dropped: std::mem::take(&mut self.dropped),
            ..FlushReport::default()
        })
    }
}
