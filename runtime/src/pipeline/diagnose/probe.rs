//! One cheap request to each configured endpoint, to learn whether it answers and takes
//! the credentials.

use std::time::{Duration, Instant};

use crate::pipeline::delivery::body::Body;

use crate::config::otlp::OtlpProtocol;
use crate::config::{Config, Token};
use crate::model::wire::{Repo, TRACK_EVENTS_PATH};
use crate::pipeline::delivery::http::Http;
use crate::pipeline::delivery::protocol::Protocol;
#[cfg(feature = "upload")]
use crate::pipeline::delivery::protocol::{Failure, Outcome};
use crate::pipeline::sinks::{otlp, trunk};

/// What an endpoint said to a request carrying no events.
///
/// ```
/// use trunk_ci_analytics::diagnose::Probe;
///
/// assert!(Probe::Accepted.works());
/// assert!(!Probe::Refused { status: 401 }.works());
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Probe {
    /// 2xx: the endpoint takes the credentials.
    Accepted,
    /// 401 or 403: the credentials (token, headers) are refused.
    Refused {
        /// The HTTP status.
        status: u16,
    },
    /// 400, 413 or 422: the credentials passed, the empty request was refused.
    BodyRefused {
        /// The HTTP status.
        status: u16,
        /// The server's reason.
        reason: String,
    },
    /// Another final answer (404, 405, a redirect…): the address is wrong.
    Misdirected {
        /// The HTTP status.
        status: u16,
        /// The server's reason, if it gave one.
        reason: String,
    },
    /// 5xx, 408 or 429: the endpoint is there but unhappy right now.
    Unavailable {
        /// The HTTP status.
        status: u16,
    },
    /// No connection, no answer in time, or the connection broke.
    Unreachable(String),
    /// The request could not be made (a credential HTTP cannot carry, TLS setup failed).
    Unusable(String),
}

impl Probe {
    /// Whether uploads would work: the endpoint took the credentials.
    ///
    /// ```
    /// use trunk_ci_analytics::diagnose::Probe;
    /// assert!(!Probe::Unreachable("connection refused".into()).works());
    /// ```
    pub fn works(&self) -> bool {
        matches!(self, Probe::Accepted | Probe::BodyRefused { .. })
    }
}

/// One endpoint asked, and its answer.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Endpoint {
    /// Which sink: `trackEvents` or `otlp`.
    pub sink: &'static str,
    /// Where the request went.
    pub url: String,
    /// What the answer means.
    pub answer: Probe,
    /// How long it took.
    pub took: Duration,
    protocol: &'static Protocol,
}

impl Endpoint {
    /// The variable that sets this endpoint's credentials (`TRUNK_API_TOKEN`,
    /// `OTEL_EXPORTER_OTLP_HEADERS`), for messages.
    ///
    /// ```no_run
    /// use std::time::Duration;
    /// use trunk_ci_analytics::{Config, diagnose};
    ///
    /// for e in diagnose::probe(&Config::from_env(), None, Duration::from_secs(3)) {
    ///     if !e.answer.works() {
    ///         eprintln!("{}: {e} (see {})", e.sink, e.credentials_var());
    ///     }
    /// }
    /// ```
    pub fn credentials_var(&self) -> &'static str {
        self.protocol.credentials_var
    }
}

impl std::fmt::Display for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let p = self.protocol;
        match &self.answer {
            Probe::Accepted => write!(f, "HTTP 2xx: {} accepted", p.credentials),
            Probe::Refused { status } => write!(
                f,
                "HTTP {status}: {} refused (check {})",
                p.credentials, p.credentials_var
            ),
            Probe::BodyRefused { status, reason } => write!(
                f,
                "HTTP {status}: {} passed, the empty request was refused ({reason})",
                p.credentials
            ),
            Probe::Misdirected { status, reason } => {
                write!(f, "HTTP {status}: not the endpoint expected")?;
                if !reason.is_empty() {
                    write!(f, " ({reason})")?;
                }
                write!(f, "; check {}", p.address_var)
            }
            Probe::Unavailable { status } => {
                write!(f, "HTTP {status}: {} is there but unavailable now", p.peer)
            }
            Probe::Unreachable(why) => write!(f, "no answer: {why}"),
            Probe::Unusable(why) => write!(f, "cannot send: {why}"),
        }
    }
}

/// Asks each configured remote endpoint one request carrying no events, exactly as its
/// uploader would send it (same client, headers, TLS), waiting at most `timeout` each:
///
/// - `trackEvents` (with a token and a repository): a POST of `{"repo": …, "events": []}`,
///   which goes through every check a real upload does — address, method, token, body —
///   and records nothing;
/// - OTLP (when an `OTEL_EXPORTER_OTLP_*` endpoint is set): a POST of an empty
///   `ExportTraceServiceRequest` in the configured encoding, which the OTLP specification
///   answers with success and no effect.
///
/// ```no_run
/// use std::time::Duration;
/// use trunk_ci_analytics::{Config, diagnose, wire::Repo};
///
/// let repo = Repo { host: "github.com".into(), owner: "acme".into(), name: "app".into() };
/// for e in diagnose::probe(&Config::from_env(), Some(&repo), Duration::from_secs(3)) {
///     println!("{} {}: {e} ({} ms)", e.sink, e.url, e.took.as_millis());
/// }
/// ```
pub fn probe(config: &Config, repo: Option<&Repo>, timeout: Duration) -> Vec<Endpoint> {
    let mut asked = Vec::new();
    if let (Some(token), Some(repo)) = (config.token.as_ref(), repo) {
        let url = format!("{}{TRACK_EVENTS_PATH}", config.api_address);
        let protocol = &trunk::protocol::TRACK_EVENTS;
        let http = track_events_client(token, &url, timeout);
        let body = serde_json::json!({ "repo": repo, "events": [] }).to_string();
        asked.push(ask("trackEvents", url, protocol, http, Body::from(body)));
    }
    if config.enabled {
        if let Some(url) = config.otlp.endpoint() {
            let protocol = &otlp::protocol::OTLP;
            let http = otlp_client(config, url, timeout);
            // No resource spans: an empty message is zero bytes in protobuf.
            let body = match config.otlp.protocol {
                OtlpProtocol::HttpJson => Body::from_static(b"{}"),
                _ => Body::new(),
            };
            asked.push(ask("otlp", url.to_owned(), protocol, http, body));
        }
    }
    asked
}

fn ask(
    sink: &'static str,
    url: String,
    protocol: &'static Protocol,
    http: Result<Http, String>,
    body: Body,
) -> Endpoint {
    let started = Instant::now();
    let answer = match http {
        Ok(http) => send(&http, body),
        Err(e) => Probe::Unusable(e),
    };
    Endpoint {
        sink,
        url,
        answer,
        took: started.elapsed(),
        protocol,
    }
}

/// Why nothing is asked in a build without an HTTP client.
#[cfg(not(feature = "upload"))]
const NO_CLIENT: &str = "this build has no HTTP client (the `upload` feature is off)";

#[cfg(feature = "upload")]
fn track_events_client(token: &Token, url: &str, timeout: Duration) -> Result<Http, String> {
    let judge = trunk::protocol::TRACK_EVENTS.judge;
    trunk::protocol::headers(token)
        .and_then(|h| Http::new(url.to_owned(), h, timeout, judge, false))
}

#[cfg(not(feature = "upload"))]
fn track_events_client(_: &Token, _: &str, _: Duration) -> Result<Http, String> {
    Err(NO_CLIENT.to_owned())
}

#[cfg(feature = "upload")]
fn otlp_client(config: &Config, url: &str, timeout: Duration) -> Result<Http, String> {
    let headers = otlp::protocol::headers(config.otlp.protocol, &config.otlp.headers);
    let judge = otlp::protocol::OTLP.judge;
    Http::new(url.to_owned(), headers, timeout, judge, false)
}

#[cfg(not(feature = "upload"))]
fn otlp_client(_: &Config, _: &str, _: Duration) -> Result<Http, String> {
    Err(NO_CLIENT.to_owned())
}

#[cfg(not(feature = "upload"))]
fn send(http: &Http, _: Body) -> Probe {
    match *http {}
}

#[cfg(feature = "upload")]
fn send(http: &Http, body: Body) -> Probe {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .enable_time()
        .build();
    let runtime = match runtime {
        Ok(rt) => rt,
        Err(e) => return Probe::Unusable(format!("cannot start an I/O runtime: {e}")),
    };
    match runtime.block_on(http.post(body)) {
        Outcome::Delivered | Outcome::Partial { .. } => Probe::Accepted,
        Outcome::Rejected { status, reason, .. } => Probe::BodyRefused { status, reason },
        Outcome::Unauthorized(status) => Probe::Refused { status },
        Outcome::Misdirected { status, reason } => Probe::Misdirected { status, reason },
        Outcome::Retry { failure, .. } => match failure {
            Failure::Status(status) => Probe::Unavailable { status },
            other => Probe::Unreachable(other.to_string()),
        },
    }
}
