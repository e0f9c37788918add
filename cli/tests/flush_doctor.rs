//! `flush` and `doctor` against the loopback test server: a run whose token was refused
//! leaves its events in the spool, `flush` with the right token delivers them, and `doctor`
//! tells the three situations apart — never printing a token.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test fails by panicking

mod runs;

use std::path::Path;
use std::process::{Command, Output};

use runs::{BIN, Bounded, cli, named};
use trunk_ci_analytics_testkit::Scratch;
use trunk_ci_analytics_testserver::{ClosedPort, TestServer};

const RIGHT: &str = "tca-right-token-7f3a";
const WRONG: &str = "tca-wrong-token-91c2";

fn with_token(dir: &Path, server: &TestServer, token: Option<&str>) -> Command {
    let mut command = cli(dir);
    command
        .env("TRUNK_PUBLIC_API_ADDRESS", server.url())
        .env("TRUNK_REPO", "acme/app");
    if let Some(token) = token {
        command.env("TRUNK_API_TOKEN", token);
    }
    command
}

fn run(command: &mut Command) -> (Output, String, String) {
    let output = command.output_within();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    for token in [RIGHT, WRONG] {
        assert!(
            !stdout.contains(token) && !stderr.contains(token),
            "a token was printed:\n{stdout}\n{stderr}"
        );
    }
    (output, stdout, stderr)
}

#[test]
fn flush_delivers_what_a_refused_token_left_in_the_spool() {
    let scratch = Scratch::new("cli-flush-after-401");
    let dir = scratch.path();
    let server = TestServer::start_with_token(RIGHT);

    let (output, _, stderr) =
        run(with_token(dir, &server, Some(WRONG)).args(["exec", "--name", "build", "--", "true"]));
    assert!(
        output.status.success(),
        "analytics changed the exit code: {stderr}"
    );
    assert!(stderr.contains("refused the token"), "{stderr}");
    assert_eq!(server.event_count(), 0);

    // Still the wrong token: a configuration problem, said so, nothing sent.
    let (output, stdout, stderr) = run(with_token(dir, &server, Some(WRONG)).arg("flush"));
    assert_eq!(output.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("spooled events of github.com/acme/app to")
            && stdout.contains("(1 waiting)"),
        "{stdout}"
    );
    assert!(stdout.contains("still in the spool: 1"), "{stdout}");
    assert!(stderr.contains("uploading stopped"), "{stderr}");
    assert_eq!(server.event_count(), 0);

    let (output, stdout, stderr) = run(with_token(dir, &server, Some(RIGHT)).arg("flush"));
    assert!(output.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("delivered: 1"), "{stdout}");
    assert!(stdout.contains("still in the spool: 0"), "{stdout}");
    let events = server.events();
    assert_eq!(events.len(), 1);
    assert_eq!(named(&events, "build")["conclusion"], "SUCCESS");

    // Nothing left: a second flush delivers nothing and succeeds.
    let (output, stdout, _) = run(with_token(dir, &server, Some(RIGHT)).arg("flush"));
    assert!(output.status.success());
    assert!(stdout.contains("delivered: 0"), "{stdout}");
    assert_eq!(server.event_count(), 1);
}

#[test]
fn flush_without_a_token_fails_only_when_events_wait() {
    let scratch = Scratch::new("cli-flush-no-token");
    let dir = scratch.path();
    let server = TestServer::start_with_token(RIGHT);
    let (output, stdout, _) = run(with_token(dir, &server, None).arg("flush"));
    assert!(output.status.success());
    assert!(stdout.contains("nothing waits"), "{stdout}");

    let (output, _, _) = run(with_token(dir, &server, Some(WRONG)).args(["exec", "--", "true"]));
    assert!(output.status.success());
    let (output, _, stderr) = run(with_token(dir, &server, None).arg("flush"));
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr.contains("1 event(s) wait in the spool")
            && stderr.contains("TRUNK_API_TOKEN is not set"),
        "{stderr}"
    );
}

#[test]
fn doctor_tells_no_token_a_good_token_and_a_refused_one_apart() {
    let scratch = Scratch::new("cli-doctor");
    let dir = scratch.path();
    let server = TestServer::start_with_token(RIGHT);

    let (output, stdout, _) = run(with_token(dir, &server, None).arg("doctor"));
    assert!(output.status.success(), "{stdout}");
    assert!(
        stdout.contains("not set: nothing is uploaded to trackEvents"),
        "{stdout}"
    );
    assert!(
        stdout.contains("github.com/acme/app (from TRUNK_REPO)"),
        "{stdout}"
    );
    assert!(stdout.contains("No problems found."), "{stdout}");

    let (output, stdout, _) = run(with_token(dir, &server, Some(RIGHT)).arg("doctor"));
    assert!(output.status.success(), "{stdout}");
    assert!(stdout.contains("set (value not shown)"), "{stdout}");
    assert!(stdout.contains("the token accepted"), "{stdout}");
    // The probe carried no events.
    assert_eq!(server.event_count(), 0);
    assert!(server.requests().iter().all(|r| r.n_events == 0));

    let (output, stdout, _) = run(with_token(dir, &server, Some(WRONG)).arg("doctor"));
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("HTTP 401: the token refused (check TRUNK_API_TOKEN)"),
        "{stdout}"
    );
    assert!(stdout.contains("1 problem(s):"), "{stdout}");
}

#[test]
fn doctor_names_the_run_s_uploader_under_exec_and_none_alone() {
    let scratch = Scratch::new("cli-doctor-uploader");
    let dir = scratch.path();
    let server = TestServer::start_with_token(RIGHT);

    let (output, stdout, _) = run(with_token(dir, &server, Some(RIGHT)).arg("doctor"));
    assert!(output.status.success(), "{stdout}");
    assert!(
        stdout.contains("none: events are sent by the process itself"),
        "{stdout}"
    );

    // `exec` uploads, and announces itself to the command it runs.
    let (output, stdout, _) =
        run(with_token(dir, &server, Some(RIGHT)).args(["exec", "--", BIN, "doctor"]));
    assert!(output.status.success(), "{stdout}");
    assert!(
        stdout.contains("(TRUNK_UPLOADER): events are handed to it"),
        "{stdout}"
    );
}

#[test]
fn doctor_shows_the_spool_and_an_unreachable_endpoint() {
    let scratch = Scratch::new("cli-doctor-spool");
    let dir = scratch.path();
    let server = TestServer::start_with_token(RIGHT);
    let (output, _, _) = run(with_token(dir, &server, Some(WRONG)).args(["exec", "--", "true"]));
    assert!(output.status.success());
    let (_, stdout, _) = run(with_token(dir, &server, Some(RIGHT)).arg("doctor"));
    assert!(
        stdout.contains("1 event(s) waiting in 1 file(s) (used by this configuration)"),
        "{stdout}"
    );

    let down = ClosedPort::new();
    let (output, stdout, _) = run(cli(dir)
        .env("TRUNK_PUBLIC_API_ADDRESS", down.url())
        .env("TRUNK_REPO", "acme/app")
        .env("TRUNK_API_TOKEN", RIGHT)
        .arg("doctor"));
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("no answer"), "{stdout}");
}

#[test]
fn doctor_asks_the_otlp_endpoint_with_its_headers_and_never_prints_them() {
    let scratch = Scratch::new("cli-doctor-otlp");
    let dir = scratch.path();
    let server = TestServer::builder()
        .otlp_require_header("x-otlp-secret", RIGHT)
        .start()
        .unwrap();
    let doctor = |secret: &str| {
        run(cli(dir)
            .env("OTEL_EXPORTER_OTLP_ENDPOINT", server.url())
            .env(
                "OTEL_EXPORTER_OTLP_HEADERS",
                format!("x-otlp-secret={secret}"),
            )
            .arg("doctor"))
    };

    let (output, stdout, _) = doctor(RIGHT);
    assert!(output.status.success(), "{stdout}");
    assert!(
        stdout.contains("x-otlp-secret (values not shown)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("/v1/traces POST of an empty export request: HTTP 2xx"),
        "{stdout}"
    );
    assert_eq!(server.span_count(), 0);

    let (output, stdout, _) = doctor(WRONG);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("HTTP 401: the request headers refused (check OTEL_EXPORTER_OTLP_HEADERS)"),
        "{stdout}"
    );
}
