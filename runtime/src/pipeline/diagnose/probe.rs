//! One cheap request to the `trackEvents` endpoint, to learn whether it answers and takes
//! the token.

use std::time::{Duration, Instant};

use bytes::Bytes;

use crate::config::Config;
use crate::pipeline::delivery::http::{Failure, Http, Outcome};
use crate::wire::Repo;

/// What the endpoint said to a request carrying no events.
///
/// ```
/// use trunk_ci_analytics::diagnose::Probe;
///
/// let answer = Probe::TokenRefused { status: 401 };
/// assert!(!answer.works());
/// assert_eq!(answer.to_string(), "HTTP 401: the token is refused (check TRUNK_API_TOKEN)");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Probe {
    /// No token is set: nothing to ask.
    NoToken,
    /// 2xx: the endpoint takes the token.
    Accepted,
    /// 401 or 403: the token is refused.
    TokenRefused {
        /// The HTTP status.
        status: u16,
    },
    /// 400, 413 or 422: the token passed, the (empty) body was refused.
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
    /// The request could not be made (the token cannot be a header, TLS setup failed).
    Unusable(String),
}

impl Probe {
    /// Whether uploads would work (with a token, the endpoint took it).
    ///
    /// ```
    /// use trunk_ci_analytics::diagnose::Probe;
    /// assert!(Probe::Accepted.works());
    /// assert!(!Probe::Unreachable("connection refused".into()).works());
    /// ```
    pub fn works(&self) -> bool {
        matches!(self, Probe::Accepted | Probe::BodyRefused { .. })
    }
}

impl std::fmt::Display for Probe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Probe::NoToken => f.write_str("not asked: no TRUNK_API_TOKEN"),
            Probe::Accepted => f.write_str("HTTP 2xx: the token is accepted"),
            Probe::TokenRefused { status } => write!(
                f,
                "HTTP {status}: the token is refused (check TRUNK_API_TOKEN)"
            ),
            Probe::BodyRefused { status, reason } => write!(
                f,
                "HTTP {status}: the token passed, the empty request was refused ({reason})"
            ),
            Probe::Misdirected { status, reason } if reason.is_empty() => write!(
                f,
                "HTTP {status}: not a trackEvents endpoint (check TRUNK_PUBLIC_API_ADDRESS)"
            ),
            Probe::Misdirected { status, reason } => write!(
                f,
                "HTTP {status}: not a trackEvents endpoint ({reason}; check \
                 TRUNK_PUBLIC_API_ADDRESS)"
            ),
            Probe::Unavailable { status } => {
                write!(
                    f,
                    "HTTP {status}: the endpoint is there but unavailable now"
                )
            }
            Probe::Unreachable(why) => write!(f, "no answer: {why}"),
            Probe::Unusable(why) => write!(f, "cannot send: {why}"),
        }
    }
}

/// POSTs `{"repo": repo, "events": []}` to the configured `trackEvents` endpoint with the
/// configured token, exactly as the uploader would (same client, headers and TLS), waiting
/// at most `timeout`, and says what the answer means. An empty events array goes through
/// the same checks as a real upload — address, method, token, body — and records nothing.
/// Returns the answer and how long it took.
///
/// ```no_run
/// use std::time::Duration;
/// use trunk_ci_analytics::{Config, diagnose, wire::Repo};
///
/// let repo = Repo { host: "github.com".into(), owner: "acme".into(), name: "app".into() };
/// let (answer, took) = diagnose::probe(&Config::from_env(), &repo, Duration::from_secs(3));
/// println!("trackEvents: {answer} ({} ms)", took.as_millis());
/// ```
pub fn probe(config: &Config, repo: &Repo, timeout: Duration) -> (Probe, Duration) {
    let started = Instant::now();
    let Some(token) = config.token.as_ref() else {
        return (Probe::NoToken, Duration::ZERO);
    };
    let answer = send(config, token, repo, timeout);
    (answer, started.elapsed())
}

fn send(config: &Config, token: &crate::config::Token, repo: &Repo, timeout: Duration) -> Probe {
    let http = match Http::new(&config.api_address, token, timeout) {
        Ok(http) => http,
        Err(e) => return Probe::Unusable(e),
    };
    let body = serde_json::json!({ "repo": repo, "events": [] }).to_string();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .enable_time()
        .build();
    let runtime = match runtime {
        Ok(rt) => rt,
        Err(e) => return Probe::Unusable(format!("cannot start an I/O runtime: {e}")),
    };
    match runtime.block_on(http.post(Bytes::from(body))) {
        Outcome::Delivered => Probe::Accepted,
        Outcome::Rejected { status, reason, .. } => Probe::BodyRefused { status, reason },
        Outcome::Unauthorized(status) => Probe::TokenRefused { status },
        Outcome::Misdirected { status, reason } => Probe::Misdirected { status, reason },
        Outcome::Retry { failure, .. } => match failure {
            Failure::Status(status) => Probe::Unavailable { status },
            other => Probe::Unreachable(other.to_string()),
        },
    }
}
