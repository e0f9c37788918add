//! `POST /v1/traces` (OTLP/HTTP) over real loopback HTTP, with bodies built and answers decoded
//! by the official opentelemetry-proto types.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::Write;
use std::time::Duration;

use common::{Client, Reply};
use trunk_ci_analytics_testserver::opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTracePartialSuccess, ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use trunk_ci_analytics_testserver::opentelemetry_proto::tonic::common::v1::{
    AnyValue, InstrumentationScope, KeyValue, any_value::Value,
};
use trunk_ci_analytics_testserver::opentelemetry_proto::tonic::resource::v1::Resource;
use trunk_ci_analytics_testserver::opentelemetry_proto::tonic::trace::v1::{
    ResourceSpans, ScopeSpans, Span, Status, span::SpanKind, status::StatusCode,
};
use trunk_ci_analytics_testserver::prost::Message;
use trunk_ci_analytics_testserver::{Fault, OTLP_TRACES_PATH, RpcStatus, TestServer};

const PROTOBUF: (&str, &str) = ("Content-Type", "application/x-protobuf");
const JSON: (&str, &str) = ("Content-Type", "application/json");
const GZIP: (&str, &str) = ("Content-Encoding", "gzip");

const TRACE_ID: [u8; 16] = [
    0x5b, 0x8e, 0xff, 0xf7, 0x98, 0x03, 0x81, 0x03, 0xd2, 0x69, 0xb6, 0x33, 0x81, 0x3f, 0xc6, 0x0c,
];
const TRACE_ID_HEX: &str = "5b8efff798038103d269b633813fc60c";

fn string_attr(key: &str, value: &str) -> KeyValue {
    KeyValue {
        key: key.to_owned(),
        value: Some(AnyValue {
            value: Some(Value::StringValue(value.to_owned())),
        }),
        ..KeyValue::default()
    }
}

/// A valid span: `id` is the last byte of its span id, `parent` that of its parent's.
fn span(id: u8, parent: Option<u8>, name: &str) -> Span {
    Span {
        trace_id: TRACE_ID.to_vec(),
        span_id: vec![0xee, 0xe1, 0x9b, 0x7e, 0xc3, 0xc1, 0xb1, id],
        parent_span_id: parent.map_or_else(Vec::new, |p| {
            vec![0xee, 0xe1, 0x9b, 0x7e, 0xc3, 0xc1, 0xb1, p]
        }),
        name: name.to_owned(),
        kind: SpanKind::Internal as i32,
        start_time_unix_nano: 1_700_000_000_000_000_000,
        end_time_unix_nano: 1_700_000_000_250_000_000,
        attributes: vec![
            string_attr("conclusion", "SUCCESS"),
            KeyValue {
                key: "attempt".to_owned(),
                value: Some(AnyValue {
                    value: Some(Value::IntValue(3)),
                }),
                ..KeyValue::default()
            },
        ],
        status: Some(Status {
            code: StatusCode::Ok as i32,
            message: String::new(),
        }),
        ..Span::default()
    }
}

fn export(spans: Vec<Span>) -> ExportTraceServiceRequest {
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource {
                attributes: vec![string_attr("service.name", "ci-suite")],
                ..Resource::default()
            }),
            scope_spans: vec![ScopeSpans {
                scope: Some(InstrumentationScope {
                    name: "trunk-ci-analytics".to_owned(),
                    version: "0.1.0".to_owned(),
                    ..InstrumentationScope::default()
                }),
                spans,
                ..ScopeSpans::default()
            }],
            ..ResourceSpans::default()
        }],
    }
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

fn post(server: &TestServer, headers: &[(&str, &str)], body: &[u8]) -> Reply {
    Client::connect(server).request("POST", OTLP_TRACES_PATH, headers, body)
}

fn rpc_status(reply: &Reply) -> RpcStatus {
    assert_eq!(reply.header("content-type"), Some("application/x-protobuf"));
    RpcStatus::decode(&reply.raw[..]).unwrap()
}

#[test]
fn protobuf_export_is_recorded_and_answered_in_protobuf() {
    let server = TestServer::start();
    let sent = export(vec![span(1, None, "build"), span(2, Some(1), "compile")]);
    let body = sent.encode_to_vec();
    let reply = post(&server, &[PROTOBUF, ("User-Agent", "otel-test/1")], &body);

    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.header("content-type"), Some("application/x-protobuf"));
    let response = ExportTraceServiceResponse::decode(&reply.raw[..]).unwrap();
    assert_eq!(response.partial_success, None);

    assert!(server.wait_for_spans(2, Duration::from_secs(5)));
    let spans = server.spans();
    assert_eq!(spans.len(), 2);
    assert_eq!(
        spans[0].span,
        sent.resource_spans[0].scope_spans[0].spans[0]
    );
    assert_eq!(
        spans[1].span,
        sent.resource_spans[0].scope_spans[0].spans[1]
    );
    assert_eq!(spans[1].trace_id_hex(), TRACE_ID_HEX);
    assert_eq!(spans[1].span_id_hex(), "eee19b7ec3c1b102");
    assert_eq!(spans[0].parent_span_id_hex(), None);
    assert_eq!(
        spans[1].parent_span_id_hex().as_deref(),
        Some("eee19b7ec3c1b101")
    );
    assert_eq!(
        spans[0].resource_attribute("service.name"),
        Some(&Value::StringValue("ci-suite".to_owned()))
    );
    assert_eq!(spans[0].attribute("attempt"), Some(&Value::IntValue(3)));
    assert_eq!(spans[1].scope.name, "trunk-ci-analytics");
    assert_eq!(spans[1].scope.version, "0.1.0");
    assert_eq!(server.span_count(), 2);
    assert!(
        server.events().is_empty(),
        "spans are not trackEvents events"
    );

    let record = &server.requests()[0];
    assert_eq!(record.path, "/v1/traces");
    assert_eq!(record.status, Some(200));
    assert_eq!(
        record.content_type.as_deref(),
        Some("application/x-protobuf")
    );
    assert_eq!(record.content_encoding, None);
    assert_eq!(record.n_spans, 2);
    assert_eq!(record.body_len, body.len());
    assert!(
        record
            .headers
            .contains(&("user-agent".to_owned(), "otel-test/1".to_owned())),
        "{:?}",
        record.headers
    );
    assert!(spans.iter().all(|s| s.request_seq == record.seq));
}

#[test]
fn json_export_from_the_official_serde_mapping_uses_hex_ids_and_is_recorded() {
    let server = TestServer::start();
    let sent = export(vec![span(7, Some(6), "test")]);
    let body = serde_json::to_string(&sent).unwrap();
    // The OTLP/JSON mapping: hex ids (not protobuf JSON's base64), camelCase keys, enums as
    // integers, 64-bit integers as strings.
    let tree: serde_json::Value = serde_json::from_str(&body).unwrap();
    let wire_span = &tree["resourceSpans"][0]["scopeSpans"][0]["spans"][0];
    assert_eq!(wire_span["traceId"], TRACE_ID_HEX, "{body}");
    assert_eq!(wire_span["parentSpanId"], "eee19b7ec3c1b106", "{body}");
    assert_eq!(wire_span["kind"], 1, "{body}");
    assert_eq!(
        wire_span["startTimeUnixNano"], "1700000000000000000",
        "{body}"
    );

    let reply = post(&server, &[JSON], body.as_bytes());
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.header("content-type"), Some("application/json"));
    let response: ExportTraceServiceResponse = serde_json::from_str(&reply.body).unwrap();
    assert_eq!(response.partial_success, None);
    let spans = server.spans();
    assert_eq!(spans.len(), 1);
    assert_eq!(
        spans[0].span,
        sent.resource_spans[0].scope_spans[0].spans[0]
    );
    assert_eq!(
        server.requests()[0].content_type.as_deref(),
        Some("application/json")
    );
}

#[test]
fn hand_written_otlp_json_with_numbers_or_strings_and_unknown_fields_is_accepted() {
    let server = TestServer::start();
    let body = r#"{"resourceSpans":[{
        "resource":{"attributes":[{"key":"service.name","value":{"stringValue":"ci"}}]},
        "scopeSpans":[{"scope":{"name":"manual"},"spans":[{
            "traceId":"5B8EFFF798038103D269B633813FC60C","spanId":"eee19b7ec3c1b174",
            "parentSpanId":"","name":"step","kind":2,
            "startTimeUnixNano":"1544712660000000000","endTimeUnixNano":1544712661000000000,
            "attributes":[{"key":"attempt","value":{"intValue":"42"}},
                          {"key":"ratio","value":{"doubleValue":0.5}}],
            "status":{"code":2,"message":"boom"},
            "aFieldOfTheFuture":{"x":1}
        }]}]}]}"#;
    let reply = post(
        &server,
        &[("Content-Type", "application/json; charset=utf-8")],
        body.as_bytes(),
    );
    assert_eq!(reply.status, 200, "{}", reply.body);

    let spans = server.spans();
    assert_eq!(spans.len(), 1);
    let got = &spans[0];
    assert_eq!(got.span.trace_id, TRACE_ID);
    assert_eq!(got.span_id_hex(), "eee19b7ec3c1b174");
    assert_eq!(got.parent_span_id_hex(), None);
    assert_eq!(got.span.kind, SpanKind::Server as i32);
    assert_eq!(got.span.start_time_unix_nano, 1_544_712_660_000_000_000);
    assert_eq!(got.span.end_time_unix_nano, 1_544_712_661_000_000_000);
    assert_eq!(got.attribute("attempt"), Some(&Value::IntValue(42)));
    assert_eq!(got.attribute("ratio"), Some(&Value::DoubleValue(0.5)));
    assert_eq!(
        got.span.status.as_ref().unwrap().code,
        StatusCode::Error as i32
    );
    assert_eq!(got.scope.name, "manual");
}

#[test]
fn json_with_base64_ids_is_400_and_nothing_is_recorded() {
    let server = TestServer::start();
    // Protobuf's generic JSON mapping writes bytes as base64; OTLP/JSON requires hex.
    let body = r#"{"resourceSpans":[{"scopeSpans":[{"spans":[{
        "traceId":"W47/95gDgQPSabYzgT/GDA==","spanId":"7uGbfsPBsXQ=","name":"step",
        "startTimeUnixNano":"1","endTimeUnixNano":"2"}]}]}]}"#;
    let reply = post(&server, &[JSON], body.as_bytes());
    assert_eq!(reply.status, 400);
    assert_eq!(reply.header("content-type"), Some("application/json"));
    let status = reply.json();
    assert_eq!(status["code"], 3, "{status}");
    assert!(
        status["message"].as_str().unwrap().contains("OTLP/JSON"),
        "{status}"
    );
    assert_eq!(server.span_count(), 0);
    assert_eq!(server.requests()[0].status, Some(400));
}

#[test]
fn gzip_bodies_are_inflated_in_both_encodings() {
    let server = TestServer::start();
    let sent = export(vec![span(1, None, "zipped")]);
    let mut client = Client::connect(&server);

    let protobuf = gzip(&sent.encode_to_vec());
    let reply = client.request("POST", OTLP_TRACES_PATH, &[PROTOBUF, GZIP], &protobuf);
    assert_eq!(reply.status, 200, "{}", reply.body);
    ExportTraceServiceResponse::decode(&reply.raw[..]).unwrap();

    let json = gzip(serde_json::to_string(&sent).unwrap().as_bytes());
    let reply = client.request("POST", OTLP_TRACES_PATH, &[JSON, GZIP], &json);
    assert_eq!(reply.status, 200, "{}", reply.body);

    let spans = server.spans();
    assert_eq!(spans.len(), 2);
    assert!(spans.iter().all(|s| s.span.name == "zipped"));
    let requests = server.requests();
    assert!(
        requests
            .iter()
            .all(|r| r.content_encoding.as_deref() == Some("gzip"))
    );
    assert_eq!(requests[0].body_len, protobuf.len(), "the body as sent");

    let reply = client.request(
        "POST",
        OTLP_TRACES_PATH,
        &[PROTOBUF, GZIP],
        &sent.encode_to_vec(),
    );
    assert_eq!(reply.status, 400);
    assert!(rpc_status(&reply).message.contains("gzip"));
    let reply = client.request(
        "POST",
        OTLP_TRACES_PATH,
        &[PROTOBUF, ("Content-Encoding", "br")],
        b"x",
    );
    assert_eq!(reply.status, 415);
    assert_eq!(server.span_count(), 2);
}

#[test]
fn an_undecodable_protobuf_body_is_400_with_a_status_and_nothing_recorded() {
    let server = TestServer::start();
    let reply = post(&server, &[PROTOBUF], b"\xff\xff\xff\xff not protobuf");
    assert_eq!(reply.status, 400);
    let status = rpc_status(&reply);
    assert_eq!(status.code, 3);
    assert!(status.message.contains("protobuf"), "{status:?}");
    assert_eq!(server.span_count(), 0);
    let record = &server.requests()[0];
    assert_eq!(record.status, Some(400));
    assert_eq!(record.n_spans, 0);
    assert_eq!(record.error.as_deref(), Some(status.message.as_str()));
}

#[test]
fn a_span_breaking_a_rule_rejects_the_whole_export_and_says_why() {
    let server = TestServer::start();
    let zero_trace = Span {
        trace_id: vec![0; 16],
        ..span(2, None, "bad")
    };
    let backwards = Span {
        end_time_unix_nano: 1,
        ..span(3, None, "worse")
    };
    let short_parent = Span {
        parent_span_id: vec![1, 2, 3],
        status: Some(Status {
            code: 9,
            message: String::new(),
        }),
        name: String::new(),
        ..span(4, None, "x")
    };
    let body = export(vec![
        span(1, None, "good"),
        zero_trace,
        backwards,
        short_parent,
    ])
    .encode_to_vec();
    let reply = post(&server, &[PROTOBUF], &body);

    assert_eq!(reply.status, 400);
    let status = rpc_status(&reply);
    assert_eq!(status.code, 3);
    for expected in [
        "spans[1].traceId: must not be all zero",
        "spans[2].endTimeUnixNano",
        "spans[3].parentSpanId",
        "spans[3].name: must not be empty",
        "spans[3].status.code: 9",
    ] {
        assert!(
            status.message.contains(expected),
            "{expected} in {status:?}"
        );
    }
    assert_eq!(server.span_count(), 0, "not even the valid span is kept");
    let record = &server.requests()[0];
    assert_eq!(record.n_spans, 4);
    assert_eq!(record.violations.len(), 5, "{:?}", record.violations);

    let bad_ids = Span {
        span_id: vec![1; 4],
        trace_id: vec![1; 8],
        ..span(1, None, "ids")
    };
    let reply = post(
        &server,
        &[JSON],
        serde_json::to_string(&export(vec![bad_ids]))
            .unwrap()
            .as_bytes(),
    );
    assert_eq!(reply.status, 400);
    let message = reply.json()["message"].as_str().unwrap().to_owned();
    assert!(
        message.contains("traceId: must be 16 bytes, got 8"),
        "{message}"
    );
    assert!(
        message.contains("spanId: must be 8 bytes, got 4"),
        "{message}"
    );
    assert_eq!(server.span_count(), 0);
}

#[test]
fn required_header_missing_or_wrong_is_401_and_the_secret_is_never_echoed() {
    let server = TestServer::builder()
        .otlp_require_header("X-OTLP-Secret", "s3cret-4711")
        .start()
        .unwrap();
    let body = export(vec![span(1, None, "guarded")]).encode_to_vec();
    let mut client = Client::connect(&server);

    let missing = client.request("POST", OTLP_TRACES_PATH, &[PROTOBUF], &body);
    assert_eq!(missing.status, 401);
    let status = rpc_status(&missing);
    assert_eq!(status.code, 16);
    assert!(status.message.contains("x-otlp-secret"), "{status:?}");

    let wrong = client.request(
        "POST",
        OTLP_TRACES_PATH,
        &[JSON, ("x-otlp-secret", "guess-0815")],
        serde_json::to_string(&export(vec![span(1, None, "guarded")]))
            .unwrap()
            .as_bytes(),
    );
    assert_eq!(wrong.status, 401);
    assert_eq!(wrong.json()["code"], 16);
    assert_eq!(server.span_count(), 0);

    let right = client.request(
        "POST",
        OTLP_TRACES_PATH,
        &[PROTOBUF, ("x-otlp-secret", "s3cret-4711")],
        &body,
    );
    assert_eq!(right.status, 200);
    assert_eq!(server.span_count(), 1);

    let requests = server.requests();
    assert!(
        requests[2]
            .headers
            .contains(&("x-otlp-secret".to_owned(), "s3cret-4711".to_owned())),
        "the secret arrived: {:?}",
        requests[2].headers
    );
    for reply in [&missing, &wrong, &right] {
        let whole = format!("{:?}{}", reply.headers, reply.body);
        assert!(
            !whole.contains("4711") && !whole.contains("0815"),
            "{whole}"
        );
    }
    let elsewhere = format!(
        "{:?}{:?}{:?}{:?}",
        server.spans(),
        requests.iter().map(|r| &r.error).collect::<Vec<_>>(),
        server,
        TestServer::builder().otlp_require_header("x-otlp-secret", "s3cret-4711")
    );
    assert!(!elsewhere.contains("4711"), "{elsewhere}");
}

#[test]
fn faults_apply_to_traces_then_the_export_succeeds() {
    let server = TestServer::start();
    server.inject(Fault::Status(503), 1);
    server.inject(
        Fault::TooManyRequests(trunk_ci_analytics_testserver::RetryAfter::Seconds(2)),
        1,
    );
    let body = export(vec![span(1, None, "retried")]).encode_to_vec();
    let mut client = Client::connect(&server);

    let unavailable = client.request("POST", OTLP_TRACES_PATH, &[PROTOBUF], &body);
    assert_eq!(unavailable.status, 503);
    assert_eq!(rpc_status(&unavailable).code, 14);
    let throttled = client.request("POST", OTLP_TRACES_PATH, &[PROTOBUF], &body);
    assert_eq!(throttled.status, 429);
    assert_eq!(throttled.header("retry-after"), Some("2"));
    assert_eq!(server.span_count(), 0, "faulted exports are not recorded");

    let ok = client.request("POST", OTLP_TRACES_PATH, &[PROTOBUF], &body);
    assert_eq!(ok.status, 200);
    assert_eq!(server.span_count(), 1);
    let seen: Vec<_> = server
        .requests()
        .iter()
        .map(|r| (r.status, r.fault.is_some(), r.n_spans))
        .collect();
    assert_eq!(
        seen,
        [
            (Some(503), true, 1),
            (Some(429), true, 1),
            (Some(200), false, 1)
        ]
    );
}

#[test]
fn partial_success_answer_decodes_in_both_encodings() {
    let server = TestServer::builder()
        .otlp_partial_success(1, "1 span was too old")
        .start()
        .unwrap();
    let sent = export(vec![span(1, None, "a"), span(2, Some(1), "b")]);
    let expected = Some(ExportTracePartialSuccess {
        rejected_spans: 1,
        error_message: "1 span was too old".to_owned(),
    });

    let reply = post(&server, &[PROTOBUF], &sent.encode_to_vec());
    assert_eq!(reply.status, 200);
    let response = ExportTraceServiceResponse::decode(&reply.raw[..]).unwrap();
    assert_eq!(response.partial_success, expected);

    let reply = post(
        &server,
        &[JSON],
        serde_json::to_string(&sent).unwrap().as_bytes(),
    );
    assert_eq!(reply.status, 200);
    let response: ExportTraceServiceResponse = serde_json::from_str(&reply.body).unwrap();
    assert_eq!(response.partial_success, expected);
    assert_eq!(
        reply.json()["partialSuccess"]["errorMessage"],
        "1 span was too old"
    );

    assert_eq!(
        server.span_count(),
        4,
        "the server keeps every span it was sent"
    );
}

#[test]
fn other_methods_and_content_types_are_refused() {
    let server = TestServer::start();
    let mut client = Client::connect(&server);
    let get = client.request("GET", OTLP_TRACES_PATH, &[], b"");
    assert_eq!(get.status, 405);
    assert_eq!(get.header("allow"), Some("POST"));
    let text = client.request(
        "POST",
        OTLP_TRACES_PATH,
        &[("Content-Type", "text/plain")],
        b"hi",
    );
    assert_eq!(text.status, 415);
    assert!(
        text.json()["message"]
            .as_str()
            .unwrap()
            .contains("text/plain")
    );
    let none = client.request("POST", OTLP_TRACES_PATH, &[], b"");
    assert_eq!(none.status, 415);
    assert_eq!(server.span_count(), 0);
}

#[test]
fn binary_prints_the_otlp_endpoint_and_each_span() {
    let binary = common::Binary::start(&[]);
    let next = || binary.next_line();
    let mut endpoint = None;
    for _ in 0..4 {
        let line = next();
        if let Some(url) = line.strip_prefix("  export OTEL_EXPORTER_OTLP_ENDPOINT=") {
            endpoint = Some(url.to_owned());
            break;
        }
    }
    let endpoint = endpoint.expect("an OTEL_EXPORTER_OTLP_ENDPOINT line");
    assert!(endpoint.starts_with("http://127.0.0.1:"), "{endpoint}");

    let addr = endpoint.trim_start_matches("http://").parse().unwrap();
    let body = export(vec![span(1, None, "build"), span(2, Some(1), "link")]).encode_to_vec();
    let reply = Client::connect_to(addr).request("POST", OTLP_TRACES_PATH, &[PROTOBUF], &body);
    assert_eq!(reply.status, 200);
    assert_eq!(
        next(),
        format!("span {TRACE_ID_HEX} eee19b7ec3c1b101 build 250000000ns")
    );
    assert_eq!(
        next(),
        format!("span {TRACE_ID_HEX} eee19b7ec3c1b102 link 250000000ns (parent eee19b7ec3c1b101)")
    );
}
