//! The documented behaviour of `POST /v1/metrics/trackEvents`, as a pure function of the request.

use serde_json::{Value, json};

use crate::otlp::OTLP_TRACES_PATH;
use crate::scan::{BodyError, RawEvent};
use crate::state::Outcome;
use crate::track_rules::request_violations;

/// The one route of the API, `POST https://api.trunk.io/v1/metrics/trackEvents`, as the
/// documentation spells it (not the runtime's constant: a client that drifts from the
/// documentation must get a 404 here).
pub const TRACK_EVENTS_PATH: &str = "/v1/metrics/trackEvents";

/// The body's media type the documentation's Headers table requires.
const JSON: &str = "application/json";

/// What the contract looks at, besides the body.
pub(crate) struct Head {
    pub(crate) is_post: bool,
    pub(crate) path_ok: bool,
    pub(crate) token_sent: bool,
    pub(crate) token_ok: bool,
    pub(crate) method: String,
    pub(crate) path: String,
    pub(crate) content_type: Option<String>,
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
    let mut violations = request_violations(&body);
    if !is_json(head.content_type.as_deref()) {
        violations.push(format!(
            "Content-Type: must be {JSON}, not {}",
            head.content_type.as_deref().unwrap_or("missing")
        ));
    }
    if !violations.is_empty() {
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

/// `application/json`, with or without parameters (`; charset=utf-8`), in any case.
fn is_json(content_type: Option<&str>) -> bool {
    content_type
        .and_then(|t| t.split(';').next())
        .is_some_and(|t| t.trim().eq_ignore_ascii_case(JSON))
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
