//! Protobuf encoding of the few OTLP trace messages we send (`opentelemetry/proto/trace/v1`,
//! `common/v1`, `resource/v1`, `collector/trace/v1`), written by hand: field numbers and
//! wire types below are those of the `.proto` files.

use super::span::{self as model, Attr, SpanData};
use crate::record::Record;

const VARINT: u8 = 0;
const I64: u8 = 1;
const LEN: u8 = 2;

// ExportTraceServiceRequest
const REQUEST_RESOURCE_SPANS: u32 = 1;
// ResourceSpans
const RESOURCE_SPANS_RESOURCE: u32 = 1;
const RESOURCE_SPANS_SCOPE_SPANS: u32 = 2;
// Resource
const RESOURCE_ATTRIBUTES: u32 = 1;
// ScopeSpans
const SCOPE_SPANS_SCOPE: u32 = 1;
const SCOPE_SPANS_SPANS: u32 = 2;
// InstrumentationScope
const SCOPE_NAME: u32 = 1;
const SCOPE_VERSION: u32 = 2;
// Span
const SPAN_TRACE_ID: u32 = 1;
const SPAN_SPAN_ID: u32 = 2;
const SPAN_PARENT_SPAN_ID: u32 = 4;
const SPAN_NAME: u32 = 5;
const SPAN_KIND: u32 = 6;
const SPAN_START: u32 = 7;
const SPAN_END: u32 = 8;
const SPAN_ATTRIBUTES: u32 = 9;
const SPAN_STATUS: u32 = 15;
// Status
const STATUS_MESSAGE: u32 = 2;
const STATUS_CODE: u32 = 3;
// KeyValue
const KV_KEY: u32 = 1;
const KV_VALUE: u32 = 2;
// AnyValue
const ANY_STRING: u32 = 1;
const ANY_INT: u32 = 3;
const ANY_DOUBLE: u32 = 4;

/// `SPAN_KIND_INTERNAL`.
pub(crate) const KIND_INTERNAL: u64 = 1;
/// `STATUS_CODE_ERROR`.
pub(crate) const STATUS_ERROR: u64 = 2;

fn varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn varint_len(v: u64) -> usize {
    (64 - (v | 1).leading_zeros() as usize).div_ceil(7)
}

fn key(out: &mut Vec<u8>, field: u32, wire: u8) {
    varint(out, (u64::from(field) << 3) | u64::from(wire));
}

fn key_len(field: u32) -> usize {
    varint_len(u64::from(field) << 3)
}

fn bytes_field(out: &mut Vec<u8>, field: u32, bytes: &[u8]) {
    key(out, field, LEN);
    varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

fn bytes_field_len(field: u32, n: usize) -> usize {
    key_len(field) + varint_len(n as u64) + n
}

fn varint_field(out: &mut Vec<u8>, field: u32, v: u64) {
    key(out, field, VARINT);
    varint(out, v);
}

fn fixed64_field(out: &mut Vec<u8>, field: u32, v: u64) {
    key(out, field, I64);
    out.extend_from_slice(&v.to_le_bytes());
}

/// A `KeyValue` as field `field` of the enclosing message, with its lengths computed
/// up front so nothing is encoded twice.
pub(crate) fn key_value(out: &mut Vec<u8>, field: u32, k: &str, v: Attr<'_>) {
    let any_len = match v {
        Attr::Str(s) => bytes_field_len(ANY_STRING, s.len()),
        Attr::Int(i) => key_len(ANY_INT) + varint_len(i as u64),
        Attr::Double(_) => key_len(ANY_DOUBLE) + 8,
    };
    let kv_len = bytes_field_len(KV_KEY, k.len()) + bytes_field_len(KV_VALUE, any_len);
    key(out, field, LEN);
    varint(out, kv_len as u64);
    bytes_field(out, KV_KEY, k.as_bytes());
    key(out, KV_VALUE, LEN);
    varint(out, any_len as u64);
    match v {
        Attr::Str(s) => bytes_field(out, ANY_STRING, s.as_bytes()),
        // int64 is a two's-complement varint (negative numbers take ten bytes).
        Attr::Int(i) => varint_field(out, ANY_INT, i as u64),
        Attr::Double(d) => fixed64_field(out, ANY_DOUBLE, d.to_bits()),
    }
}

/// A span attribute (field 9 of `Span`), for attributes every span of the process carries,
/// encoded once.
pub(crate) fn span_attribute(out: &mut Vec<u8>, k: &str, v: Attr<'_>) {
    key_value(out, SPAN_ATTRIBUTES, k, v);
}

/// Encodes spans and the request around them.
#[derive(Debug)]
pub(crate) struct ProtoEncoder {
    /// The span being encoded, before its length is known.
    scratch: Vec<u8>,
}

impl ProtoEncoder {
    pub(crate) fn new() -> ProtoEncoder {
        ProtoEncoder {
            scratch: Vec::with_capacity(512),
        }
    }

    /// Appends `span` to `out` as field `spans` of `ScopeSpans`; `shared` are attributes
    /// already encoded by [`span_attribute`].
    pub(crate) fn span(
        &mut self,
        span: &SpanData<'_>,
        record: &Record,
        shared: &[u8],
        out: &mut Vec<u8>,
    ) {
        let s = &mut self.scratch;
        s.clear();
        bytes_field(s, SPAN_TRACE_ID, &span.trace_id);
        bytes_field(s, SPAN_SPAN_ID, &span.span_id);
        if let Some(parent) = &span.parent {
            bytes_field(s, SPAN_PARENT_SPAN_ID, parent);
        }
        bytes_field(s, SPAN_NAME, span.name.as_bytes());
        varint_field(s, SPAN_KIND, KIND_INTERNAL);
        fixed64_field(s, SPAN_START, span.start_ns);
        fixed64_field(s, SPAN_END, span.end_ns);
        model::attributes(record, &mut |k, v| key_value(s, SPAN_ATTRIBUTES, k, v));
        s.extend_from_slice(shared);
        if span.error {
            let message = span.message.unwrap_or_default();
            let len = if message.is_empty() {
                0
            } else {
                bytes_field_len(STATUS_MESSAGE, message.len())
            } + key_len(STATUS_CODE)
                + varint_len(STATUS_ERROR);
            key(s, SPAN_STATUS, LEN);
            varint(s, len as u64);
            if !message.is_empty() {
                bytes_field(s, STATUS_MESSAGE, message.as_bytes());
            }
            varint_field(s, STATUS_CODE, STATUS_ERROR);
        }
        bytes_field(out, SCOPE_SPANS_SPANS, s);
    }
}

/// The parts of a request that are the same for every batch of the process: the encoded
/// `resource` and `scope` fields, around which [`header`](Self::header) wraps the spans.
#[derive(Debug)]
pub(crate) struct Envelope {
    resource: Vec<u8>,
    scope: Vec<u8>,
}

impl Envelope {
    pub(crate) fn new(resource: &[(&str, Attr<'_>)], scope_name: &str, version: &str) -> Envelope {
        let mut attributes = Vec::new();
        for (k, v) in resource {
            key_value(&mut attributes, RESOURCE_ATTRIBUTES, k, *v);
        }
        let mut out = Envelope {
            resource: Vec::new(),
            scope: Vec::new(),
        };
        bytes_field(&mut out.resource, RESOURCE_SPANS_RESOURCE, &attributes);
        let mut scope = Vec::new();
        bytes_field(&mut scope, SCOPE_NAME, scope_name.as_bytes());
        bytes_field(&mut scope, SCOPE_VERSION, version.as_bytes());
        bytes_field(&mut out.scope, SCOPE_SPANS_SCOPE, &scope);
        out
    }

    /// Most bytes [`header`](Self::header) writes.
    pub(crate) fn room(&self) -> usize {
        self.resource.len() + self.scope.len() + 3 * 11
    }

    /// `ExportTraceServiceRequest { resource_spans: [ResourceSpans { resource,
    /// scope_spans: [ScopeSpans { scope, spans… ` for spans that take `inner` bytes.
    pub(crate) fn header(&self, inner: usize, out: &mut Vec<u8>) {
        let scope_spans = self.scope.len() + inner;
        let resource_spans = self.resource.len()
            + key_len(RESOURCE_SPANS_SCOPE_SPANS)
            + varint_len(scope_spans as u64)
            + scope_spans;
        key(out, REQUEST_RESOURCE_SPANS, LEN);
        varint(out, resource_spans as u64);
        out.extend_from_slice(&self.resource);
        key(out, RESOURCE_SPANS_SCOPE_SPANS, LEN);
        varint(out, scope_spans as u64);
        out.extend_from_slice(&self.scope);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_are_little_endian_groups_of_seven() {
        for (v, bytes) in [
            (0u64, &[0u8][..]),
            (1, &[1]),
            (127, &[0x7f]),
            (128, &[0x80, 1]),
            (300, &[0xac, 2]),
            (
                u64::MAX,
                &[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 1],
            ),
        ] {
            let mut out = Vec::new();
            varint(&mut out, v);
            assert_eq!(out, bytes, "{v}");
            assert_eq!(varint_len(v), bytes.len(), "{v}");
        }
    }
}
