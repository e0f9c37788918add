//! What differs between the protocols the uploader speaks (the Trunk `trackEvents` API,
//! OTLP/HTTP): how an answer is judged, whether a refused batch can be split, and the names
//! its messages use. Batching, retries, the spool and the breaker are the same for all.

use std::time::Duration;

/// What became of one request.
#[derive(Debug)]
pub(crate) enum Outcome {
    /// The events are in.
    Delivered,
    /// Accepted, but the peer refused `rejected` of the events in it (an OTLP partial
    /// success).
    Partial { rejected: u64, reason: String },
    /// The body, or some events in it, were refused. `suspects` are the indexes of the
    /// events the server named, if it named any.
    Rejected {
        status: u16,
        reason: String,
        suspects: Vec<usize>,
    },
    /// The credentials are not accepted.
    Unauthorized(u16),
    /// Another answer no retry can fix (404, 405, a redirect…): the address is wrong.
    Misdirected { status: u16, reason: String },
    /// Worth trying again (a busy server, transport errors).
    Retry {
        after: Option<Duration>,
        failure: Failure,
    },
}

/// Why a request should be retried.
// Without `upload` no request is made: only the HTTP client makes the transport failures.
#[cfg_attr(not(feature = "upload"), allow(dead_code))]
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

/// Judges an answer: its status, its `Retry-After` (already parsed) and the start of its
/// body.
pub(crate) type Judge = fn(status: u16, retry_after: Option<Duration>, body: &[u8]) -> Outcome;

/// One protocol, as the uploader needs to know it.
#[derive(Debug)]
pub(crate) struct Protocol {
    /// Who answers, in messages: "the API", "the OTLP collector".
    pub(crate) peer: &'static str,
    /// What the peer checks for access, in messages: "the token".
    pub(crate) credentials: &'static str,
    /// The variable that sets the credentials.
    pub(crate) credentials_var: &'static str,
    /// The variable that sets the address.
    pub(crate) address_var: &'static str,
    /// Whether a refused batch is split to find the bad events (only they are dropped), or
    /// dropped whole.
    pub(crate) split_rejected: bool,
    /// Read by the HTTP client, which a build without `upload` has not.
    #[cfg_attr(not(feature = "upload"), allow(dead_code))]
    pub(crate) judge: Judge,
}
