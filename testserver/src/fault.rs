//! The failures a test can ask the server to simulate.

use std::time::{Duration, SystemTime};

/// A failure the server applies to a request instead of (or before) its normal answer.
///
/// Faults act before routing and authentication, like a load balancer or an overloaded
/// backend would: the request is read completely, recorded, then the fault decides what
/// the client sees. Queue them with [`TestServer::inject`](crate::TestServer::inject) or
/// keep one with [`TestServer::set_persistent`](crate::TestServer::set_persistent).
///
/// ```
/// use std::time::Duration;
/// use trunk_ci_analytics_testserver::{Fault, RetryAfter, TestServer};
///
/// let server = TestServer::start();
/// server.inject(Fault::Status(503), 2);
/// server.inject(Fault::TooManyRequests(RetryAfter::Seconds(1)), 1);
/// server.inject(Fault::Stall(Duration::from_millis(200)), 1);
/// // The next four requests get 503, 503, 429 and silence; the fifth is answered normally.
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Answer with this status and a small JSON error body; the events are not recorded.
    /// A code outside 100..=999 is answered as 500.
    Status(u16),
    /// Answer `429 Too Many Requests` with a `Retry-After` header; the events are not recorded.
    TooManyRequests(RetryAfter),
    /// Read the request, then abort the connection with a TCP RST (`SO_LINGER` 0): the client
    /// gets "connection reset" and no response.
    Reset,
    /// Read the request, answer nothing for this long, then close the connection (FIN, no
    /// response): what a hanging endpoint looks like to a client with a timeout.
    Stall(Duration),
    /// Wait this long, then record the events and answer normally. The events are recorded
    /// after the delay even if the client has given up by then, as a real server finishes a
    /// request whose client timed out; a client that retries then produces duplicates.
    Slow(Duration),
}

/// The value of a `Retry-After` header, in either of its two HTTP forms.
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use trunk_ci_analytics_testserver::RetryAfter;
///
/// assert_eq!(RetryAfter::Seconds(3).header_value(), "3");
/// let at = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
/// assert_eq!(RetryAfter::HttpDate(at).header_value(), "Tue, 14 Nov 2023 22:13:20 GMT");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RetryAfter {
    /// `Retry-After: <seconds>`.
    Seconds(u64),
    /// `Retry-After: <IMF-fixdate>` (whole seconds, GMT).
    HttpDate(SystemTime),
}

impl RetryAfter {
    /// The header value exactly as the server sends it.
    pub fn header_value(&self) -> String {
        match self {
            RetryAfter::Seconds(secs) => secs.to_string(),
            RetryAfter::HttpDate(at) => httpdate::fmt_http_date(*at),
        }
    }
}
