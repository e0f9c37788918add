//! The OTLP/HTTP protocol: its request headers, and what a collector's answers mean
//! (OTLP specification, "OTLP/HTTP Response"): a partial success counts the refused spans,
//! 400 drops the batch, 429/502/503/504 are retried honouring `Retry-After`.

use std::time::Duration;

#[cfg(feature = "upload")]
use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};

#[cfg(feature = "upload")]
use crate::config::otlp::{Headers, OtlpProtocol};
use crate::pipeline::delivery::protocol::{Failure, Outcome, Protocol};

pub(crate) static OTLP: Protocol = Protocol {
    peer: "the OTLP collector",
    credentials: "the request headers",
    credentials_var: "OTEL_EXPORTER_OTLP_HEADERS",
    address_var: "OTEL_EXPORTER_OTLP_ENDPOINT",
    split_rejected: false,
    judge,
};

/// The headers of every request: the content type, and the user's, marked sensitive. A
/// header HTTP cannot carry is skipped, said once by name (its value may be a secret).
#[cfg(feature = "upload")]
pub(crate) fn headers(protocol: OtlpProtocol, user: &Headers) -> HeaderMap {
    let mut out = HeaderMap::new();
    let content_type = match protocol {
        OtlpProtocol::HttpJson => "application/json",
        _ => "application/x-protobuf",
    };
    out.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    for (name, value) in &user.0 {
        let parsed = HeaderName::from_bytes(name.as_bytes())
            .ok()
            .zip(HeaderValue::from_str(value).ok());
        match parsed {
            Some((name, mut value)) => {
                value.set_sensitive(true);
                out.insert(name, value);
            }
            None => crate::log!(
                Warn,
                "OTEL_EXPORTER_OTLP_HEADERS: header `{}` has a name or value HTTP cannot carry; \
                 not sent",
                crate::platform::redact::header_name(name)
            ),
        }
    }
    out
}

fn judge(status: u16, after: Option<Duration>, body: &[u8]) -> Outcome {
    match status {
        200..=299 => match partial_success(body) {
            Some((rejected, reason)) if rejected > 0 => Outcome::Partial { rejected, reason },
            _ => Outcome::Delivered,
        },
        400 | 413 => Outcome::Rejected {
            status,
            reason: status_message(body).unwrap_or_else(|| format!("HTTP {status}")),
            suspects: Vec::new(),
        },
        401 | 403 => Outcome::Unauthorized(status),
        429 | 502 | 503 | 504 => Outcome::Retry {
            after,
            failure: Failure::Status(status),
        },
        _ => Outcome::Misdirected {
            status,
            reason: status_message(body).unwrap_or_default(),
        },
    }
}

/// `partial_success` of an `ExportTraceServiceResponse`, in JSON or protobuf: the count of
/// refused spans and the collector's reason.
fn partial_success(body: &[u8]) -> Option<(u64, String)> {
    if body.first() == Some(&b'{') {
        let v: serde_json::Value = serde_json::from_slice(body).ok()?;
        let p = &v["partialSuccess"];
        let rejected = match &p["rejectedSpans"] {
            serde_json::Value::String(s) => s.parse().ok()?,
            n => n.as_u64()?,
        };
        let reason = p["errorMessage"].as_str().unwrap_or_default().to_owned();
        return Some((rejected, reason));
    }
    let partial = fields(body).find(|f| f.0 == 1)?.2?;
    let mut rejected = 0;
    let mut reason = String::new();
    for (field, value, bytes) in fields(partial) {
        match (field, bytes) {
            (1, None) => rejected = value,
            (2, Some(b)) => reason = String::from_utf8_lossy(b).into_owned(),
            _ => {}
        }
    }
    Some((rejected, reason))
}

/// `message` of a `google.rpc.Status` error body, in JSON or protobuf, or the body's text.
fn status_message(body: &[u8]) -> Option<String> {
    if body.is_empty() {
        return None;
    }
    if body.first() == Some(&b'{') {
        let v: serde_json::Value = serde_json::from_slice(body).ok()?;
        return v["message"].as_str().map(str::to_owned);
    }
    let from_proto = fields(body)
        .find(|f| f.0 == 2)
        .and_then(|f| f.2)
        .and_then(|b| std::str::from_utf8(b).ok())
        .map(str::to_owned);
    from_proto.or_else(|| {
        std::str::from_utf8(body)
            .ok()
            .map(|t| t.trim().chars().take(300).collect())
    })
}

/// The top-level fields of a protobuf message: (number, varint value, bytes of a
/// length-delimited field). Stops at the first malformed byte.
fn fields(mut body: &[u8]) -> impl Iterator<Item = (u64, u64, Option<&[u8]>)> {
    std::iter::from_fn(move || {
        let key = varint(&mut body)?;
        let field = key >> 3;
        match key & 7 {
            0 => Some((field, varint(&mut body)?, None)),
            1 => {
                body = body.get(8..)?;
                Some((field, 0, None))
            }
            2 => {
                let n = usize::try_from(varint(&mut body)?).ok()?;
                let bytes = body.get(..n)?;
                body = &body[n..];
                Some((field, 0, Some(bytes)))
            }
            5 => {
                body = body.get(4..)?;
                Some((field, 0, None))
            }
            _ => None,
        }
    })
}

fn varint(body: &mut &[u8]) -> Option<u64> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let (&b, rest) = body.split_first()?;
        *body = rest;
        v |= u64::from(b & 0x7f) << shift;
        if b < 0x80 {
            return Some(v);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_judged_by_the_otlp_rules() {
        assert!(matches!(judge(200, None, b""), Outcome::Delivered));
        assert!(matches!(judge(400, None, b""), Outcome::Rejected { .. }));
        assert!(matches!(judge(500, None, b""), Outcome::Misdirected { .. }));
        assert!(matches!(judge(404, None, b""), Outcome::Misdirected { .. }));
        assert!(matches!(judge(401, None, b""), Outcome::Unauthorized(401)));
        for status in [429, 502, 503, 504] {
            let wait = Some(Duration::from_secs(1));
            assert!(matches!(
                judge(status, wait, b""),
                Outcome::Retry { after: Some(_), .. }
            ));
        }
    }

    #[test]
    fn partial_success_is_read_in_both_encodings() {
        let json = br#"{"partialSuccess":{"rejectedSpans":"3","errorMessage":"too old"}}"#;
        assert!(matches!(
            judge(200, None, json),
            Outcome::Partial { rejected: 3, ref reason } if reason == "too old"
        ));
        // partial_success { rejected_spans: 2, error_message: "no" }
        let proto = [0x0a, 0x06, 0x08, 0x02, 0x12, 0x02, b'n', b'o'];
        assert!(matches!(
            judge(200, None, &proto),
            Outcome::Partial { rejected: 2, ref reason } if reason == "no"
        ));
        assert!(matches!(judge(200, None, b"{}"), Outcome::Delivered));
        // Status { code: 3, message: "bad span" }
        let status = [
            0x08, 0x03, 0x12, 0x08, b'b', b'a', b'd', b' ', b's', b'p', b'a', b'n',
        ];
        assert_eq!(status_message(&status).as_deref(), Some("bad span"));
    }
}
