//! The rules of the OTLP trace data model a span must keep for the server to accept a request.

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::trace::v1::Span;
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use opentelemetry_proto::tonic::trace::v1::status::StatusCode;

use crate::span::hex;

/// Every rule broken by a span of `request`, as `path: rule`, with the path in OTLP/JSON names
/// (`resourceSpans[0].scopeSpans[0].spans[2].traceId`). Empty if every span is valid.
pub(crate) fn violations(request: &ExportTraceServiceRequest) -> Vec<String> {
    let mut found = Vec::new();
    for (r, resource_spans) in request.resource_spans.iter().enumerate() {
        for (s, scope_spans) in resource_spans.scope_spans.iter().enumerate() {
            for (i, span) in scope_spans.spans.iter().enumerate() {
                let at = format!("resourceSpans[{r}].scopeSpans[{s}].spans[{i}]");
                for rule in broken(span) {
                    found.push(format!("{at}.{rule}"));
                }
            }
        }
    }
    found
}

/// The rules `span` breaks, each as `field: what is wrong`.
fn broken(span: &Span) -> Vec<String> {
    let mut found = Vec::new();
    check_id(&mut found, "traceId", &span.trace_id, 16);
    check_id(&mut found, "spanId", &span.span_id, 8);
    if !span.parent_span_id.is_empty() && span.parent_span_id.len() != 8 {
        found.push(format!(
            "parentSpanId: must be empty (a root) or 8 bytes, got {} bytes ({})",
            span.parent_span_id.len(),
            hex(&span.parent_span_id)
        ));
    }
    if span.name.is_empty() {
        found.push("name: must not be empty".to_owned());
    }
    if span.end_time_unix_nano < span.start_time_unix_nano {
        found.push(format!(
            "endTimeUnixNano: {} is before startTimeUnixNano {}",
            span.end_time_unix_nano, span.start_time_unix_nano
        ));
    }
    if SpanKind::try_from(span.kind).is_err() {
        found.push(format!("kind: {} is not a SpanKind (0..=5)", span.kind));
    }
    if let Some(status) = &span.status {
        if StatusCode::try_from(status.code).is_err() {
            found.push(format!(
                "status.code: {} is not a StatusCode (0..=2)",
                status.code
            ));
        }
    }
    found
}

fn check_id(found: &mut Vec<String>, field: &str, id: &[u8], len: usize) {
    if id.len() != len {
        found.push(format!(
            "{field}: must be {len} bytes, got {} ({:?})",
            id.len(),
            hex(id)
        ));
    } else if id.iter().all(|&b| b == 0) {
        found.push(format!("{field}: must not be all zero"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Status};

    fn valid() -> Span {
        Span {
            trace_id: vec![1; 16],
            span_id: vec![2; 8],
            name: "step".to_owned(),
            start_time_unix_nano: 10,
            end_time_unix_nano: 10,
            kind: SpanKind::Internal as i32,
            ..Span::default()
        }
    }

    fn request(spans: Vec<Span>) -> ExportTraceServiceRequest {
        ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans {
                scope_spans: vec![ScopeSpans {
                    spans,
                    ..ScopeSpans::default()
                }],
                ..ResourceSpans::default()
            }],
        }
    }

    #[test]
    fn a_valid_span_breaks_nothing() {
        let child = Span {
            parent_span_id: vec![3; 8],
            ..valid()
        };
        assert_eq!(
            violations(&request(vec![valid(), child])),
            Vec::<String>::new()
        );
    }

    #[test]
    fn each_broken_rule_is_named_with_its_path() {
        let cases: Vec<(Span, &str)> = vec![
            (
                Span {
                    trace_id: vec![1; 15],
                    ..valid()
                },
                "traceId: must be 16 bytes",
            ),
            (
                Span {
                    trace_id: vec![0; 16],
                    ..valid()
                },
                "traceId: must not be all zero",
            ),
            (
                Span {
                    span_id: Vec::new(),
                    ..valid()
                },
                "spanId: must be 8 bytes",
            ),
            (
                Span {
                    span_id: vec![0; 8],
                    ..valid()
                },
                "spanId: must not be all zero",
            ),
            (
                Span {
                    parent_span_id: vec![1; 16],
                    ..valid()
                },
                "parentSpanId: must be empty",
            ),
            (
                Span {
                    name: String::new(),
                    ..valid()
                },
                "name: must not be empty",
            ),
            (
                Span {
                    end_time_unix_nano: 9,
                    ..valid()
                },
                "endTimeUnixNano: 9 is before",
            ),
            (Span { kind: 6, ..valid() }, "kind: 6 is not"),
            (
                Span {
                    status: Some(Status {
                        code: 3,
                        ..Status::default()
                    }),
                    ..valid()
                },
                "status.code: 3 is not",
            ),
        ];
        for (span, rule) in cases {
            let found = violations(&request(vec![valid(), span]));
            assert_eq!(found.len(), 1, "{found:?}");
            let expected = format!("resourceSpans[0].scopeSpans[0].spans[1].{rule}");
            assert!(found[0].starts_with(&expected), "{found:?} vs {expected}");
        }
    }
}
