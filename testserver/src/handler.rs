//! One request: read it whole, record it, then answer by the fault it drew or by the contract of
//! its route (trackEvents or OTLP traces).

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Instant;

use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::header::{
    ALLOW, CONTENT_ENCODING, CONTENT_TYPE, HeaderMap, HeaderValue, RETRY_AFTER, USER_AGENT,
};
use hyper::{Method, Request, Response, StatusCode};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;

use crate::contract::{self, Head, TRACK_EVENTS_PATH};
use crate::control::Control;
use crate::otlp::{self, OTLP_TRACES_PATH};
use crate::otlp_wire::{self, Encoding, Rejection};
use crate::scan::{self, BodyError, RawEvent};
use crate::span;
use crate::state::{Outcome, Shared};
use crate::{Fault, RequestRecord};

/// Bodies above this are answered 413: far above any sane batch, low enough to bound memory.
const MAX_BODY: usize = 64 << 20;

/// The header whose value the server never stores.
const TOKEN_HEADER: &str = "x-api-token";

pub(crate) type Answer = Response<Full<Bytes>>;

/// A read request, waiting for its route's judgement.
enum Pending {
    TrackEvents {
        head: Head,
        bytes: Bytes,
        scanned: Result<Vec<RawEvent>, BodyError>,
    },
    Otlp {
        head: otlp::Head,
        decoded: Result<ExportTraceServiceRequest, Rejection>,
    },
}

impl Pending {
    /// The answer by the route's contract, as if no fault had been drawn.
    fn judge(self, shared: &Shared, seq: u64) -> Outcome {
        match self {
            Pending::TrackEvents {
                head,
                bytes,
                scanned,
            } => contract::judge(&head, &bytes, scanned, shared.validate()),
            Pending::Otlp { head, decoded } => {
                let answer = head.answer;
                let outcome = otlp::judge(&head, decoded, shared.otlp(), seq);
                otlp::with_status_body(outcome, answer)
            }
        }
    }

    /// An answer made up by the server (a fault, an unreadable body), in the route's dialect.
    fn dress(&self, outcome: Outcome) -> Outcome {
        match self {
            Pending::TrackEvents { .. } => outcome,
            Pending::Otlp { head, .. } => otlp::with_status_body(outcome, head.answer),
        }
    }
}

pub(crate) async fn handle(
    request: Request<Incoming>,
    shared: Arc<Shared>,
    control: Arc<Control>,
    connection: u64,
) -> Result<Answer, Infallible> {
    let (parts, body) = request.into_parts();
    let (bytes, read_error) = match Limited::new(body, MAX_BODY).collect().await {
        Ok(collected) => (collected.to_bytes(), None),
        Err(e) if e.downcast_ref::<LengthLimitError>().is_some() => (
            Bytes::new(),
            Some((413, format!("body over {MAX_BODY} bytes"))),
        ),
        Err(e) => (
            Bytes::new(),
            Some((400, format!("cannot read the request body: {e}"))),
        ),
    };
    let token = parts.headers.get(TOKEN_HEADER);
    let content_type = header(&parts.headers, CONTENT_TYPE.as_str());
    let content_encoding = header(&parts.headers, CONTENT_ENCODING.as_str());
    let mut record = RequestRecord {
        seq: 0,
        connection,
        received_at: Instant::now(),
        method: parts.method.to_string(),
        path: parts.uri.path().to_owned(),
        status: None,
        fault: None,
        n_events: 0,
        event_ids: Vec::new(),
        started_ids: Vec::new(),
        x_source: header(&parts.headers, "x-source"),
        user_agent: header(&parts.headers, USER_AGENT.as_str()),
        content_type: content_type.clone(),
        content_encoding: content_encoding.clone(),
        headers: all_headers(&parts.headers),
        n_spans: 0,
        token_sent: token.is_some(),
        token_ok: token.is_some_and(|t| t.as_bytes() == shared.token().as_bytes()),
        body_len: bytes.len(),
        error: None,
        violations: Vec::new(),
    };
    let pending = if parts.uri.path() == OTLP_TRACES_PATH {
        let decoded =
            otlp_wire::decode(content_type.as_deref(), content_encoding.as_deref(), &bytes);
        record.n_spans = decoded.as_ref().map_or(0, span::count);
        Pending::Otlp {
            head: otlp::Head {
                is_post: parts.method == Method::POST,
                method: record.method.clone(),
                auth: otlp::authorize(&parts.headers, shared.otlp()),
                answer: Encoding::of(content_type.as_deref()).unwrap_or(Encoding::Json),
            },
            decoded,
        }
    } else {
        let scanned = scan::events(&bytes);
        if let Ok(events) = &scanned {
            record.n_events = events.len();
            record.event_ids = events.iter().filter_map(|e| e.id.clone()).collect();
            record.started_ids = events
                .iter()
                .filter(|e| !e.is_finished())
                .filter_map(|e| e.id.clone())
                .collect();
        }
        Pending::TrackEvents {
            head: Head {
                is_post: parts.method == Method::POST,
                path_ok: parts.uri.path() == TRACK_EVENTS_PATH,
                token_sent: record.token_sent,
                token_ok: record.token_ok,
                method: record.method.clone(),
                path: record.path.clone(),
                content_type: content_type.clone(),
            },
            bytes,
            scanned,
        }
    };
    let (seq, fault) = shared.arrive(record);
    if let Some((status, error)) = read_error {
        let outcome = pending.dress(Outcome::rejected(status, error));
        return Ok(reply(&shared, seq, outcome));
    }
    match fault {
        None => Ok(reply(&shared, seq, pending.judge(&shared, seq))),
        Some(Fault::Status(code)) => {
            let code = StatusCode::from_u16(code).map_or(500, |s| s.as_u16());
            let outcome = Outcome::rejected(code, format!("injected fault: status {code}"));
            Ok(reply(&shared, seq, pending.dress(outcome)))
        }
        Some(Fault::TooManyRequests(retry_after)) => {
            let outcome = Outcome::rejected(429, "injected fault: too many requests".to_owned());
            let mut answer = reply(&shared, seq, pending.dress(outcome));
            if let Ok(value) = HeaderValue::from_str(&retry_after.header_value()) {
                answer.headers_mut().insert(RETRY_AFTER, value);
            }
            Ok(answer)
        }
        Some(Fault::Reset) => {
            control.abort(true);
            std::future::pending().await
        }
        Some(Fault::Stall(duration)) => {
            tokio::time::sleep(duration).await;
            control.abort(false);
            std::future::pending().await
        }
        Some(Fault::Slow(duration)) => {
            // Judged and recorded on a task of its own, so the request counts even if the
            // client hangs up during the delay and hyper drops this future.
            let (tx, rx) = tokio::sync::oneshot::channel();
            tokio::spawn(async move {
                tokio::time::sleep(duration).await;
                let outcome = pending.judge(&shared, seq);
                let _ = tx.send(reply(&shared, seq, outcome));
            });
            match rx.await {
                Ok(answer) => Ok(answer),
                // Only when the server is shutting down: nothing left to answer with.
                Err(_) => std::future::pending().await,
            }
        }
    }
}

/// Records the outcome and turns it into the HTTP response.
fn reply(shared: &Shared, seq: u64, mut outcome: Outcome) -> Answer {
    let status = StatusCode::from_u16(outcome.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let (content_type, body) = match outcome.payload.take() {
        Some(payload) => (payload.content_type, payload.bytes),
        None => ("application/json", outcome.body().into_bytes()),
    };
    let mut answer = Response::new(Full::new(Bytes::from(body)));
    *answer.status_mut() = status;
    let headers = answer.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    if status == StatusCode::METHOD_NOT_ALLOWED {
        headers.insert(ALLOW, HeaderValue::from_static("POST"));
    }
    shared.answer(seq, outcome);
    answer
}

fn header(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
}

/// Every header as sent, but the API token's value.
fn all_headers(headers: &HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(name, value)| {
            let value = if name.as_str() == TOKEN_HEADER {
                "<redacted>".to_owned()
            } else {
                String::from_utf8_lossy(value.as_bytes()).into_owned()
            };
            (name.as_str().to_owned(), value)
        })
        .collect()
}
