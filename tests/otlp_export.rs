//! OTLP/HTTP export against the real loopback server, whose `/v1/traces` decodes what we send
//! with the official `opentelemetry-proto` types: both encodings, gzip, the span model,
//! headers kept secret, retries, a refused batch, a partial success, and a sink that is down
//! while the other is up (its spans spooled, then replayed by a later run).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod upload_support;

use std::collections::HashSet;

use trunk_ci_analytics_testkit::Scratch;
use trunk_ci_analytics_testserver::opentelemetry_proto::tonic::common::v1::any_value::Value;
use trunk_ci_analytics_testserver::opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use trunk_ci_analytics_testserver::opentelemetry_proto::tonic::trace::v1::status::StatusCode;
use trunk_ci_analytics_testserver::{ClosedPort, Fault, RetryAfter, TestServer};
use upload_support::{Run, files, secret_token};

/// A run exporting spans to `server` only (no token).
fn otlp_run(server: &TestServer, tmp: &Scratch) -> Run {
    Run::new(server, &tmp.join("spool"))
        .env("TRUNK_API_TOKEN", "")
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", server.url())
}

fn span_ids(server: &TestServer) -> Vec<String> {
    server.spans().iter().map(|s| s.span_id_hex()).collect()
}

fn assert_same_set(got: &[String], want: &[String]) {
    let got_set: HashSet<&String> = got.iter().collect();
    assert_eq!(got.len(), got_set.len(), "duplicates");
    assert_eq!(got_set, want.iter().collect::<HashSet<_>>());
}

fn str_attr(value: Option<&Value>) -> Option<&str> {
    match value? {
        Value::StringValue(s) => Some(s),
        _ => None,
    }
}

/// Files of spool partitions whose name starts with `prefix`.
fn partition_files(tmp: &Scratch, otlp: bool) -> Vec<std::path::PathBuf> {
    files(&tmp.join("spool"))
        .into_iter()
        .map(|(p, _)| p)
        .filter(|p| {
            p.components()
                .any(|c| c.as_os_str().to_string_lossy().starts_with("otlp-"))
                == otlp
                && !p
                    .file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with("breaker-"))
        })
        .collect()
}

#[test]
fn protobuf_spans_follow_the_span_model_and_large_bodies_are_gzipped() {
    let server = TestServer::start();
    let tmp = Scratch::new("otlp-proto");
    let run = otlp_run(&server, &tmp)
        .env("OTEL_SERVICE_NAME", "ci-tests")
        .env("OTEL_RESOURCE_ATTRIBUTES", "team=build%20tools")
        .env("TCA_BATCH", 100)
        .events(2, 150)
        .run();
    let report = run.report();
    assert_eq!((report.delivered, report.spooled), (300, 0), "{report:?}");
    assert_same_set(&span_ids(&server), &run.ids);

    for span in server.spans() {
        let s = &span.span;
        // Every event here is a root: its trace is its own chain, the root's id widened.
        assert_eq!(span.trace_id_hex(), format!("{:0>32}", span.span_id_hex()));
        assert_eq!(span.parent_span_id_hex(), None);
        assert_eq!(s.name, "step");
        assert_eq!(s.kind, SpanKind::Internal as i32);
        assert!(s.end_time_unix_nano >= s.start_time_unix_nano);
        assert!(
            s.status
                .as_ref()
                .is_none_or(|st| st.code == StatusCode::Unset as i32)
        );
        assert_eq!(
            str_attr(span.attribute("cicd.pipeline.task.run.result")),
            Some("success")
        );
        assert_eq!(
            str_attr(span.attribute("trunk.sequence.key")),
            Some("upload-test::step")
        );
        assert!(matches!(span.attribute("duration_ms"), Some(Value::DoubleValue(d)) if *d >= 0.0));
        assert_eq!(
            str_attr(span.resource_attribute("service.name")),
            Some("ci-tests")
        );
        assert_eq!(
            str_attr(span.resource_attribute("team")),
            Some("build tools")
        );
        assert_eq!(
            str_attr(span.resource_attribute("telemetry.sdk.name")),
            Some("trunk-ci-analytics")
        );
        assert_eq!(span.scope.name, "trunk-ci-analytics");
    }
    let requests = server.requests();
    assert!(
        requests.iter().all(|r| r.path == "/v1/traces"
            && r.content_type.as_deref() == Some("application/x-protobuf"))
    );
    assert!(
        requests
            .iter()
            .any(|r| r.content_encoding.as_deref() == Some("gzip")),
        "{requests:?}"
    );
}

#[test]
fn json_spans_arrive_uncompressed_when_compression_is_off() {
    let server = TestServer::start();
    let tmp = Scratch::new("otlp-json");
    let run = otlp_run(&server, &tmp)
        .env("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json")
        .env("OTEL_EXPORTER_OTLP_COMPRESSION", "none")
        .env("TCA_BATCH", 50)
        .events(1, 120)
        .run();
    assert_eq!(run.report().delivered, 120);
    assert_same_set(&span_ids(&server), &run.ids);
    for r in server.requests() {
        assert_eq!(r.content_type.as_deref(), Some("application/json"));
        assert_eq!(r.content_encoding, None);
        assert_eq!(r.status, Some(200));
    }
    let span = &server.spans()[0];
    assert_eq!(span.trace_id_hex(), format!("{:0>32}", span.span_id_hex()));
    assert!(matches!(
        span.attribute("duration_ms"),
        Some(Value::DoubleValue(_))
    ));
}

#[test]
fn with_both_sinks_each_gets_every_event() {
    let server = TestServer::start();
    let tmp = Scratch::new("otlp-both");
    let run = Run::new(&server, &tmp.join("spool"))
        .env(
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
            server.otlp_traces_endpoint(),
        )
        .env("TCA_BATCH", 100)
        .events(2, 200)
        .run();
    // Counts are per sink delivery: every event was delivered twice.
    assert_eq!(run.report().delivered, 800, "{:?}", run.report());
    assert_same_set(&server.event_ids(), &run.ids);
    assert_same_set(&span_ids(&server), &run.ids);
}

#[test]
fn headers_arrive_and_the_secret_appears_nowhere() {
    let secret = secret_token();
    let server = TestServer::builder()
        .otlp_require_header("x-otlp-key", &format!("{secret}=,x"))
        .start()
        .unwrap();
    let tmp = Scratch::new("otlp-headers");
    let header = format!("x-otlp-key={secret}%3D%2Cx");
    let run = otlp_run(&server, &tmp)
        .env("OTEL_EXPORTER_OTLP_HEADERS", &header)
        .env("TRUNK_CI_ANALYTICS_LOG", "debug")
        .events(1, 20)
        .run();
    assert_eq!(run.report().delivered, 20);
    assert_eq!(server.span_count(), 20);
    run.assert_no_token(&secret);

    // A collector that is down: the spans wait in the spool, which holds bodies only.
    server.set_persistent(Some(Fault::Reset));
    let down = otlp_run(&server, &tmp)
        .env("OTEL_EXPORTER_OTLP_HEADERS", &header)
        .env("TRUNK_CI_ANALYTICS_LOG", "debug")
        .env("TCA_MAX_RETRIES", 0)
        .events(1, 20)
        .run();
    assert_eq!(down.report().spooled, 20, "{:?}", down.report());
    down.assert_no_token(&secret);
    let spooled = files(&tmp.join("spool"));
    assert!(!spooled.is_empty());
    for (path, body) in spooled {
        let text = String::from_utf8_lossy(&body);
        assert!(!text.contains(&secret), "secret in {}", path.display());
    }
}

#[test]
fn retries_honour_503_and_429_with_retry_after() {
    let server = TestServer::start();
    server.inject(Fault::Status(503), 1);
    server.inject(Fault::TooManyRequests(RetryAfter::Seconds(1)), 1);
    let tmp = Scratch::new("otlp-retry");
    let run = otlp_run(&server, &tmp).events(1, 50).run();
    assert_eq!(run.report().delivered, 50, "{:?}", run.report());
    assert_same_set(&span_ids(&server), &run.ids);
    let statuses: Vec<Option<u16>> = server.requests().iter().map(|r| r.status).collect();
    assert_eq!(statuses, [Some(503), Some(429), Some(200)]);
}

#[test]
fn a_400_drops_that_batch_only() {
    let server = TestServer::start();
    server.inject(Fault::Status(400), 1);
    let tmp = Scratch::new("otlp-400");
    let run = otlp_run(&server, &tmp)
        .env("TCA_BATCH", 10)
        .events(1, 30)
        .run();
    let report = run.report();
    assert_eq!((report.delivered, report.rejected), (20, 10), "{report:?}");
    assert_eq!(server.span_count(), 20);
    let lines = run.runtime_lines();
    assert!(
        lines
            .iter()
            .any(|l| l.contains("400") && l.contains("dropped")),
        "{lines:?}"
    );
    assert!(partition_files(&tmp, true).is_empty(), "nothing spooled");
}

#[test]
fn a_partial_success_counts_the_refused_spans_once() {
    let server = TestServer::builder()
        .otlp_partial_success(3, "3 spans were too old")
        .start()
        .unwrap();
    let tmp = Scratch::new("otlp-partial");
    let run = otlp_run(&server, &tmp).events(1, 10).run();
    let report = run.report();
    assert_eq!((report.delivered, report.rejected), (7, 3), "{report:?}");
    let lines = run.runtime_lines();
    assert_eq!(
        lines.iter().filter(|l| l.contains("too old")).count(),
        1,
        "{lines:?}"
    );
}

#[test]
fn a_dead_collector_leaves_trackevents_whole_and_a_later_run_replays_its_spans() {
    let trunk = TestServer::start();
    let down = ClosedPort::new();
    let tmp = Scratch::new("otlp-dead");
    let collector = down.url();
    let run = Run::new(&trunk, &tmp.join("spool"))
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", &collector)
        .env("TCA_BREAKER_MS", 100)
        .events(1, 200)
        .run();
    let report = run.report();
    assert_eq!((report.delivered, report.spooled), (200, 200), "{report:?}");
    assert_same_set(&trunk.event_ids(), &run.ids);
    assert!(!partition_files(&tmp, true).is_empty());
    assert!(
        partition_files(&tmp, false).is_empty(),
        "trackEvents spooled nothing"
    );

    // The collector is back: the next run sends its own span, then (by its exit at the
    // latest) the spooled ones.
    let otlp = TestServer::builder().start_on(down).unwrap();
    // The breaker's cooldown (100 ms) has passed: the next run tries the collector again.
    std::thread::sleep(std::time::Duration::from_millis(150));
    let later = otlp_run(&otlp, &tmp)
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", &collector)
        .events(1, 1)
        .run();
    assert_eq!(later.report().delivered, 1, "{:?}", later.report());
    let mut all = run.ids.clone();
    all.extend(later.ids.iter().cloned());
    assert_same_set(&span_ids(&otlp), &all);
    assert!(partition_files(&tmp, true).is_empty(), "spool emptied");
}

#[test]
fn a_dead_trackevents_endpoint_leaves_the_spans_whole() {
    let trunk = TestServer::start();
    trunk.set_persistent(Some(Fault::Reset));
    let otlp = TestServer::start();
    let tmp = Scratch::new("trunk-dead");
    let run = Run::new(&trunk, &tmp.join("spool"))
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", otlp.url())
        .env("TCA_MAX_RETRIES", 1)
        .events(1, 200)
        .run();
    let report = run.report();
    assert_eq!((report.delivered, report.spooled), (200, 200), "{report:?}");
    assert_same_set(&span_ids(&otlp), &run.ids);
    assert_eq!(trunk.event_count(), 0);
    assert!(!partition_files(&tmp, false).is_empty());
    assert!(
        partition_files(&tmp, true).is_empty(),
        "OTLP spooled nothing"
    );
}

#[test]
fn a_hanging_collector_leaves_trackevents_whole() {
    let trunk = TestServer::start();
    let collector = TestServer::start();
    collector.set_persistent(Some(Fault::Stall(std::time::Duration::from_secs(3))));
    let tmp = Scratch::new("otlp-hang");
    let run = Run::new(&trunk, &tmp.join("spool"))
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", collector.url())
        .env("TRUNK_FLUSH_TIMEOUT_MS", 1500)
        .events(1, 100)
        .run();
    let report = run.report();
    assert_eq!((report.delivered, report.spooled), (100, 100), "{report:?}");
    assert!(report.timed_out, "{report:?}");
    assert_same_set(&trunk.event_ids(), &run.ids);
    assert_eq!(collector.span_count(), 0);
    assert!(!partition_files(&tmp, true).is_empty());
}
