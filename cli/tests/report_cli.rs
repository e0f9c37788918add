//! The `report` command as a user meets it at the terminal: arguments, exit codes and
//! messages (the page itself is checked in a real browser by `report_browser.rs`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::process::Output;
use std::time::Duration;

use trunk_ci_analytics_testkit::{Scratch, clean_command, output_within};

/// The binary with `args`, from a cleared environment, within a watchdog.
fn cli(args: &[&std::ffi::OsStr]) -> Output {
    output_within(
        clean_command(env!("CARGO_BIN_EXE_trunk-ci-analytics")).args(args),
        Duration::from_secs(60),
    )
}

const GOOD: &str = r#"{"id":"a1","chainId":"a1","createdAt":1000,"finishedAt":2000,"conclusion":"SUCCESS","sequence":{"platform":"local","kind":"step","key":"k","name":"only step","payload":{"metrics":[],"tags":[]}}}"#;

#[test]
fn a_bad_line_is_named_by_file_and_line_and_the_page_is_still_written() {
    let dir = Scratch::new("report-cli-bad-line");
    let events = dir.join("events.jsonl");
    std::fs::write(&events, format!("{GOOD}\n{{\"id\": truncated\n")).unwrap();
    let html = dir.join("out.html");
    let output = cli(&[
        "report".as_ref(),
        events.as_os_str(),
        "--html".as_ref(),
        html.as_os_str(),
    ]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(
        stderr.contains(&format!("{}:2:", events.display())),
        "{stderr}"
    );
    assert!(stderr.contains("(1 events, 1 run)"), "{stderr}");
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.contains("only step"));
}

#[test]
fn a_file_without_events_is_an_error() {
    let dir = Scratch::new("report-cli-empty");
    let events = dir.join("events.jsonl");
    std::fs::write(&events, "\n").unwrap();
    let html = dir.join("out.html");
    let output = cli(&[
        "report".as_ref(),
        events.as_os_str(),
        "--html".as_ref(),
        html.as_os_str(),
    ]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("no events to draw"), "{stderr}");
    assert!(!html.exists());
}

#[test]
fn a_missing_file_is_an_error_naming_it() {
    let dir = Scratch::new("report-cli-missing");
    let events = dir.join("nope.jsonl");
    let html = dir.join("out.html");
    let output = cli(&[
        "report".as_ref(),
        events.as_os_str(),
        "--html".as_ref(),
        html.as_os_str(),
    ]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&format!("cannot read {}", events.display())),
        "{stderr}"
    );
}

#[test]
fn usage_errors_exit_with_2_and_help_lists_report() {
    let output = cli(&["report".as_ref(), "events.jsonl".as_ref()]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("--html"));

    let help = cli(&["--help".as_ref()]);
    assert!(help.status.success());
    assert!(String::from_utf8_lossy(&help.stdout).contains("report"));
}

#[test]
fn the_trace_output_holds_one_slice_per_event_and_parses_as_json() {
    let dir = Scratch::new("report-cli-trace");
    let events = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/small_run.jsonl");
    let trace = dir.join("run.json");
    let html = dir.join("run.html");
    let output = cli(&[
        "report".as_ref(),
        events.as_os_str(),
        "--html".as_ref(),
        html.as_os_str(),
        "--trace".as_ref(),
        trace.as_os_str(),
    ]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(html.exists(), "both outputs are written");
    let lines = std::fs::read_to_string(&events).unwrap();
    let ids: std::collections::BTreeSet<String> = lines
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["id"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    let parsed: Vec<serde_json::Value> =
        serde_json::from_str(&std::fs::read_to_string(&trace).unwrap()).unwrap();
    let slice_ids: std::collections::BTreeSet<String> = parsed
        .iter()
        .filter(|e| e["ph"] == "X")
        .map(|e| e["args"]["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(slice_ids, ids);
    assert!(parsed.iter().all(|e| e["ph"] == "X" || e["ph"] == "M"));
}
