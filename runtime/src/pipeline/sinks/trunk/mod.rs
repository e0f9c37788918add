//! The Trunk `trackEvents` sink: each event as wire JSON into the batch being filled,
//! delivered by the uploader (batches, retries, spool, breaker).

pub(crate) mod protocol;

use std::sync::Arc;
use std::time::Instant;

use crate::config::Config;
use crate::config::delivery::Delivery;
use crate::config::detect::process_info::ProcessInfo;
use crate::model::flush_report::FlushReport;
use crate::model::wire::{Repo, TRACK_EVENTS_PATH};
use crate::pipeline::delivery::batch::BatchBuilder;
#[cfg(feature = "upload")]
use crate::pipeline::delivery::http::Http;
use crate::pipeline::delivery::on_disk;
use crate::pipeline::delivery::remote::{Encode, RemoteSink};
use crate::pipeline::delivery::transport::Transport;
use crate::pipeline::delivery::uploader::Uploader;
use crate::pipeline::json::EventEncoder;
use crate::pipeline::sink::{Sink, SinkFlush};
use crate::pipeline::upload_status::UploadStatus;
use crate::record::{Frame, Record};
use protocol::TRACK_EVENTS;
use trunk_ci_analytics_rules::fnv1a64;

/// Uploads every event to `{TRUNK_PUBLIC_API_ADDRESS}/v1/metrics/trackEvents`.
pub(crate) type TrunkSink = RemoteSink<TrackEvents>;

impl TrunkSink {
    /// The sink for `repo` with a token, or `None` (said once on stderr) when it should send
    /// and the HTTP client cannot be built.
    pub(crate) fn new(
        config: &Config,
        delivery: &Delivery,
        info: ProcessInfo,
        repo: &Repo,
        status: Arc<UploadStatus>,
    ) -> Option<TrunkSink> {
        config.token.as_ref()?;
        let tuning = config.tuning.clone();
        let url = format!("{}{TRACK_EVENTS_PATH}", config.api_address);
        let transport = match Transport::spooling(delivery) {
            Some(spooling) => spooling,
            #[cfg(feature = "upload")]
            None => Transport::Http(client(config, &url)?),
            #[cfg(not(feature = "upload"))]
            None => Transport::Spool,
        };
        let (spool, breaker) = on_disk::open(
            config,
            delivery,
            &partition(&config.api_address, repo),
            &config.api_address,
        );
        let repo_json = serde_json::to_vec(repo).unwrap_or_default();
        let uploader = Uploader::new(
            tuning,
            url,
            transport,
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

/// The HTTP client of a process that sends; `None` (said once on stderr) when it cannot be
/// built.
#[cfg(feature = "upload")]
fn client(config: &Config, url: &str) -> Option<Http> {
    let token = config.token.as_ref()?;
    let http = protocol::headers(token).and_then(|headers| {
        Http::new(
            url.to_owned(),
            headers,
            config.tuning.request_timeout,
            TRACK_EVENTS.judge,
            false,
        )
    });
    match http {
        Ok(http) => Some(http),
        Err(e) => {
            crate::log!(Error, "{e}; this process's events are not uploaded");
            None
        }
    }
}

/// The partition of a repository and endpoint: readable, and unique through a stable hash
/// (FNV-1a: the name must not change between Rust releases, unlike std's hasher).
pub(crate) fn partition(api_address: &str, repo: &Repo) -> String {
    let h =
        fnv1a64(format!("{api_address}\n{}/{}/{}", repo.host, repo.owner, repo.name).as_bytes());
    let readable: String = format!("{}.{}", repo.owner, repo.name)
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .take(60)
        .collect();
    format!("{readable}-{h:016x}")
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

    fn begin_flush(&mut self, _flush: SinkFlush, _now: Instant) -> Option<FlushReport> {
        Some(FlushReport {
            dropped: std::mem::take(&mut self.dropped),
            ..FlushReport::default()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partitions_differ_by_repo_and_endpoint() {
        let repo = |o: &str| Repo {
            host: "github.com".into(),
            owner: o.into(),
            name: "r".into(),
        };
        let a = partition("https://api.trunk.io", &repo("o"));
        assert!(a.starts_with("o.r-"), "{a}");
        assert_ne!(a, partition("https://api.trunk.io", &repo("p")));
        assert_ne!(a, partition("http://127.0.0.1:1", &repo("o")));
        assert_eq!(a, partition("https://api.trunk.io", &repo("o")));
    }
}
