//! The behaviour of `POST /v1/traces` (OTLP/HTTP), as a pure function of the request.

use hyper::HeaderMap;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;

use crate::otlp_config::OtlpConfig;
use crate::otlp_rules;
use crate::otlp_wire::{self, Encoding, Rejection};
use crate::span;
use crate::state::{Outcome, Payload};

/// The OTLP/HTTP traces route: `POST {OTEL_EXPORTER_OTLP_ENDPOINT}/v1/traces`.
pub const OTLP_TRACES_PATH: &str = "/v1/traces";

/// What the endpoint looks at, besides the body.
pub(crate) struct Head {
    pub(crate) is_post: bool,
    pub(crate) method: String,
    /// Whether the required headers came, or which one did not (never its value).
    pub(crate) auth: Result<(), String>,
    /// The encoding to answer in: the request's, JSON if it named none that OTLP knows.
    pub(crate) answer: Encoding,
}

/// Checks the headers `config` requires; the message names the header, never a value.
pub(crate) fn authorize(headers: &HeaderMap, config: &OtlpConfig) -> Result<(), String> {
    for (name, value) in &config.required_headers {
        match headers.get(name.as_str()) {
            None => return Err(format!("missing required header {name}")),
            Some(sent) if sent.as_bytes() != value.as_bytes() => {
                return Err(format!("wrong value for required header {name}"));
            }
            Some(_) => {}
        }
    }
    Ok(())
}

/// Judges an export in the order a collector checks: method, authentication, body, spans.
/// Only a 200 carries spans on as accepted, and then all of them.
pub(crate) fn judge(
    head: &Head,
    decoded: Result<ExportTraceServiceRequest, Rejection>,
    config: &OtlpConfig,
    seq: u64,
) -> Outcome {
    if !head.is_post {
        return Outcome::rejected(405, format!("method {} not allowed: use POST", head.method));
    }
    if let Err(why) = &head.auth {
        return Outcome::rejected(401, why.clone());
    }
    let request = match decoded {
        Ok(request) => request,
        Err((status, why)) => return Outcome::rejected(status, why),
    };
    let violations = otlp_rules::violations(&request);
    if !violations.is_empty() {
        return Outcome {
            error: Some(format!(
                "{} broken rule(s) of OTLP spans: {}",
                violations.len(),
                violations.join("; ")
            )),
            violations,
            ..Outcome::rejected(400, String::new())
        };
    }
    Outcome {
        spans: span::flatten(seq, request),
        payload: Some(Payload {
            content_type: head.answer.content_type(),
            bytes: otlp_wire::success(head.answer, config.partial_success.as_ref()),
        }),
        ..Outcome::accepted(Vec::new())
    }
}

/// Gives an answer without a body of its own (an error, a fault) the `google.rpc.Status` body
/// OTLP/HTTP clients expect, in the encoding `answer`.
pub(crate) fn with_status_body(mut outcome: Outcome, answer: Encoding) -> Outcome {
    if outcome.payload.is_none() {
        let message = outcome.error.as_deref().unwrap_or("");
        outcome.payload = Some(Payload {
            content_type: answer.content_type(),
            bytes: otlp_wire::status(answer, outcome.status, message),
        });
    }
    outcome
}
