//! OTLP/HTTP bodies: which encoding a request uses, its decoding (gzip, protobuf, OTLP/JSON),
//! and the encoding of answers in the request's own encoding.

use std::io::Read;

use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTracePartialSuccess, ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use prost::Message;

/// Largest body accepted after gzip decompression: bounds what a small compressed body can
/// make the server allocate.
pub(crate) const MAX_DECODED: usize = 64 << 20;

/// The two encodings of OTLP/HTTP.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Encoding {
    /// `application/x-protobuf`: binary protobuf.
    Protobuf,
    /// `application/json`: the OTLP/JSON mapping (hex ids, lowerCamelCase keys, enums as ints).
    Json,
}

impl Encoding {
    /// The encoding a `Content-Type` names, parameters such as `charset` aside.
    pub(crate) fn of(content_type: Option<&str>) -> Option<Encoding> {
        let media = content_type?.split(';').next()?.trim();
        if media.eq_ignore_ascii_case("application/x-protobuf") {
            Some(Encoding::Protobuf)
        } else if media.eq_ignore_ascii_case("application/json") {
            Some(Encoding::Json)
        } else {
            None
        }
    }

    pub(crate) fn content_type(self) -> &'static str {
        match self {
            Encoding::Protobuf => "application/x-protobuf",
            Encoding::Json => "application/json",
        }
    }
}

/// Why a body could not be read as an `ExportTraceServiceRequest`: an HTTP status and a message.
pub(crate) type Rejection = (u16, String);

/// Decompresses and decodes a request body by its `Content-Type` and `Content-Encoding`.
pub(crate) fn decode(
    content_type: Option<&str>,
    content_encoding: Option<&str>,
    body: &[u8],
) -> Result<ExportTraceServiceRequest, Rejection> {
    let Some(encoding) = Encoding::of(content_type) else {
        return Err((
            415,
            format!(
                "unsupported Content-Type {:?}: use application/x-protobuf or application/json",
                content_type.unwrap_or("")
            ),
        ));
    };
    let inflated;
    let body = match content_encoding.map(str::trim) {
        None => body,
        Some(coding) if coding.is_empty() || coding.eq_ignore_ascii_case("identity") => body,
        Some(coding) if coding.eq_ignore_ascii_case("gzip") => {
            inflated = gunzip(body)?;
            &inflated[..]
        }
        Some(coding) => {
            return Err((
                415,
                format!("unsupported Content-Encoding {coding:?}: use gzip or none"),
            ));
        }
    };
    match encoding {
        Encoding::Protobuf => ExportTraceServiceRequest::decode(body).map_err(|e| {
            (
                400,
                format!("body is not a protobuf ExportTraceServiceRequest: {e}"),
            )
        }),
        Encoding::Json => serde_json::from_slice(body).map_err(|e| {
            (
                400,
                format!("body is not an OTLP/JSON ExportTraceServiceRequest: {e}"),
            )
        }),
    }
}

fn gunzip(body: &[u8]) -> Result<Vec<u8>, Rejection> {
    let mut inflated = Vec::new();
    // One byte past the limit tells "exactly at the limit" from "over it".
    let limit = u64::try_from(MAX_DECODED)
        .unwrap_or(u64::MAX)
        .saturating_add(1);
    flate2::read::GzDecoder::new(body)
        .take(limit)
        .read_to_end(&mut inflated)
        .map_err(|e| {
            (
                400,
                format!("Content-Encoding is gzip but the body is not: {e}"),
            )
        })?;
    if inflated.len() > MAX_DECODED {
        return Err((
            413,
            format!("body over {MAX_DECODED} bytes once decompressed"),
        ));
    }
    Ok(inflated)
}

/// The success answer, with `partial_success` if the server was told to send one.
pub(crate) fn success(encoding: Encoding, partial: Option<&ExportTracePartialSuccess>) -> Vec<u8> {
    let response = ExportTraceServiceResponse {
        partial_success: partial.cloned(),
    };
    match encoding {
        Encoding::Protobuf => response.encode_to_vec(),
        // `{}` rather than `{"partialSuccess":null}`: the plain full-success form.
        Encoding::Json if response.partial_success.is_none() => b"{}".to_vec(),
        Encoding::Json => serde_json::to_vec(&response).unwrap_or_default(),
    }
}

/// `google.rpc.Status`, the body OTLP/HTTP servers answer errors with (without `details`).
///
/// Decode a protobuf error answer with it and the re-exported [`prost`](crate::prost); a JSON
/// error answer is `{"code": …, "message": …}`.
///
/// ```
/// use trunk_ci_analytics_testserver::RpcStatus;
/// use trunk_ci_analytics_testserver::prost::Message;
///
/// let status = RpcStatus { code: 3, message: "bad span".to_owned() };
/// assert_eq!(RpcStatus::decode(&status.encode_to_vec()[..]), Ok(status));
/// ```
#[derive(Clone, PartialEq, Eq, Message)]
pub struct RpcStatus {
    /// The gRPC status code (3 `INVALID_ARGUMENT`, 16 `UNAUTHENTICATED`, 14 `UNAVAILABLE`…).
    #[prost(int32, tag = "1")]
    pub code: i32,
    /// What is wrong, for a developer.
    #[prost(string, tag = "2")]
    pub message: String,
}

/// An error answer: `google.rpc.Status` in `encoding`.
pub(crate) fn status(encoding: Encoding, http_status: u16, message: &str) -> Vec<u8> {
    let status = RpcStatus {
        code: grpc_code(http_status),
        message: message.to_owned(),
    };
    match encoding {
        Encoding::Protobuf => status.encode_to_vec(),
        Encoding::Json => serde_json::json!({ "code": status.code, "message": status.message })
            .to_string()
            .into_bytes(),
    }
}

/// The gRPC code matching an HTTP status, as the OTLP/HTTP ↔ gRPC mapping pairs them.
fn grpc_code(http_status: u16) -> i32 {
    match http_status {
        400 | 415 => 3,
        401 => 16,
        403 => 7,
        404 => 5,
        405 => 12,
        413 | 429 => 8,
        500 => 13,
        502..=504 => 14,
        _ => 2,
    }
}
