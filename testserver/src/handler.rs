//! One request: read it whole, record it, then answer by the fault it drew or by the contract.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Instant;

use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::header::{ALLOW, CONTENT_TYPE, HeaderMap, HeaderValue, RETRY_AFTER, USER_AGENT};
use hyper::{Method, Request, Response, StatusCode};

use crate::contract::{self, Head, TRACK_EVENTS_PATH};
use crate::control::Control;
use crate::scan;
use crate::state::{Outcome, Shared};
use crate::{Fault, RequestRecord};

/// Bodies above this are answered 413: far above any sane batch, low enough to bound memory.
const MAX_BODY: usize = 64 << 20;

pub(crate) type Answer = Response<Full<Bytes>>;

pub(crate) async fn handle(
    request: Request<Incoming>,
    shared: Arc<Shared>,
    control: Arc<Control>,
    connection: u64,
) -> Result<Answer, Infallible> {
    let (parts, body) = request.into_parts();
    let token = parts.headers.get("x-api-token");
    let head = Head {
        is_post: parts.method == Method::POST,
        path_ok: parts.uri.path() == TRACK_EVENTS_PATH,
        token_sent: token.is_some(),
        token_ok: token.is_some_and(|t| t.as_bytes() == shared.token().as_bytes()),
        method: parts.method.to_string(),
        path: parts.uri.path().to_owned(),
    };
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
    let scanned = scan::events(&bytes);
    let no_events = Vec::new();
    let events = scanned.as_ref().unwrap_or(&no_events);
    let record = RequestRecord {
        seq: 0,
        connection,
        received_at: Instant::now(),
        method: head.method.clone(),
        path: head.path.clone(),
        status: None,
        fault: None,
        n_events: events.len(),
        event_ids: events.iter().filter_map(|e| e.id.clone()).collect(),
        x_source: header(&parts.headers, "x-source"),
        user_agent: header(&parts.headers, USER_AGENT.as_str()),
        content_type: header(&parts.headers, CONTENT_TYPE.as_str()),
        token_sent: head.token_sent,
        token_ok: head.token_ok,
        body_len: bytes.len(),
        error: None,
        violations: Vec::new(),
    };
    let (seq, fault) = shared.arrive(record);
    if let Some((status, error)) = read_error {
        return Ok(reply(&shared, seq, Outcome::rejected(status, error)));
    }
    match fault {
        None => Ok(reply(
            &shared,
            seq,
            contract::judge(&head, &bytes, scanned, shared.validate()),
        )),
        Some(Fault::Status(code)) => {
            let code = StatusCode::from_u16(code).map_or(500, |s| s.as_u16());
            let outcome = Outcome::rejected(code, format!("injected fault: status {code}"));
            Ok(reply(&shared, seq, outcome))
        }
        Some(Fault::TooManyRequests(retry_after)) => {
            let outcome = Outcome::rejected(429, "injected fault: too many requests".to_owned());
            let mut answer = reply(&shared, seq, outcome);
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
            // Judged and recorded on a task of its own, so the events count even if the client
            // hangs up during the delay and hyper drops this future.
            let (tx, rx) = tokio::sync::oneshot::channel();
            tokio::spawn(async move {
                tokio::time::sleep(duration).await;
                let _ = tx.send(reply(
                    &shared,
                    seq,
                    contract::judge(&head, &bytes, scanned, shared.validate()),
                ));
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
fn reply(shared: &Shared, seq: u64, outcome: Outcome) -> Answer {
    let status = StatusCode::from_u16(outcome.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut answer = Response::new(Full::new(Bytes::from(outcome.body())));
    *answer.status_mut() = status;
    let headers = answer.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
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
