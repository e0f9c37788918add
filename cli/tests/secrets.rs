//! Secrets in addresses and headers (issue 26, finding 6): user info and queries of
//! `TRUNK_PUBLIC_API_ADDRESS` and the OTLP endpoints, and the values of
//! `OTEL_EXPORTER_OTLP_HEADERS` (malformed entries included), never reach the output of a
//! tracked process (`exec`), of `flush` or of `doctor`.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test fails by panicking

mod runs;

use std::process::Command;

use runs::{Bounded, cli};
use trunk_ci_analytics_testkit::Scratch;

const SECRETS: [&str; 5] = [
    "apiPASSWORD1",
    "otlpPASSWORD2",
    "querySECRET3",
    "headerSECRET4",
    "headerSECRET5",
];

/// Runs `command` and fails if any secret is in its output; returns stdout and stderr.
fn shows_no_secret(command: &mut Command, what: &str) -> String {
    let output = command.output_within();
    let text = format!(
        "{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    for secret in SECRETS {
        assert!(!text.contains(secret), "{what} printed {secret}:\n{text}");
    }
    text
}

#[test]
fn addresses_and_headers_are_printed_without_their_secrets() {
    let dir = Scratch::new("secrets");
    let hostile = |command: &mut Command, otlp: &str| {
        command
            .env("TMPDIR", dir.path())
            .env("TRUNK_FLUSH_TIMEOUT_MS", "3000")
            .env(
                "TRUNK_PUBLIC_API_ADDRESS",
                "https://ci-bot:apiPASSWORD1@trunk.example",
            )
            .env("OTEL_EXPORTER_OTLP_ENDPOINT", otlp)
            .env(
                "OTEL_EXPORTER_OTLP_HEADERS",
                "Authorization: Bearer headerSECRET4==,x-team=a,Authorization: Bearer headerSECRET5",
            );
    };
    for otlp in [
        // Nothing listens there: the "unreachable or hanging" warning names the endpoint.
        "http://collector:otlpPASSWORD2@127.0.0.1:1",
        "http://127.0.0.1:1/?api_key=querySECRET3",
    ] {
        let mut exec = cli(dir.path());
        exec.args(["exec", "--", "true"]);
        hostile(&mut exec, otlp);
        let text = shows_no_secret(&mut exec, "a tracked process");
        assert!(text.contains("TRUNK_PUBLIC_API_ADDRESS"), "{text}");

        let mut flush = cli(dir.path());
        flush.args(["flush", "--timeout", "2s"]);
        hostile(&mut flush, otlp);
        shows_no_secret(&mut flush, "flush");

        let mut doctor = cli(dir.path());
        doctor.arg("doctor");
        hostile(&mut doctor, otlp);
        let text = shows_no_secret(&mut doctor, "doctor");
        assert!(
            text.contains("127.0.0.1:1"),
            "doctor still shows where it sends: {text}"
        );
    }
}
