//! The OTLP/HTTP trace sink: each event as one span ([`span`]), encoded straight into the
//! batch being filled as protobuf ([`proto`]) or OTLP/JSON ([`json`]), under the resource of
//! this process ([`resource`]), delivered by the uploader with the OTLP rules ([`protocol`]).
//! It has its own batches, retries, spool partition (per endpoint and encoding) and breaker,
//! so a dead collector never holds up the Trunk sink, nor the reverse.

mod json;
mod proto;
pub(crate) mod protocol;
mod resource;
mod span;

use std::rc::Rc;

use crate::config::Config;
use crate::config::delivery::Delivery;
use crate::config::detect::process_info::ProcessInfo;
use crate::config::otlp::OtlpProtocol;
use crate::model::wire::Repo;
use crate::pipeline::delivery::batch::{BatchBuilder, WriteHeader};
#[cfg(feature = "upload")]
use crate::pipeline::delivery::http::Http;
use crate::pipeline::delivery::on_disk;
use crate::pipeline::delivery::remote::{Encode, RemoteSink};
use crate::pipeline::delivery::transport::Transport;
use crate::pipeline::delivery::uploader::Uploader;
use crate::record::Record;
use protocol::OTLP;
use span::{Attr, Ids};
use trunk_ci_analytics_rules::fnv1a64;

enum Encoder {
    Proto(proto::ProtoEncoder),
    Json,
}

/// Exports every event as a span to the configured OTLP/HTTP traces endpoint.
pub(crate) type OtlpSink = RemoteSink<Spans>;

/// Each event as a span, in the configured encoding.
pub(crate) struct Spans {
    encoder: Encoder,
    /// The run's attributes, encoded once, added to every span.
    shared: Vec<u8>,
    ids: Ids,
}

impl Encode for Spans {
    const NAME: &'static str = "otlp";

    fn encode(&mut self, record: &Record, buf: &mut Vec<u8>) {
        let data = span::data(record, &self.ids);
        match &mut self.encoder {
            Encoder::Proto(p) => p.span(&data, record, &self.shared, buf),
            Encoder::Json => json::span(&data, record, &self.shared, buf),
        }
    }
}

/// The spool partition of an endpoint and encoding: a body is only ever replayed to where,
/// and as what, it was encoded for.
pub(crate) fn partition(url: &str, protocol: OtlpProtocol) -> String {
    format!(
        "otlp-{:016x}",
        fnv1a64(format!("{url}\n{}", protocol.as_str()).as_bytes())
    )
}

impl OtlpSink {
    /// The sink, when OTLP export is configured; `None` otherwise, or (said once on stderr)
    /// when it should send and the HTTP client cannot be built.
    pub(crate) fn new(
        config: &Config,
        delivery: &Delivery,
        info: &ProcessInfo,
        repo: Option<&Repo>,
    ) -> Option<OtlpSink> {
        let otlp = &config.otlp;
        let url = otlp.endpoint()?.to_owned();
        let transport = match Transport::spooling(delivery) {
            Some(spooling) => spooling,
            #[cfg(feature = "upload")]
            None => Transport::Http(client(config, &url)?),
            #[cfg(not(feature = "upload"))]
            None => Transport::Spool,
        };
        let get = |name: &str| std::env::var(name).ok();
        let resource = resource::resource(otlp, &get);
        let resource: Vec<(&str, Attr<'_>)> = resource
            .iter()
            .map(|(k, v)| (k.as_str(), Attr::Str(v)))
            .collect();
        let run = resource::run_attributes(info, repo, &get);
        let mut shared = Vec::new();
        let (encoder, builder) = match otlp.protocol {
            OtlpProtocol::HttpJson => {
                for (i, (k, v)) in run.iter().enumerate() {
                    if i > 0 {
                        shared.push(b',');
                    }
                    json::key_value(&mut shared, k, Attr::Str(v));
                }
                let head = json::head(&resource, resource::SDK_NAME, resource::SDK_VERSION);
                (Encoder::Json, BatchBuilder::framed(&head, b",", json::TAIL))
            }
            _ => {
                for (k, v) in &run {
                    proto::span_attribute(&mut shared, k, Attr::Str(v));
                }
                let envelope =
                    proto::Envelope::new(&resource, resource::SDK_NAME, resource::SDK_VERSION);
                let room = envelope.room();
                let header: WriteHeader = Rc::new(move |inner, out| envelope.header(inner, out));
                (
                    Encoder::Proto(proto::ProtoEncoder::new()),
                    BatchBuilder::enveloped(room, header),
                )
            }
        };
        let (spool, breaker) =
            on_disk::open(config, delivery, &partition(&url, otlp.protocol), &url);
        let uploader = Uploader::new(
            config.tuning.clone(),
            url,
            transport,
            builder,
            spool,
            breaker,
            &OTLP,
        );
        Some(RemoteSink {
            encoder: Spans {
                encoder,
                shared,
                ids: Ids::default(),
            },
            uploader,
            status: None,
        })
    }
}

/// The HTTP client of a process that sends; `None` (said once on stderr) when it cannot be
/// built.
#[cfg(feature = "upload")]
fn client(config: &Config, url: &str) -> Option<Http> {
    let otlp = &config.otlp;
    if !otlp.headers.0.is_empty() && crate::config::address::is_cleartext_remote(url) {
        crate::log_once!(
            Warn,
            "OTEL_EXPORTER_OTLP_HEADERS are sent in clear text to {url} (plain http to a \
             host that is not this machine); use https if they are secrets"
        );
    }
    let headers = protocol::headers(otlp.protocol, &otlp.headers);
    let http = Http::new(
        url.to_owned(),
        headers,
        config.tuning.request_timeout,
        OTLP.judge,
        otlp.gzip,
    );
    match http {
        Ok(http) => Some(http),
        Err(e) => {
            crate::log!(Error, "{e}; this process's spans are not exported");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partitions_differ_by_endpoint_and_encoding() {
        let a = partition(
            "http://127.0.0.1:4318/v1/traces",
            OtlpProtocol::HttpProtobuf,
        );
        assert!(a.starts_with("otlp-"));
        assert_ne!(
            a,
            partition("http://127.0.0.1:4318/v1/traces", OtlpProtocol::HttpJson)
        );
        assert_ne!(
            a,
            partition(
                "http://127.0.0.1:4319/v1/traces",
                OtlpProtocol::HttpProtobuf
            )
        );
    }
}
