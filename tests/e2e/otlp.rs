//! The xtask example exporting spans, as the README's Jaeger setup runs it: every event of
//! the run, build scripts included, reaches the strict OTLP receiver as one trace — beside
//! `trackEvents`, which gets the same events — and the same with `http/json` alone.

use std::collections::HashMap;
use std::path::Path;
use std::process::Command;

use trunk_ci_analytics_testkit::Scratch;
use trunk_ci_analytics_testserver::opentelemetry_proto::tonic::common::v1::any_value::Value as Attr;
use trunk_ci_analytics_testserver::{ReceivedSpan, TestServer};

use crate::fixture::{Fixture, fixture};
use crate::harness::{self, COLD_BUILD_LIMIT};
use crate::support::{Events, id, name, parent_id};

const SHA: &str = "0c5f2a9e6b1d4c3a8f7e6d5c4b3a29180f7e6d5c";

fn xtask_build(fixture: &Fixture, server: &TestServer, spool: &Path) -> Command {
    let mut cmd = fixture.example("xtask");
    cmd.arg("build")
        .env("CARGO_TARGET_DIR", harness::target_root())
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_REPOSITORY", harness::REPO)
        .env("GITHUB_SHA", SHA)
        .env("GITHUB_REF_NAME", "main")
        .env("GITHUB_REF_TYPE", "branch")
        .env("GITHUB_EVENT_NAME", "push")
        .env("GITHUB_RUN_ID", "31337")
        .env("GITHUB_WORKFLOW", "CI")
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", server.url());
    harness::upload_to(&mut cmd, server, spool);
    cmd
}

fn text(value: Option<&Attr>) -> Option<&str> {
    match value? {
        Attr::StringValue(s) => Some(s),
        _ => None,
    }
}

/// The spans by span id; fails on a duplicate, and unless they all are in one trace.
fn one_trace(spans: &[ReceivedSpan]) -> (String, HashMap<String, &ReceivedSpan>) {
    let trace = spans[0].trace_id_hex();
    let mut by_id = HashMap::new();
    for s in spans {
        assert_eq!(s.trace_id_hex(), trace, "one trace: {:?}", s.span);
        assert!(
            by_id.insert(s.span_id_hex(), s).is_none(),
            "duplicate {s:?}"
        );
    }
    (trace, by_id)
}

#[test]
fn xtask_build_sends_every_event_as_one_trace_beside_track_events() {
    let fixture = fixture();
    fixture.rerun_build_scripts();
    let server = TestServer::start();
    let spool = Scratch::new("otlp-xtask-spool");
    let out = harness::run(
        &mut xtask_build(&fixture, &server, spool.path()),
        COLD_BUILD_LIMIT,
    );
    assert!(out.status.success(), "{}", harness::stderr(&out));

    let events = Events::settled(server.events());
    let spans = server.spans();
    assert_eq!(spans.len(), events.len(), "one span per event");
    let (trace, by_id) = one_trace(&spans);
    let root = events.one("xtask");
    assert_eq!(
        trace,
        format!("{:0>32}", id(root)),
        "the trace is the run's chain"
    );
    assert!(!events.all("main").is_empty(), "build scripts ran");
    for e in &events.0 {
        let span = by_id
            .get(id(e))
            .unwrap_or_else(|| panic!("no span for {e:#}"));
        assert_eq!(span.span.name, name(e));
        assert_eq!(span.parent_span_id_hex().as_deref(), parent_id(e));
        let service = text(span.resource_attribute("service.name"));
        // The xtask records its own events and cargo's work (`record_cargo`).
        let cargo_work = ["compile", "build_script_run", "test_binary"]
            .contains(&e["sequence"]["kind"].as_str().unwrap_or_default());
        if ["xtask", "build"].contains(&name(e)) || cargo_work {
            assert_eq!(service, Some("xtask"));
        } else {
            // A build script's events: named after its crate, not `build-script-build`.
            assert!(
                service.is_some_and(|s| s.starts_with("fixture-")),
                "{service:?}"
            );
        }
        assert_eq!(text(span.attribute("vcs.ref.head.revision")), Some(SHA));
        assert_eq!(text(span.attribute("cicd.pipeline.name")), Some("CI"));
        assert_eq!(text(span.attribute("cicd.pipeline.run.id")), Some("31337"));
        assert_eq!(
            text(span.attribute("vcs.repository.url.full")),
            Some(format!("https://github.com/{}", harness::REPO).as_str())
        );
        assert_eq!(
            text(span.attribute("cicd.pipeline.task.run.result")),
            Some("success")
        );
    }
    // The critical path: on the step's span as text, on its units' spans as their place.
    let step = by_id[id(events.one("build"))];
    let path = text(step.attribute("critical_path")).unwrap_or_default();
    assert!(path.contains("fixture-"), "{:?}", step.span);
    let on_path = spans
        .iter()
        .filter(|s| s.attribute("critical_path_position").is_some())
        .count();
    assert_eq!(on_path, path.split(" → ").count(), "{path}");
}

#[test]
fn xtask_build_exports_json_without_a_token() {
    let fixture = fixture();
    fixture.rerun_build_scripts();
    let server = TestServer::start();
    let spool = Scratch::new("otlp-json-xtask-spool");
    let mut cmd = xtask_build(&fixture, &server, spool.path());
    cmd.env_remove("TRUNK_API_TOKEN")
        .env("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json");
    let out = harness::run(&mut cmd, COLD_BUILD_LIMIT);
    assert!(out.status.success(), "{}", harness::stderr(&out));

    assert_eq!(server.event_count(), 0, "no token, no trackEvents");
    let spans = server.spans();
    let (_, by_id) = one_trace(&spans);
    let roots: Vec<&&ReceivedSpan> = by_id
        .values()
        .filter(|s| s.parent_span_id_hex().is_none())
        .collect();
    assert_eq!(roots.len(), 1, "{roots:?}");
    assert_eq!(roots[0].span.name, "xtask");
    for s in by_id.values() {
        if let Some(parent) = s.parent_span_id_hex() {
            assert!(by_id.contains_key(&parent), "orphan {:?}", s.span);
        }
    }
    assert!(
        by_id.values().any(|s| s.span.name == "main"),
        "build scripts"
    );
    assert!(
        server
            .requests()
            .iter()
            .all(|r| r.content_type.as_deref() == Some("application/json"))
    );
}

#[test]
fn xtask_build_under_a_traceparent_hangs_the_whole_run_under_that_span() {
    const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
    const SPAN: &str = "00f067aa0ba902b7";
    let fixture = fixture();
    fixture.rerun_build_scripts();
    let server = TestServer::start();
    let spool = Scratch::new("otlp-traceparent-xtask-spool");
    let mut cmd = xtask_build(&fixture, &server, spool.path());
    cmd.env_remove("TRUNK_API_TOKEN")
        .env("TRACEPARENT", format!("00-{TRACE}-{SPAN}-01"));
    let out = harness::run(&mut cmd, COLD_BUILD_LIMIT);
    assert!(out.status.success(), "{}", harness::stderr(&out));

    let spans = server.spans();
    let (trace, by_id) = one_trace(&spans);
    assert_eq!(trace, TRACE, "the run joins the given trace");
    let outside: Vec<&&ReceivedSpan> = by_id
        .values()
        .filter(|s| {
            s.parent_span_id_hex()
                .is_none_or(|parent| !by_id.contains_key(&parent))
        })
        .collect();
    assert_eq!(
        outside.len(),
        1,
        "one span hangs under the given one: {outside:?}"
    );
    assert_eq!(outside[0].span.name, "xtask");
    assert_eq!(outside[0].parent_span_id_hex().as_deref(), Some(SPAN));
    assert!(
        by_id.values().any(|s| s.span.name == "main"),
        "build scripts are in the same trace"
    );
}
