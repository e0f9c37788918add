//! The Trunk `trackEvents` sink: each event as wire JSON into the batch being filled,
//! delivered by the uploader (batches, retries, spool, breaker).

pub(crate) mod protocol;

use std::sync::Arc;
use std::time::Instant;

use crate::config::Config;
use crate::config::detect::process_info::ProcessInfo;
use crate::model::flush_report::FlushReport;
use crate::model::wire::{Repo, TRACK_EVENTS_PATH};
use crate::pipeline::delivery::batch::BatchBuilder;
use crate::pipeline::delivery::http::Http;
use crate::pipeline::delivery::remote::{Encode, RemoteSink};
use crate::pipeline::delivery::uploader::Uploader;
use crate::pipeline::delivery::{spool, storage};
use crate::pipeline::json::EventEncoder;
use crate::pipeline::sink::{Flush, Sink};
use crate::pipeline::upload_status::UploadStatus;
use crate::record::{Frame, Record};
use protocol::TRACK_EVENTS;

/// Uploads every event to `{TRUNK_PUBLIC_API_ADDRESS}/v1/metrics/trackEvents`.
pub(crate) type TrunkSink = RemoteSink<TrackEvents>;

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
        let http = protocol::headers(token).and_then(|headers| {
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
        Some(RemoteSink {
            encoder: TrackEvents(EventEncoder::new(&info)),
            uploader,
            status: Some(status),
        })
    }
}

/// The trackEvents JSON of each event.
pub(crate) struct TrackEvents(EventEncoder);

impl Encode for TrackEvents {
    const NAME: &'static str = "trackEvents";

    fn encode(&mut self, record: &Record, buf: &mut Vec<u8>) {
        self.0.encode(record, buf);
    }

    // The API upserts events by id, as Trunk's Jenkins plugin relied on: a step that is
    // killed or still running shows from its started event.
    const STARTED: bool = true;

    fn encode_started(&mut self, frame: &Frame, buf: &mut Vec<u8>) {
        self.0.encode_started(frame, buf);
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
