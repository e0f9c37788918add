//! One HTTP request to a sink's endpoint, and its answer handed to the protocol's judge.
//!
//! reqwest over rustls with the aws-lc-rs provider, handed over as a finished `ClientConfig`, so we
//! never install a process-wide default provider in the user's program. HTTP/1.1, one
//! kept-alive connection, a timeout per request, no redirects (they could carry the
//! credentials elsewhere). Credentials travel only in headers marked sensitive; no message
//! built here contains them.

use std::future::Future;
use std::io::Write as _;
use std::net::Ipv4Addr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use super::body::Body;
use reqwest::header::{CONTENT_ENCODING, HeaderMap, HeaderValue, RETRY_AFTER};

use super::protocol::{Failure, Judge, Outcome};
use super::retry;

/// `User-Agent` of every request.
pub(crate) const USER_AGENT: &str = concat!("trunk-ci-analytics-rust/", env!("CARGO_PKG_VERSION"));
/// Connecting never takes longer than this, whatever the request timeout: a blackholed
/// address must not hold a batch for the whole request timeout before the first retry.
const MAX_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Most of an answer's body read (for the reason of a refusal, or a partial success).
const MAX_ERROR_BODY: usize = 64 * 1024;
/// Bodies smaller than this are sent as they are even when gzip is on: below it the
/// compression saves less than it costs.
const GZIP_MIN_BYTES: usize = 4096;

pub(crate) type Request = Pin<Box<dyn Future<Output = Outcome>>>;

pub(crate) struct Http {
    client: reqwest::Client,
    url: String,
    judge: Judge,
    gzip: bool,
}

impl std::fmt::Debug for Http {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Not the client: its Debug lists the default headers, the credentials among them.
        f.debug_struct("Http")
            .field("url", &self.url)
            .field("gzip", &self.gzip)
            .finish_non_exhaustive()
    }
}

impl Http {
    /// A client that POSTs to `url` (already checked as allowed) with `headers` on every
    /// request; credentials among them must be marked sensitive. With `gzip`, bodies worth
    /// it are compressed.
    pub(crate) fn new(
        url: String,
        headers: HeaderMap,
        request_timeout: Duration,
        judge: Judge,
        gzip: bool,
    ) -> Result<Http, String> {
        let https = url
            .get(..8)
            .is_some_and(|s| s.eq_ignore_ascii_case("https://"));
        let mut builder = reqwest::Client::builder()
            .tls_backend_preconfigured(tls_config(https)?)
            .user_agent(USER_AGENT)
            .default_headers(headers)
            .http1_only()
            .pool_max_idle_per_host(1)
            .timeout(request_timeout)
            .connect_timeout(request_timeout.min(MAX_CONNECT_TIMEOUT))
            .redirect(reqwest::redirect::Policy::none());
        if !https {
            // Plain http goes to loopback or a collector next door, which no proxy should see.
            builder = builder.no_proxy();
            // `localhost` goes to 127.0.0.1 whatever a resolver or hosts file says.
            let parsed = reqwest::Url::parse(&url).map_err(|e| e.to_string())?;
            if parsed.host_str() == Some("localhost") {
                let port = parsed.port_or_known_default().unwrap_or(80);
                builder = builder.resolve("localhost", (Ipv4Addr::LOCALHOST, port).into());
            }
        }
        let client = builder
            .build()
            .map_err(|e| format!("cannot set up the HTTP client: {}", error_chain(&e)))?;
        Ok(Http {
            client,
            url,
            judge,
            gzip,
        })
    }

    /// Sends one body; the future owns everything it needs.
    pub(crate) fn post(&self, body: Body) -> Request {
        let mut request = self.client.post(&self.url);
        request = match self.gzip.then(|| gzip(&body)).flatten() {
            Some(packed) => request
                .header(CONTENT_ENCODING, HeaderValue::from_static("gzip"))
                .body(packed),
            None => request.body(body),
        };
        let judge = self.judge;
        Box::pin(async move {
            match request.send().await {
                Ok(response) => answer(response, judge).await,
                Err(e) => Outcome::Retry {
                    after: None,
                    failure: classify(&e),
                },
            }
        })
    }
}

/// `body` gzipped, when it is large enough for that to pay.
fn gzip(body: &[u8]) -> Option<Vec<u8>> {
    if body.len() < GZIP_MIN_BYTES {
        return None;
    }
    let out = Vec::with_capacity(body.len() / 4);
    let mut encoder = flate2::write::GzEncoder::new(out, flate2::Compression::fast());
    encoder.write_all(body).ok()?;
    encoder.finish().ok()
}

/// rustls with aws-lc-rs (post-quantum key exchange preferred), and the OS trust store for https. Plain http (loopback only) never
/// uses TLS, so it skips reading the trust store.
fn tls_config(https: bool) -> Result<rustls::ClientConfig, String> {
    use rustls_platform_verifier::BuilderVerifierExt;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("cannot set up TLS: {e}"))?;
    let config = if https {
        builder
            .with_platform_verifier()
            .map_err(|e| format!("cannot load the system's TLS root certificates: {e}"))?
            .with_no_client_auth()
    } else {
        builder
            .with_root_certificates(rustls::RootCertStore::empty())
            .with_no_client_auth()
    };
    Ok(config)
}

async fn answer(response: reqwest::Response, judge: Judge) -> Outcome {
    let status = response.status().as_u16();
    let after = response
        .headers()
        .get(RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| retry::retry_after(v, SystemTime::now()));
    // Read the body even on success, so the connection goes back to the pool.
    let body = read_capped(response).await;
    judge(status, after, &body)
}

async fn read_capped(mut response: reqwest::Response) -> Vec<u8> {
    let mut body = Vec::new();
    while let Ok(Some(chunk)) = response.chunk().await {
        let room = MAX_ERROR_BODY.saturating_sub(body.len());
        body.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if body.len() >= MAX_ERROR_BODY {
            break;
        }
    }
    body
}

fn classify(e: &reqwest::Error) -> Failure {
    let text = error_chain(e);
    if e.is_timeout() {
        Failure::Timeout(text)
    } else if e.is_connect() {
        Failure::Connect(text)
    } else {
        Failure::Transport(text)
    }
}

/// The error and its causes on one line, its URLs without credentials (reqwest errors name
/// the URL, never headers).
pub(crate) fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let line = s.to_string();
        if !text.contains(&line) {
            text.push_str(": ");
            text.push_str(&line);
        }
        source = s.source();
    }
    crate::platform::redact::text(&text).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read as _;

    #[test]
    fn only_bodies_worth_it_are_gzipped() {
        assert!(gzip(b"{}").is_none());
        let body = "{\"k\":\"v\"},".repeat(1000);
        let packed = gzip(body.as_bytes()).unwrap_or_default();
        assert!(!packed.is_empty() && packed.len() < body.len() / 4);
        let mut back = String::new();
        let read = flate2::read::GzDecoder::new(&packed[..]).read_to_string(&mut back);
        assert!(read.is_ok() && back == body);
    }

    #[test]
    fn user_agent_carries_the_version() {
        assert!(USER_AGENT.starts_with("trunk-ci-analytics-rust/0."));
    }
}
