//! The documented behaviour of `POST /v1/metrics/trackEvents`, as a pure function of the request.

use serde_json::{Value, json};
use trunk_ci_analytics_runtime::validate::validate_request;

use crate::state::Outcome;

/// The one route of the API: `POST {base}/v1/metrics/trackEvents`.
pub const TRACK_EVENTS_PATH: &str = "/v1/metrics/trackEvents";

/// What the contract looks at, besides the body.
pub(crate) struct Head {
    pub(crate) is_post: bool,
    pub(crate) path_ok: bool,
    pub(crate) token_sent: bool,
    pub(crate) token_ok: bool,
    pub(crate) method: String,
    pub(crate) path: String,
}

/// The request body as read: parsed, or why it is not JSON.
pub(crate) type Body = Result<Value, String>;

/// Judges a request by the contract, in the order a real server checks: route, method, token,
/// body. Only a 200 carries accepted events; the token never appears in any message.
pub(crate) fn judge(head: &Head, body: Body) -> Outcome {
    if !head.path_ok {
        return Outcome::rejected(
            404,
            format!(
                "no route {}: the API has only POST {TRACK_EVENTS_PATH}",
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
    let body = match body {
        Ok(body) => body,
        Err(why) => {
            return Outcome::rejected(400, format!("request body is not valid JSON: {why}"));
        }
    };
    if !body.is_object() {
        return Outcome::rejected(
            400,
            format!(
                "request body must be a JSON object with repo and events, not {}",
                kind(&body)
            ),
        );
    }
    if let Err(violations) = validate_request(&body) {
        let violations: Vec<String> = violations.iter().map(ToString::to_string).collect();
        return Outcome {
            status: 400,
            error: Some(format!(
                "request body breaks {} rule(s) of the trackEvents contract",
                violations.len()
            )),
            violations,
            accepted: Vec::new(),
        };
    }
    let accepted = match body {
        Value::Object(mut fields) => match fields.remove("events") {
            Some(Value::Array(events)) => events,
            _ => Vec::new(),
        },
        _ => Vec::new(),
    };
    Outcome {
        status: 200,
        error: None,
        violations: Vec::new(),
        accepted,
    }
}

impl Outcome {
    pub(crate) fn rejected(status: u16, error: String) -> Outcome {
        Outcome {
            status,
            error: Some(error),
            violations: Vec::new(),
            accepted: Vec::new(),
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

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}
