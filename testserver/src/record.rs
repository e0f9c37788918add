//! What the server remembers about each request.

use std::time::Instant;

use crate::Fault;

/// One request the server has read, whatever became of it (answered, rejected, faulted).
///
/// The `x-api-token` itself is never stored: only whether it matched (its entry in
/// [`headers`](Self::headers) reads `<redacted>`). Other headers, those an OTLP export must
/// carry included, are kept as sent so that tests can check them.
///
/// ```
/// use trunk_ci_analytics_testserver::TestServer;
///
/// let server = TestServer::start();
/// for record in server.requests() {
///     assert!(record.token_ok, "request {} had a bad token", record.seq);
/// }
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RequestRecord {
    /// Arrival number, counted from 0 since the server started (not reset by `clear_*`).
    pub seq: u64,
    /// Which TCP connection carried it, counted from 0 in accept order: requests sharing a
    /// number came over one kept-alive connection.
    pub connection: u64,
    /// When the server had read the whole request.
    pub received_at: Instant,
    /// HTTP method, e.g. `POST`.
    pub method: String,
    /// Request path without the query, e.g. `/v1/metrics/trackEvents`.
    pub path: String,
    /// The status answered; `None` while pending, and for good after a `Reset` or `Stall`.
    pub status: Option<u16>,
    /// The fault applied to this request, if any.
    pub fault: Option<Fault>,
    /// Number of elements of the body's `events` array (0 if the body has none or is not JSON),
    /// whether or not they were accepted.
    pub n_events: usize,
    /// The `id` of each element of `events` that has a string id, in body order.
    pub event_ids: Vec<String>,
    /// The `id` of each element of `events` with no `finishedAt`: the *started* event of one
    /// still running. Whatever the answer, so a refused started event shows too.
    pub started_ids: Vec<String>,
    /// `x-source` header.
    pub x_source: Option<String>,
    /// `User-Agent` header.
    pub user_agent: Option<String>,
    /// `Content-Type` header.
    pub content_type: Option<String>,
    /// `Content-Encoding` header (`gzip` for a compressed OTLP export).
    pub content_encoding: Option<String>,
    /// Every header, names in lowercase (grouped by name, names in order of first arrival),
    /// values as sent (lossy UTF-8) except `x-api-token`'s.
    pub headers: Vec<(String, String)>,
    /// Number of spans in an OTLP export's body (0 if it did not decode), whether or not they
    /// were accepted.
    pub n_spans: usize,
    /// Whether an `x-api-token` header was sent at all.
    pub token_sent: bool,
    /// Whether `x-api-token` matched the server's token.
    pub token_ok: bool,
    /// Length of the body in bytes.
    pub body_len: usize,
    /// Why the request was rejected (the `error` of a 4xx body), if it was.
    pub error: Option<String>,
    /// The contract rules the body broke (`path: rule`), as sent in a 400 body.
    pub violations: Vec<String>,
}
