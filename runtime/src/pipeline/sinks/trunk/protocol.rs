//! The `trackEvents` protocol: its request headers, and what its answers mean.

use std::time::Duration;

#[cfg(feature = "upload")]
use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderValue};

#[cfg(feature = "upload")]
use crate::config::Token;
use crate::pipeline::delivery::protocol::{Failure, Outcome, Protocol};

/// `x-source` of every request.
#[cfg(feature = "upload")]
pub(crate) const X_SOURCE: &str = "trunk-ci-analytics-rust";

pub(crate) static TRACK_EVENTS: Protocol = Protocol {
    peer: "the API",
    credentials: "the token",
    credentials_var: "TRUNK_API_TOKEN",
    address_var: "TRUNK_PUBLIC_API_ADDRESS",
    split_rejected: true,
    judge,
};

/// The headers of every request; the token's is marked sensitive.
#[cfg(feature = "upload")]
pub(crate) fn headers(token: &Token) -> Result<HeaderMap, String> {
    let mut token = HeaderValue::from_str(token.expose()).map_err(|_| {
        "TRUNK_API_TOKEN contains characters an HTTP header cannot carry (a stray newline?)"
            .to_owned()
    })?;
    token.set_sensitive(true);
    let mut headers = HeaderMap::new();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert("x-api-token", token);
    headers.insert("x-source", HeaderValue::from_static(X_SOURCE));
    Ok(headers)
}

fn judge(status: u16, after: Option<Duration>, body: &[u8]) -> Outcome {
    match status {
        200..=299 => Outcome::Delivered,
        400 | 413 | 422 => {
            let (reason, suspects) = reason_of(body);
            Outcome::Rejected {
                status,
                reason: if reason.is_empty() {
                    format!("HTTP {status}")
                } else {
                    reason
                },
                suspects,
            }
        }
        401 | 403 => Outcome::Unauthorized(status),
        408 | 429 | 500..=599 => Outcome::Retry {
            after,
            failure: Failure::Status(status),
        },
        _ => Outcome::Misdirected {
            status,
            reason: reason_of(body).0,
        },
    }
}

/// The `error` and `violations` of an error body `{"error": "…", "violations": […]}` (both
/// optional); `None` for a body of another shape.
fn error_body(body: &[u8]) -> Option<(Option<String>, Vec<serde_json::Value>)> {
    use serde_json::Value;
    let parsed: Value = serde_json::from_slice(body).ok()?;
    let object = parsed.as_object()?;
    let error = match object.get("error") {
        None | Some(Value::Null) => None,
        Some(Value::String(text)) => Some(text.clone()),
        Some(_) => return None,
    };
    let violations = match object.get("violations") {
        None => Vec::new(),
        Some(Value::Array(all)) => all.clone(),
        Some(_) => return None,
    };
    Some((error, violations))
}

/// The server's reason from an error body `{"error", "violations"}` (or its raw text), and the
/// indexes of the events its violations name (`events[3].sequence.platform: …`).
pub(crate) fn reason_of(body: &[u8]) -> (String, Vec<usize>) {
    let Some((error, violations)) = error_body(body) else {
        let text = String::from_utf8_lossy(body);
        return (text.trim().chars().take(300).collect(), Vec::new());
    };
    let violations: Vec<String> = violations
        .iter()
        .map(|v| match v {
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        })
        .collect();
    let suspects = violations
        .iter()
        .filter_map(|v| {
            let rest = v.strip_prefix("events[")?;
            rest[..rest.find(']')?].parse().ok()
        })
        .collect();
    let mut reason = error.unwrap_or_default();
    if !violations.is_empty() {
        if !reason.is_empty() {
            reason.push_str(": ");
        }
        reason.push_str(&violations.join("; "));
    }
    (reason, suspects)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_name_the_suspect_events() {
        let body = br#"{"error":"request body breaks 2 rule(s)","violations":["events[3].sequence.platform: must be snake_case","events[12].finishedAt: earlier than createdAt"]}"#;
        let (reason, suspects) = reason_of(body);
        assert_eq!(suspects, [3, 12]);
        assert!(
            reason.starts_with("request body breaks 2 rule(s): events[3]"),
            "{reason}"
        );
        let (reason, suspects) = reason_of(b"upstream says no");
        assert_eq!((reason.as_str(), suspects.len()), ("upstream says no", 0));
        let (_, suspects) =
            reason_of(br#"{"error":"x","violations":["repo.host: must be github.com"]}"#);
        assert!(suspects.is_empty());
    }

    #[test]
    fn answers_are_judged_by_the_api_contract() {
        assert!(matches!(judge(200, None, b""), Outcome::Delivered));
        assert!(matches!(judge(401, None, b""), Outcome::Unauthorized(401)));
        assert!(matches!(judge(500, None, b""), Outcome::Retry { .. }));
        assert!(matches!(judge(404, None, b""), Outcome::Misdirected { .. }));
        assert!(matches!(
            judge(400, None, b""),
            Outcome::Rejected { status: 400, .. }
        ));
    }

    #[cfg(feature = "upload")]
    #[test]
    fn the_token_stays_out_of_debug_output() {
        use crate::pipeline::delivery::http::Http;
        let token = Token::new("tca-unit-secret-42");
        let headers = headers(&token).unwrap_or_else(|e| panic!("{e}"));
        let http = Http::new(
            "http://127.0.0.1:9/v1/metrics/trackEvents".into(),
            headers,
            Duration::from_secs(1),
            TRACK_EVENTS.judge,
            false,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let text = format!("{http:?}");
        assert!(
            text.contains("127.0.0.1:9") && !text.contains("tca-unit-secret-42"),
            "{text}"
        );
        let bad = super::headers(&Token::new("a\nb"));
        assert!(bad.is_err_and(|e| e.contains("TRUNK_API_TOKEN") && !e.contains("a\nb")));
    }
}
