//! The token, and an OTLP header's secret value, reach neither the events file, nor the
//! trace file, nor the GitHub job summary (nor stdout and stderr, as for every child here),
//! even from a run that uploads, fails a step and prints its summary.

use trunk_ci_analytics::{Config, track_event};
use trunk_ci_analytics_testkit::Scratch;
use trunk_ci_analytics_testserver::TestServer;

use crate::hostile_support::{TOKEN, run, uploading};

/// The value of an OTLP header: a secret as much as the token.
const HEADER_SECRET: &str = "otlp_hostile_secret_51d2e8";

#[test]
fn secrets_reach_no_file_the_run_writes() {
    let server = TestServer::start_with_token(TOKEN);
    let dir = Scratch::new("secrets");
    let files = [
        dir.join("events.jsonl"),
        dir.join("trace.json"),
        dir.join("summary.md"),
    ];
    let mut cmd = uploading("secrets", &server.url(), &dir.join("spool"));
    cmd.env("TRUNK_EVENTS_FILE", &files[0])
        .env("TRUNK_TRACE_FILE", &files[1])
        .env("GITHUB_STEP_SUMMARY", &files[2])
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", server.url())
        .env(
            "OTEL_EXPORTER_OTLP_HEADERS",
            format!("x-otlp-key={HEADER_SECRET}"),
        );
    let (out, stdout, stderr) = run(&mut cmd);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(!stderr.contains(HEADER_SECRET), "{stderr}");
    // The run did upload with them: the secrets were in use, not left out.
    assert!(server.wait_for_events(2, std::time::Duration::from_secs(10)));
    assert!(server.wait_for_spans(2, std::time::Duration::from_secs(10)));
    for file in &files {
        let text = std::fs::read_to_string(file)
            .unwrap_or_else(|e| panic!("{} was not written: {e}", file.display()));
        assert!(text.contains("uploads"), "{}: {text}", file.display());
        for secret in [TOKEN, HEADER_SECRET] {
            assert!(!text.contains(secret), "{secret} in {}", file.display());
        }
    }
}

#[track_event]
fn step() -> Result<(), String> {
    Err("step failed".into())
}

#[track_event]
fn uploads() {
    let _ = step();
}

/// A root with a failing step, uploading to both sinks and writing every local file.
pub fn secrets_child() {
    let guard = trunk_ci_analytics::init(Config::from_env());
    uploads();
    drop(guard);
}
