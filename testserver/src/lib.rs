//! A loopback server that speaks the Trunk CI Analytics `trackEvents` contract, records every
//! request and event it receives, and fails on demand.
//!
//! It answers `POST /v1/metrics/trackEvents` like the documented API: 401 for a missing or
//! wrong `x-api-token`, 400 with `{"error", "violations"}` for a body that is not JSON, is not
//! sent as `application/json`, or breaks a rule of the documentation
//! ([`request_violations`]: the server's own reading of the API page, sharing no code with
//! the runtime it judges), 200 `{}` after recording the events otherwise; 404 for other paths,
//! 405 for other methods. [`Fault`]s simulate what a real network does: 5xx, 429 with
//! `Retry-After`, resets, hangs, slowness; a [`ClosedPort`] is an endpoint that is down.
//!
//! It also answers `POST /v1/traces` like an OTLP/HTTP collector
//! ([OTLP specification](https://opentelemetry.io/docs/specs/otlp/)), so that tests can check an
//! OTLP export with the official decoders:
//!
//! - `Content-Type: application/x-protobuf` bodies are decoded as `ExportTraceServiceRequest`
//!   by [`opentelemetry_proto`]'s prost types; `application/json` bodies by its serde mapping of
//!   OTLP/JSON (hex trace and span ids, lowerCamelCase keys, enums as integers, 64-bit integers
//!   as strings or numbers, unknown fields ignored). `Content-Encoding: gzip` is inflated.
//! - Strict: 400 when the body does not decode or a span breaks a rule (trace id not 16 bytes
//!   or all zero, span id not 8 bytes or zero, parent span id neither empty nor 8 bytes, end
//!   before start, empty name, kind or status code out of range), 415 for another content type
//!   or encoding, 405 for another method. Error answers carry a `google.rpc.Status`
//!   ([`RpcStatus`]) saying what is wrong, in the request's encoding. A rejected export records
//!   no span at all.
//! - Any export is accepted unless [`Builder::otlp_require_header`] asks for headers (401
//!   without them). `x-api-token` is not checked on this route.
//! - 200 answers are an `ExportTraceServiceResponse` in the request's encoding, with
//!   `partial_success` if [`Builder::otlp_partial_success`] set one.
//! - [`Fault`]s apply to it exactly as to trackEvents.
//! - Accepted spans are kept as [`ReceivedSpan`]s (resource, scope, the official `Span`):
//!   [`TestServer::spans`], [`TestServer::wait_for_spans`]. [`RequestRecord`] shows path,
//!   content type and encoding, and headers of every request.
//!
//! ```
//! use std::io::{Read, Write};
//! use std::time::Duration;
//! use trunk_ci_analytics_testserver::opentelemetry_proto::tonic::collector::trace::v1::{
//!     ExportTraceServiceRequest, ExportTraceServiceResponse,
//! };
//! use trunk_ci_analytics_testserver::opentelemetry_proto::tonic::trace::v1::{
//!     ResourceSpans, ScopeSpans, Span,
//! };
//! use trunk_ci_analytics_testserver::prost::Message;
//! use trunk_ci_analytics_testserver::TestServer;
//!
//! let server = TestServer::builder().otlp_require_header("x-otlp-secret", "s3cret").start()?;
//! let span = Span {
//!     trace_id: vec![0x5b; 16],
//!     span_id: vec![0xee; 8],
//!     name: "build".to_owned(),
//!     start_time_unix_nano: 1_700_000_000_000_000_000,
//!     end_time_unix_nano: 1_700_000_001_000_000_000,
//!     ..Span::default()
//! };
//! let body = ExportTraceServiceRequest {
//!     resource_spans: vec![ResourceSpans {
//!         scope_spans: vec![ScopeSpans { spans: vec![span], ..ScopeSpans::default() }],
//!         ..ResourceSpans::default()
//!     }],
//! }
//! .encode_to_vec();
//! let mut tcp = std::net::TcpStream::connect(server.addr())?;
//! write!(
//!     tcp,
//!     "POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-protobuf\r\n\
//!      x-otlp-secret: s3cret\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
//!     body.len(),
//! )?;
//! tcp.write_all(&body)?;
//! let mut answer = Vec::new();
//! tcp.read_to_end(&mut answer)?;
//! assert!(answer.starts_with(b"HTTP/1.1 200"));
//! let at = answer.windows(4).position(|w| w == b"\r\n\r\n").map_or(0, |at| at + 4);
//! let response = ExportTraceServiceResponse::decode(&answer[at..])?;
//! assert_eq!(response.partial_success, None);
//!
//! assert!(server.wait_for_spans(1, Duration::from_secs(5)));
//! let spans = server.spans();
//! assert_eq!(spans[0].span.name, "build");
//! assert_eq!(spans[0].span_id_hex(), "eeeeeeeeeeeeeeee");
//! assert!(server.requests()[0].headers.contains(&("x-otlp-secret".into(), "s3cret".into())));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! The server runs on its own thread, so plain synchronous tests use it; dropping it stops it
//! at once, even with a connection stalled.
//!
//! Benchmarks: build the server with [`Builder::validate`]`(false)`. Validation needs a JSON
//! tree of each body and costs ~14 µs per event on a busy 2-core machine (`cargo bench -p
//! trunk-ci-analytics-testserver`), enough to make the server the bottleneck; without it the
//! server takes ~2 µs per event.
//!
//! ```
//! use std::io::{Read, Write};
//! use std::time::Duration;
//! use trunk_ci_analytics_testserver::TestServer;
//!
//! let server = TestServer::start();
//! let body = r#"{"repo":{"host":"github.com","owner":"o","name":"r"},"events":[{"id":"e1","chainId":"e1","createdAt":1700000000000}]}"#;
//! let mut tcp = std::net::TcpStream::connect(server.url().trim_start_matches("http://"))?;
//! write!(
//!     tcp,
//!     "POST /v1/metrics/trackEvents HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
//!      x-api-token: {}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
//!     server.token(),
//!     body.len(),
//! )?;
//! let mut answer = String::new();
//! tcp.read_to_string(&mut answer)?;
//! assert!(answer.starts_with("HTTP/1.1 200"));
//! assert!(server.wait_for_events(1, Duration::from_secs(5)));
//! assert_eq!(server.event_ids(), ["e1"]);
//! # Ok::<(), std::io::Error>(())
//! ```

mod closed_port;
mod conn;
mod contract;
mod control;
mod fault;
mod handler;
mod otlp;
mod otlp_config;
mod otlp_rules;
mod otlp_wire;
mod record;
mod scan;
mod span;
mod state;
mod track_rules;

use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use serde_json::Value;

pub use closed_port::ClosedPort;
pub use contract::TRACK_EVENTS_PATH;
pub use fault::{Fault, RetryAfter};
/// The official OTLP message types the server decodes with: build request bodies and read
/// [`ReceivedSpan`]s with this very version.
pub use opentelemetry_proto;
pub use otlp::OTLP_TRACES_PATH;
pub use otlp_wire::RpcStatus;
/// The protobuf runtime of [`opentelemetry_proto`]: its `Message` trait encodes and decodes.
pub use prost;
pub use record::RequestRecord;
pub use span::ReceivedSpan;
pub use track_rules::{event_violations, request_violations};

use opentelemetry_proto::tonic::collector::trace::v1::ExportTracePartialSuccess;
use otlp_config::OtlpConfig;
use scan::RawEvent;
use state::Shared;

/// The token [`TestServer::start`] expects in `x-api-token`.
pub const DEFAULT_TOKEN: &str = "test-token";

/// Longest wait for the server thread to set up its runtime.
const STARTUP_LIMIT: Duration = Duration::from_secs(10);

/// Longest wait for the server thread to wind up its tasks when the server is dropped.
const SHUTDOWN_GRACE: Duration = Duration::from_millis(500);

/// A running loopback contract (and OTLP/HTTP traces) server; dropping it shuts it down.
///
/// ```
/// use std::time::Duration;
/// use trunk_ci_analytics_testserver::TestServer;
///
/// let server = TestServer::start_with_token("s3cret");
/// assert!(server.url().starts_with("http://127.0.0.1:"));
/// assert_eq!(server.token(), "s3cret");
/// assert!(!server.wait_for_events(1, Duration::from_millis(1)));
/// ```
pub struct TestServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for TestServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // No token: it must not reach any output, test token or not.
        f.debug_struct("TestServer")
            .field("url", &self.url())
            .finish_non_exhaustive()
    }
}

impl TestServer {
    /// Starts a server on `127.0.0.1` and an ephemeral port, expecting [`DEFAULT_TOKEN`].
    ///
    /// Panics if it cannot bind or spawn its thread: it is meant for tests. Use
    /// [`TestServer::builder`] to handle the error.
    pub fn start() -> TestServer {
        TestServer::start_with_token(DEFAULT_TOKEN)
    }

    /// Starts a server on `127.0.0.1` and an ephemeral port, expecting `token`.
    ///
    /// Panics if it cannot bind or spawn its thread, like [`TestServer::start`].
    pub fn start_with_token(token: &str) -> TestServer {
        match TestServer::builder().token(token).start() {
            Ok(server) => server,
            Err(e) => panic!("cannot start the loopback test server: {e}"),
        }
    }

    /// A builder for the less common settings (fixed port, validation off, observer).
    ///
    /// ```
    /// use trunk_ci_analytics_testserver::TestServer;
    ///
    /// let server = TestServer::builder().token("t").start()?;
    /// assert_eq!(server.token(), "t");
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn builder() -> Builder {
        Builder::default()
    }

    /// Base URL, `http://127.0.0.1:PORT`; clients POST to `{url}/v1/metrics/trackEvents`, and
    /// OTLP exporters to `{url}/v1/traces` (`OTEL_EXPORTER_OTLP_ENDPOINT={url}`).
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The full endpoint, `{url}/v1/metrics/trackEvents`.
    ///
    /// ```
    /// use trunk_ci_analytics_testserver::TestServer;
    ///
    /// let server = TestServer::start();
    /// assert_eq!(server.endpoint(), format!("{}/v1/metrics/trackEvents", server.url()));
    /// ```
    pub fn endpoint(&self) -> String {
        format!("{}{TRACK_EVENTS_PATH}", self.url())
    }

    /// The socket address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The token the server expects in `x-api-token`.
    pub fn token(&self) -> String {
        self.shared.token().to_owned()
    }

    /// Every accepted event (wire JSON), in arrival order, duplicates kept.
    pub fn events(&self) -> Vec<Value> {
        self.events_since(0)
    }

    /// Accepted events from position `start` on: cheaper than [`events`](Self::events) for
    /// following a long run.
    pub fn events_since(&self, start: usize) -> Vec<Value> {
        self.shared
            .lock()
            .events
            .get(start..)
            .map_or_else(Vec::new, |events| {
                events.iter().map(RawEvent::parse).collect()
            })
    }

    /// Number of accepted events, duplicates included.
    pub fn event_count(&self) -> usize {
        self.shared.lock().events.len()
    }

    /// The `id` of every accepted event, in arrival order, duplicates kept (events without a
    /// string id are skipped).
    pub fn event_ids(&self) -> Vec<String> {
        self.shared
            .lock()
            .events
            .iter()
            .filter_map(|e| e.id.clone())
            .collect()
    }

    /// Ids of finished events accepted more than once, each listed once, in the order they
    /// became duplicates. A *started* event (no `finishedAt`) followed by its finished one
    /// is the API's upsert by id, not a duplicate.
    pub fn duplicate_ids(&self) -> Vec<String> {
        self.shared.lock().duplicates.clone()
    }

    /// Every request read, in arrival order, including rejected and faulted ones.
    pub fn requests(&self) -> Vec<RequestRecord> {
        self.shared.lock().requests.clone()
    }

    /// Waits until at least `n` events were accepted; `false` if `timeout` passed first.
    pub fn wait_for_events(&self, n: usize, timeout: Duration) -> bool {
        self.shared
            .wait_until(timeout, |state| state.events.len() >= n)
    }

    /// Waits until at least `n` requests were read (answered or not); `false` if `timeout`
    /// passed first. Useful to know a faulted request has arrived.
    pub fn wait_for_requests(&self, n: usize, timeout: Duration) -> bool {
        self.shared
            .wait_until(timeout, |state| state.requests.len() >= n)
    }

    /// Applies `fault` to each of the next `times` requests, after faults injected earlier.
    /// Queued faults come before a persistent one.
    pub fn inject(&self, fault: Fault, times: usize) {
        self.shared.inject(fault, times);
    }

    /// Applies `fault` to every request (not taken by a queued fault) until set to `None`.
    ///
    /// ```
    /// use trunk_ci_analytics_testserver::{Fault, TestServer};
    ///
    /// let server = TestServer::start();
    /// server.set_persistent(Some(Fault::Status(503))); // the endpoint is down...
    /// server.set_persistent(None); // ...and back.
    /// ```
    pub fn set_persistent(&self, fault: Option<Fault>) {
        self.shared.set_persistent(fault);
    }

    /// The OTLP traces endpoint, `{url}/v1/traces`. An OpenTelemetry SDK finds it from
    /// `OTEL_EXPORTER_OTLP_ENDPOINT={url}`.
    ///
    /// ```
    /// use trunk_ci_analytics_testserver::TestServer;
    ///
    /// let server = TestServer::start();
    /// assert_eq!(server.otlp_traces_endpoint(), format!("{}/v1/traces", server.url()));
    /// ```
    pub fn otlp_traces_endpoint(&self) -> String {
        format!("{}{OTLP_TRACES_PATH}", self.url())
    }

    /// Every span accepted on `/v1/traces`, in arrival order (body order within a request).
    pub fn spans(&self) -> Vec<ReceivedSpan> {
        self.shared.lock().spans.clone()
    }

    /// Number of spans accepted on `/v1/traces`.
    pub fn span_count(&self) -> usize {
        self.shared.lock().spans.len()
    }

    /// Waits until at least `n` spans were accepted; `false` if `timeout` passed first.
    pub fn wait_for_spans(&self, n: usize, timeout: Duration) -> bool {
        self.shared
            .wait_until(timeout, |state| state.spans.len() >= n)
    }

    /// Forgets the accepted spans; requests and events stay.
    pub fn clear_spans(&self) {
        self.shared.clear_spans();
    }

    /// Forgets the accepted events (and which were duplicates); requests stay.
    pub fn clear_events(&self) {
        self.shared.clear_events();
    }

    /// Forgets the recorded requests; events stay.
    pub fn clear_requests(&self) {
        self.shared.clear_requests();
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        // Dropping the sender wakes the server thread, which drops every connection task.
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Settings for a [`TestServer`] beyond the token.
pub struct Builder {
    token: String,
    port: u16,
    validate: bool,
    observer: Option<state::Observer>,
    otlp: OtlpConfig,
    span_observer: Option<state::SpanObserver>,
}

impl Default for Builder {
    fn default() -> Builder {
        Builder {
            token: DEFAULT_TOKEN.to_owned(),
            port: 0,
            validate: true,
            observer: None,
            otlp: OtlpConfig::default(),
            span_observer: None,
        }
    }
}

impl std::fmt::Debug for Builder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Builder")
            .field("port", &self.port)
            .field("validate", &self.validate)
            .field("observer", &self.observer.is_some())
            // Names only: the values are secrets to the tests that set them.
            .field(
                "otlp_required_headers",
                &self
                    .otlp
                    .required_headers
                    .iter()
                    .map(|(name, _)| name)
                    .collect::<Vec<_>>(),
            )
            .field("otlp_partial_success", &self.otlp.partial_success)
            .field("span_observer", &self.span_observer.is_some())
            .finish_non_exhaustive()
    }
}

impl Builder {
    /// The token to expect in `x-api-token` (default [`DEFAULT_TOKEN`]).
    pub fn token(mut self, token: &str) -> Builder {
        token.clone_into(&mut self.token);
        self
    }

    /// The port to listen on, on `127.0.0.1` (default 0: an ephemeral port).
    pub fn port(mut self, port: u16) -> Builder {
        self.port = port;
        self
    }

    /// Whether to check every body against the rules of the wire contract (default `true`).
    ///
    /// Benchmarks turn it off so that the server, sharing the cores with the uploader it
    /// measures, costs much less per event than the uploader: building the JSON tree the
    /// validator needs costs several times what finding the events does. Route, token, JSON
    /// syntax and the object shape of the body are checked either way.
    ///
    /// ```
    /// use trunk_ci_analytics_testserver::TestServer;
    ///
    /// let server = TestServer::builder().validate(false).start()?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn validate(mut self, validate: bool) -> Builder {
        self.validate = validate;
        self
    }

    /// Calls `observer` on the server thread after each answered request, with its record and
    /// the events it accepted. Keep it quick: the server waits for it.
    ///
    /// ```
    /// use trunk_ci_analytics_testserver::TestServer;
    ///
    /// let server = TestServer::builder()
    ///     .observe(|record, events| eprintln!("{:?} {} events", record.status, events.len()))
    ///     .start()?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn observe(
        mut self,
        observer: impl Fn(&RequestRecord, &[Value]) + Send + Sync + 'static,
    ) -> Builder {
        self.observer = Some(Box::new(observer));
        self
    }

    /// Requires every OTLP export (`/v1/traces`) to carry header `name` with exactly `value`;
    /// exports without it are answered 401. By default any export is accepted. Call once per
    /// header; `x-api-token` still guards only trackEvents.
    ///
    /// ```
    /// use trunk_ci_analytics_testserver::TestServer;
    ///
    /// let server = TestServer::builder().otlp_require_header("x-otlp-secret", "s3cret").start()?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn otlp_require_header(mut self, name: &str, value: &str) -> Builder {
        self.otlp
            .required_headers
            .push((name.to_ascii_lowercase(), value.to_owned()));
        self
    }

    /// Answers every accepted OTLP export with `partial_success` set to `rejected_spans` and
    /// `error_message`, to test how a client handles a partial success. The server still
    /// records every span of the export.
    ///
    /// ```
    /// use trunk_ci_analytics_testserver::TestServer;
    ///
    /// let server = TestServer::builder()
    ///     .otlp_partial_success(2, "2 spans were too old")
    ///     .start()?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn otlp_partial_success(mut self, rejected_spans: i64, error_message: &str) -> Builder {
        self.otlp.partial_success = Some(ExportTracePartialSuccess {
            rejected_spans,
            error_message: error_message.to_owned(),
        });
        self
    }

    /// Calls `observer` on the server thread after each answered request, with its record and
    /// the spans it accepted (none unless an OTLP export was accepted). Keep it quick: the
    /// server waits for it.
    ///
    /// ```
    /// use trunk_ci_analytics_testserver::TestServer;
    ///
    /// let server = TestServer::builder()
    ///     .observe_spans(|_, spans| {
    ///         for span in spans {
    ///             eprintln!("{} {}", span.span_id_hex(), span.span.name);
    ///         }
    ///     })
    ///     .start()?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn observe_spans(
        mut self,
        observer: impl Fn(&RequestRecord, &[ReceivedSpan]) + Send + Sync + 'static,
    ) -> Builder {
        self.span_observer = Some(Box::new(observer));
        self
    }

    /// Binds and starts serving on a thread of its own.
    pub fn start(self) -> std::io::Result<TestServer> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, self.port))?;
        self.serve(listener)
    }

    /// Starts serving on the port `down` held closed until now (the port set with
    /// [`port`](Self::port) is not used): an endpoint that comes back where clients already
    /// know it, with no moment in which another socket could take its port.
    pub fn start_on(self, down: ClosedPort) -> std::io::Result<TestServer> {
        let listener = down.listen()?;
        self.serve(listener)
    }

    fn serve(self, listener: TcpListener) -> std::io::Result<TestServer> {
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared::new(
            self.token,
            self.validate,
            self.observer,
            self.otlp,
            self.span_observer,
        ));
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let (ready_tx, ready) = std::sync::mpsc::sync_channel(1);
        let serving = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name(format!("testserver-{}", addr.port()))
            .spawn(move || {
                // Built and dropped here, never on the caller's thread, which may be inside
                // an async runtime of its own (where dropping a runtime panics).
                let setup = tokio::runtime::Builder::new_current_thread()
                    .enable_io()
                    .enable_time()
                    .build()
                    .and_then(|runtime| {
                        let listener = {
                            let _entered = runtime.enter();
                            tokio::net::TcpListener::from_std(listener)?
                        };
                        Ok((runtime, listener))
                    });
                let (runtime, listener) = match setup {
                    Ok(ready) => {
                        let _ = ready_tx.send(Ok(()));
                        ready
                    }
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        return;
                    }
                };
                runtime.block_on(async move {
                    tokio::select! {
                        () = conn::accept_loop(listener, serving) => {}
                        _ = stopped => {}
                    }
                });
                // Drops every connection task, stalled ones included.
                runtime.shutdown_timeout(SHUTDOWN_GRACE);
            })?;
        match ready.recv_timeout(STARTUP_LIMIT) {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(e),
            Err(_) => {
                return Err(std::io::Error::other(
                    "the server thread did not start its runtime",
                ));
            }
        }
        Ok(TestServer {
            addr,
            shared,
            stop: Some(stop),
            thread: Some(thread),
        })
    }
}
