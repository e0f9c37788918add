//! What the server keeps of each span it accepted on `/v1/traces`.

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::InstrumentationScope;
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::Span;

/// One span of an accepted OTLP export, with the resource and scope it was sent under, all as
/// the official [`opentelemetry_proto`](crate::opentelemetry_proto) types decoded them.
///
/// ```
/// use std::time::Duration;
/// use trunk_ci_analytics_testserver::TestServer;
///
/// let server = TestServer::start();
/// assert!(!server.wait_for_spans(1, Duration::from_millis(1)));
/// for span in server.spans() {
///     println!("{} {} under {:?}", span.trace_id_hex(), span.span.name, span.scope.name);
/// }
/// ```
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct ReceivedSpan {
    /// The [`seq`](crate::RequestRecord::seq) of the request that carried it.
    pub request_seq: u64,
    /// The span's resource (the default, empty one if the request had none).
    pub resource: Resource,
    /// The instrumentation scope (the default, empty one if the request had none).
    pub scope: InstrumentationScope,
    /// The span itself.
    pub span: Span,
}

impl ReceivedSpan {
    /// The trace id in lowercase hex, as OTLP/JSON and W3C `traceparent` write it.
    pub fn trace_id_hex(&self) -> String {
        hex(&self.span.trace_id)
    }

    /// The span id in lowercase hex.
    pub fn span_id_hex(&self) -> String {
        hex(&self.span.span_id)
    }

    /// The parent's span id in lowercase hex; `None` for a root span.
    pub fn parent_span_id_hex(&self) -> Option<String> {
        (!self.span.parent_span_id.is_empty()).then(|| hex(&self.span.parent_span_id))
    }

    /// The value of the span attribute `key` (the first, should a client repeat a key).
    ///
    /// ```
    /// use opentelemetry_proto::tonic::common::v1::any_value::Value;
    /// use trunk_ci_analytics_testserver::{ReceivedSpan, opentelemetry_proto};
    ///
    /// fn conclusion(span: &ReceivedSpan) -> Option<&str> {
    ///     match span.attribute("conclusion")? {
    ///         Value::StringValue(text) => Some(text),
    ///         _ => None,
    ///     }
    /// }
    /// ```
    pub fn attribute(&self, key: &str) -> Option<&Value> {
        find(&self.span.attributes, key)
    }

    /// The value of the resource attribute `key`, e.g. `service.name`.
    pub fn resource_attribute(&self, key: &str) -> Option<&Value> {
        find(&self.resource.attributes, key)
    }
}

fn find<'a>(
    attributes: &'a [opentelemetry_proto::tonic::common::v1::KeyValue],
    key: &str,
) -> Option<&'a Value> {
    attributes
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| kv.value.as_ref())
        .and_then(|value| value.value.as_ref())
}

/// Every span of `request`, in body order, each with its resource and scope.
pub(crate) fn flatten(request_seq: u64, request: ExportTraceServiceRequest) -> Vec<ReceivedSpan> {
    let mut spans = Vec::new();
    for resource_spans in request.resource_spans {
        let resource = resource_spans.resource.unwrap_or_default();
        for scope_spans in resource_spans.scope_spans {
            let scope = scope_spans.scope.unwrap_or_default();
            spans.extend(scope_spans.spans.into_iter().map(|span| ReceivedSpan {
                request_seq,
                resource: resource.clone(),
                scope: scope.clone(),
                span,
            }));
        }
    }
    spans
}

/// Number of spans in `request`.
pub(crate) fn count(request: &ExportTraceServiceRequest) -> usize {
    request
        .resource_spans
        .iter()
        .flat_map(|r| &r.scope_spans)
        .map(|s| s.spans.len())
        .sum()
}

/// Lowercase hex, two digits a byte.
pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    let mut text = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        let _ = write!(text, "{byte:02x}");
    }
    text
}
