//! The documented behaviour of `POST /v1/metrics/trackEvents`, as a pure function of the request.

use serde_json::{Value, json};
use trunk_ci_analytics_runtime::validate::validate_request;

use crate::otlp::OTLP_TRACES_PATH;
use crate::scan::{BodyError, RawEvent};
use crate::state::Outcome;

/// The one route of the API, `POST {base}/v1/metrics/trackEvents`: the runtime's own
/// constant, so client and server cannot drift apart.
pub use trunk_ci_analytics_runtime::wire::TRACK_EVENTS_PATH;

/// What the contract looks at, besides the body.
pub(crate) struct Head {
    pub(crate) is_post: bool,
    pub(crate) path_ok: bool,
    pub(crate) token_sent: bool,
    pub(crate) token_ok: bool,
    pub(crate) method: String,
    pub(crate) path: String,
}

/// Judges a request by the contract, in the order a real server checks: route, method, token,
/// body. `scanned` is the body as [`scan`](crate::scan) saw it; only a 200 carries its events
/// on as accepted. With `validate` off, the rules of the wire contract are not checked (JSON
/// syntax and the object shape still are). The token never appears in any message.
pub(crate) fn judge(
    head: &Head,
    body: &[u8],
    scanned: Result<Vec<RawEvent>, BodyError>,
    validate: bool,
) -> Outcome {
    if !head.path_ok {
        return Outcome::rejected(
            404,
            format!(
                "no route {}: the API has only POST {TRACK_EVENTS_PATH} (and POST {OTLP_TRACES_PATH})",
                head.path
            ),
        );
    }
    if !head.is_post {
        return Outcome::rejected(405, format!("method {} not allowed: use POST", head.method));
    }
    if !head.token_sent {
        return Outcome::rejected(401, "missing x-api-token header".to_owned());
    }
    if !head.token_ok {
        return Outcome::rejected(401, "invalid x-api-token".to_owned());
    }
    let events = match scanned {
        Ok(events) => events,
        Err(BodyError::NotJson(e)) => {
            return Outcome::rejected(400, format!("request body is not valid JSON: {e}"));
        }
        Err(BodyError::NotObject(kind)) => {
            return Outcome::rejected(
                400,
                format!("request body must be a JSON object with repo and events, not {kind}"),
            );
        }
    };
    if !validate {
        return Outcome::accepted(events);
    }
    // The tree lives only for validation; events are kept as text (see `scan`).
    let body: Value = match serde_json::from_slice(body) {
        Ok(body) => body,
        Err(e) => return Outcome::rejected(400, format!("request body is not valid JSON: {e}")),
    };
    if let Err(violations) = validate_request(&body) {
        let violations: Vec<String> = violations.iter().map(ToString::to_string).collect();
        return Outcome {
            status: 400,
            error: Some(format!(
                "request body breaks {} rule(s) of the trackEvents contract",
                violations.len()
            )),
            violations,
            ..Outcome::rejected(400, String::new())
        };
    }
    Outcome::accepted(events)
}

impl Outcome {
    pub(crate) fn accepted(events: Vec<RawEvent>) -> Outcome {
        Outcome {
            status: 200,
            error: None,
            violations: Vec::new(),
            accepted: events,
            spans: Vec::new(),
            payload: None,
        }
    }

    pub(crate) fn rejected(status: u16, error: String) -> Outcome {
        Outcome {
            status,
            error: Some(error),
            violations: Vec::new(),
            accepted: Vec::new(),
            spans: Vec::new(),
            payload: None,
        }
    }

    /// The response body: `{}` for success, `{"error", "violations"}` for a 400, `{"error"}`
    /// otherwise.
    pub(crate) fn body(&self) -> String {
        match (&self.error, self.status) {
            (None, _) => "{}".to_owned(),
            (Some(error), 400) => {
                json!({ "error": error, "violations": self.violations }).to_string()
            }
            (Some(error), _) => json!({ "error": error }).to_string(),
        }
    }
}
