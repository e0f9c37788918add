//! The OTLP JSON mapping of the same messages as [`super::proto`]: camelCase names, ids as
//! lowercase hex, enums as numbers, 64-bit integers as decimal strings.

use super::proto::{KIND_INTERNAL, STATUS_ERROR};
use super::span::{self as model, Attr, SpanData};
use std::io::Write as _;

use crate::pipeline::json::text::{float, hex_bytes, int, string};
use crate::record::Record;

/// What closes a body opened by [`head`].
pub(crate) const TAIL: &[u8] = b"]}]}]}";

/// `{"key":…,"value":{…}}`.
pub(crate) fn key_value(out: &mut Vec<u8>, k: &str, v: Attr<'_>) {
    out.extend_from_slice(b"{\"key\":");
    string(out, k);
    out.extend_from_slice(b",\"value\":{");
    match v {
        Attr::Str(s) => {
            out.extend_from_slice(b"\"stringValue\":");
            string(out, s);
        }
        Attr::Int(i) => {
            // int64 as a decimal string, as the OTLP JSON mapping asks.
            out.extend_from_slice(b"\"intValue\":\"");
            int(out, i);
            out.push(b'"');
        }
        Attr::Double(d) => {
            // Finite (checked by the caller).
            out.extend_from_slice(b"\"doubleValue\":");
            float(out, d);
        }
    }
    out.extend_from_slice(b"}}");
}

/// The body up to the first span: resource, scope, `"spans":[`.
pub(crate) fn head(resource: &[(&str, Attr<'_>)], scope_name: &str, version: &str) -> Vec<u8> {
    let mut out = b"{\"resourceSpans\":[{\"resource\":{\"attributes\":[".to_vec();
    for (i, (k, v)) in resource.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        key_value(&mut out, k, *v);
    }
    out.extend_from_slice(b"]},\"scopeSpans\":[{\"scope\":{\"name\":");
    string(&mut out, scope_name);
    out.extend_from_slice(b",\"version\":");
    string(&mut out, version);
    out.extend_from_slice(b"},\"spans\":[");
    out
}

/// Appends `span` to `out`; `shared` are attributes already written by [`key_value`],
/// comma-separated.
pub(crate) fn span(span: &SpanData<'_>, record: &Record, shared: &[u8], out: &mut Vec<u8>) {
    out.extend_from_slice(b"{\"traceId\":");
    hex_bytes(out, &span.trace_id);
    out.extend_from_slice(b",\"spanId\":");
    hex_bytes(out, &span.span_id);
    if let Some(parent) = &span.parent {
        out.extend_from_slice(b",\"parentSpanId\":");
        hex_bytes(out, parent);
    }
    out.extend_from_slice(b",\"name\":");
    string(out, span.name);
    let _ = write!(
        out,
        ",\"kind\":{KIND_INTERNAL},\"startTimeUnixNano\":\"{}\",\"endTimeUnixNano\":\"{}\",\"attributes\":[",
        span.start_ns, span.end_ns
    );
    let mut first = true;
    model::attributes(record, &mut |k, v| {
        if !first {
            out.push(b',');
        }
        first = false;
        key_value(out, k, v);
    });
    if !shared.is_empty() {
        if !first {
            out.push(b',');
        }
        out.extend_from_slice(shared);
    }
    out.push(b']');
    if span.error {
        let _ = write!(out, ",\"status\":{{\"code\":{STATUS_ERROR}");
        if let Some(message) = span.message.filter(|m| !m.is_empty()) {
            out.extend_from_slice(b",\"message\":");
            string(out, message);
        }
        out.push(b'}');
    }
    out.push(b'}');
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::id::otel::to_hex;

    #[test]
    fn ids_are_hex_and_int64_are_strings() {
        let data = SpanData {
            trace_id: [1; 16],
            span_id: [2; 8],
            parent: None,
            name: "a \"step\"",
            start_ns: 1_700_000_000_000_000_001,
            end_ns: 1_700_000_000_000_000_002,
            error: true,
            message: Some("boom"),
        };
        let mut record = crate::record::tests::record(7);
        record.frame.extras = crate::model::values::Extras::new()
            .tag("n", crate::model::wire::TagValue::Int(-5))
            .metric("d", 1.5)
            .boxed();
        let mut out = Vec::new();
        span(&data, &record, b"", &mut out);
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap_or_default();
        assert_eq!(v["traceId"], to_hex(&[1; 16]));
        assert_eq!(v["name"], "a \"step\"");
        assert_eq!(v["startTimeUnixNano"], "1700000000000000001");
        assert_eq!(v["attributes"][0]["value"]["intValue"], "-5");
        assert_eq!(v["attributes"][1]["value"]["doubleValue"], 1.5);
        assert_eq!(v["status"]["code"], 2);
        assert_eq!(v["status"]["message"], "boom");
    }
}
