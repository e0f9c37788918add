//! One HTTP request to `POST {base}/v1/metrics/trackEvents`, and what its answer means.
//!
//! reqwest over rustls with the ring provider, handed over as a finished `ClientConfig`, so we
//! never install a process-wide default provider in the user's program. HTTP/1.1, one
//! kept-alive connection, a timeout per request. The token travels only in a header marked
//! sensitive; no message built here contains it.

use std::future::Future;
use std::net::Ipv4Addr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderValue, RETRY_AFTER};

use super::retry;
use crate::config::Token;
use crate::wire::TRACK_EVENTS_PATH;

/// `x-source` of every request.
pub(crate) const X_SOURCE: &str = "trunk-ci-analytics-rust";
/// `User-Agent` of every request.
pub(crate) const USER_AGENT: &str = concat!("trunk-ci-analytics-rust/", env!("CARGO_PKG_VERSION"));
/// Connecting never takes longer than this, whatever the request timeout: a blackholed
/// address must not hold a batch for the whole request timeout before the first retry.
const MAX_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Most of an error body read (for the reason of a 400).
const MAX_ERROR_BODY: usize = 64 * 1024;

/// What became of one request.
#[derive(Debug)]
pub(crate) enum Outcome {
    /// 2xx: the events are in.
    Delivered,
    /// 400, 413 or 422: the body, or some events in it, were refused. `suspects` are the
    /// indexes of the events the server named, if it named any.
    Rejected {
        status: u16,
        reason: String,
        suspects: Vec<usize>,
    },
    /// 401 or 403: the token is not accepted.
    Unauthorized(u16),
    /// Another answer no retry can fix (404, 405, a redirect…): the address is wrong.
    Misdirected { status: u16, reason: String },
    /// Worth trying again (5xx, 408, 429, transport errors).
    Retry {
        after: Option<Duration>,
        failure: Failure,
    },
}

/// Why a request should be retried.
#[derive(Debug)]
pub(crate) enum Failure {
    Status(u16),
    /// No answer within the request timeout: the endpoint hangs.
    Timeout(String),
    /// No connection: the endpoint is unreachable.
    Connect(String),
    /// The connection broke (reset, closed early).
    Transport(String),
}

impl Failure {
    /// Whether this says the endpoint is unreachable or hanging (what the breaker is for).
    pub(crate) fn is_unreachable(&self) -> bool {
        matches!(self, Failure::Timeout(_) | Failure::Connect(_))
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Status(s) => write!(f, "HTTP {s}"),
            Failure::Timeout(e) | Failure::Connect(e) | Failure::Transport(e) => f.write_str(e),
        }
    }
}

pub(crate) type Request = Pin<Box<dyn Future<Output = Outcome>>>;

pub(crate) struct Http {
    client: reqwest::Client,
    url: String,
}

impl std::fmt::Debug for Http {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Not the client: its Debug lists the default headers, the token among them.
        f.debug_struct("Http")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

impl Http {
    /// A client for `api_address` (already checked: https, or http to loopback).
    pub(crate) fn new(
        api_address: &str,
        token: &Token,
        request_timeout: Duration,
    ) -> Result<Http, String> {
        let https = api_address
            .get(..8)
            .is_some_and(|s| s.eq_ignore_ascii_case("https://"));
        let mut token = HeaderValue::from_str(token.expose()).map_err(|_| {
            "TRUNK_API_TOKEN contains characters an HTTP header cannot carry (a stray newline?)"
                .to_owned()
        })?;
        token.set_sensitive(true);
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        headers.insert("x-api-token", token);
        headers.insert("x-source", HeaderValue::from_static(X_SOURCE));
        let mut builder = reqwest::Client::builder()
            .tls_backend_preconfigured(tls_config(https)?)
            .user_agent(USER_AGENT)
            .default_headers(headers)
            .http1_only()
            .pool_max_idle_per_host(1)
            .timeout(request_timeout)
            .connect_timeout(request_timeout.min(MAX_CONNECT_TIMEOUT))
            // The API does not redirect; following one could carry the token elsewhere.
            .redirect(reqwest::redirect::Policy::none());
        if !https {
            // Plain http is only allowed to loopback, which no proxy should see.
            builder = builder.no_proxy();
            // `localhost` goes to 127.0.0.1 whatever a resolver or hosts file says.
            let url = reqwest::Url::parse(api_address).map_err(|e| e.to_string())?;
            if url.host_str() == Some("localhost") {
                let port = url.port_or_known_default().unwrap_or(80);
                builder = builder.resolve("localhost", (Ipv4Addr::LOCALHOST, port).into());
            }
        }
        let client = builder
            .build()
            .map_err(|e| format!("cannot set up the HTTP client: {}", error_chain(&e)))?;
        Ok(Http {
            client,
            url: format!("{api_address}{TRACK_EVENTS_PATH}"),
        })
    }

    pub(crate) fn url(&self) -> &str {
        &self.url
    }

    /// Sends one body; the future owns everything it needs.
    pub(crate) fn post(&self, body: Bytes) -> Request {
        let request = self.client.post(&self.url).body(body);
        Box::pin(async move {
            match request.send().await {
                Ok(response) => judge(response).await,
                Err(e) => Outcome::Retry {
                    after: None,
                    failure: classify(&e),
                },
            }
        })
    }
}

/// rustls with ring, and the OS trust store for https. Plain http (loopback only) never
/// uses TLS, so it skips reading the trust store.
fn tls_config(https: bool) -> Result<rustls::ClientConfig, String> {
    use rustls_platform_verifier::BuilderVerifierExt;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
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

async fn judge(response: reqwest::Response) -> Outcome {
    let status = response.status().as_u16();
    let after = response
        .headers()
        .get(RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| retry::retry_after(v, SystemTime::now()));
    // Read the body even on success, so the connection goes back to the pool.
    let body = read_capped(response).await;
    match status {
        200..=299 => Outcome::Delivered,
        400 | 413 | 422 => {
            let (reason, suspects) = reason_of(&body);
            Outcome::Rejected {
                status,
                reason: if reason.is_empty() {
                    format!("HTTP {status}")
                } else {
                    reason
                },
                suspects,
            }
        }
        401 | 403 => Outcome::Unauthorized(status),
        408 | 429 | 500..=599 => Outcome::Retry {
            after,
            failure: Failure::Status(status),
        },
        _ => Outcome::Misdirected {
            status,
            reason: reason_of(&body).0,
        },
    }
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

/// The server's reason from an error body `{"error", "violations"}` (or its raw text), and the
/// indexes of the events its violations name (`events[3].sequence.platform: …`).
pub(crate) fn reason_of(body: &[u8]) -> (String, Vec<usize>) {
    #[derive(serde::Deserialize)]
    struct ErrorBody {
        #[serde(default)]
        error: Option<String>,
        #[serde(default)]
        violations: Vec<serde_json::Value>,
    }
    let Ok(parsed) = serde_json::from_slice::<ErrorBody>(body) else {
        let text = String::from_utf8_lossy(body);
        return (text.trim().chars().take(300).collect(), Vec::new());
    };
    let violations: Vec<String> = parsed
        .violations
        .iter()
        .map(|v| match v {
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        })
        .collect();
    let suspects = violations
        .iter()
        .filter_map(|v| {
            let rest = v.strip_prefix("events[")?;
            rest[..rest.find(']')?].parse().ok()
        })
        .collect();
    let mut reason = parsed.error.unwrap_or_default();
    if !violations.is_empty() {
        if !reason.is_empty() {
            reason.push_str(": ");
        }
        reason.push_str(&violations.join("; "));
    }
    (reason, suspects)
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

/// The error and its causes on one line. reqwest errors name the URL, never headers.
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
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_name_the_suspect_events() {
        let body = br#"{"error":"request body breaks 2 rule(s)","violations":["events[3].sequence.platform: must be snake_case","events[12].finishedAt: earlier than createdAt"]}"#;
        let (reason, suspects) = reason_of(body);
        assert_eq!(suspects, [3, 12]);
        assert!(
            reason.starts_with("request body breaks 2 rule(s): events[3]"),
            "{reason}"
        );
        let (reason, suspects) = reason_of(b"upstream says no");
        assert_eq!((reason.as_str(), suspects.len()), ("upstream says no", 0));
        let (_, suspects) =
            reason_of(br#"{"error":"x","violations":["repo.host: must be github.com"]}"#);
        assert!(suspects.is_empty());
    }

    #[test]
    fn the_token_stays_out_of_debug_output() {
        let token = Token::new("tca-unit-secret-42");
        let http = Http::new("http://127.0.0.1:9", &token, Duration::from_secs(1))
            .unwrap_or_else(|e| panic!("{e}"));
        let text = format!("{http:?}");
        assert!(
            text.contains("127.0.0.1:9") && !text.contains("tca-unit-secret-42"),
            "{text}"
        );
        let bad = Http::new(
            "http://127.0.0.1:9",
            &Token::new("a\nb"),
            Duration::from_secs(1),
        );
        assert!(bad.is_err_and(|e| e.contains("TRUNK_API_TOKEN") && !e.contains("a\nb")));
    }

    #[test]
    fn user_agent_carries_the_version() {
        assert!(USER_AGENT.starts_with("trunk-ci-analytics-rust/0."));
    }
}
