//! `job start` / `job finish` as a GitHub Actions job runs them: every step a new process of
//! the real binary, the variables one step appends to `$GITHUB_ENV` given to the next (as
//! the runner does), events and spans read back from the loopback test server.

#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test fails by panicking

mod runs;

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use runs::{Bounded, cli, tag};
use serde_json::Value;
use trunk_ci_analytics::track_event;
use trunk_ci_analytics_testkit::{Scratch, clean_command};
use trunk_ci_analytics_testserver::TestServer;
use trunk_ci_analytics_testserver::opentelemetry_proto::tonic::common::v1::any_value::Value as Attr;

/// A job on a simulated runner: its `$GITHUB_ENV` file and what every step gets.
struct Job {
    scratch: Scratch,
    server: TestServer,
}

impl Job {
    fn new(label: &str) -> Job {
        let scratch = Scratch::new(label);
        std::fs::write(scratch.join("github_env"), "").unwrap();
        Job {
            scratch,
            server: TestServer::start(),
        }
    }

    fn github_env(&self) -> PathBuf {
        self.scratch.join("github_env")
    }

    /// A step: the binary with the job's settings and what earlier steps exported.
    fn step(&self) -> Command {
        let mut cmd = cli(self.scratch.path());
        cmd.env("GITHUB_ACTIONS", "true")
            .env("GITHUB_WORKFLOW", "CI")
            .env("GITHUB_JOB", "test")
            .env("GITHUB_RUN_ID", "4242")
            .env("GITHUB_REPOSITORY", "acme/widgets")
            .env("GITHUB_ENV", self.github_env())
            .env("GITHUB_STEP_SUMMARY", self.scratch.join("summary.md"))
            .env("TRUNK_API_TOKEN", self.server.token())
            .env("TRUNK_PUBLIC_API_ADDRESS", self.server.url())
            .env(
                "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
                self.server.otlp_traces_endpoint(),
            );
        for (name, value) in exported(&std::fs::read_to_string(self.github_env()).unwrap()) {
            cmd.env(name, value);
        }
        cmd
    }

    fn run(&self, args: &[&str]) -> Output {
        self.step().args(args).output_within()
    }

    /// The finished events the server got, and the started ones apart.
    fn events(&self) -> (Vec<Value>, Vec<Value>) {
        self.server
            .events()
            .into_iter()
            .partition(|e| e.get("finishedAt").is_some())
    }
}

/// `$GITHUB_ENV`'s lines as the runner reads them: `NAME=value`, or `NAME<<DELIMITER` …
/// `DELIMITER`; a later line for a name wins.
fn exported(text: &str) -> Vec<(String, String)> {
    let mut vars: Vec<(String, String)> = Vec::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        let (name, value) = match (line.split_once("<<"), line.split_once('=')) {
            (Some((name, delimiter)), _) if !name.contains('=') => {
                let value: Vec<&str> = lines.by_ref().take_while(|l| *l != delimiter).collect();
                (name, value.join("\n"))
            }
            (_, Some((name, value))) => (name, value.to_owned()),
            _ => panic!("not a $GITHUB_ENV line: {line}"),
        };
        vars.retain(|(n, _)| n != name);
        vars.push((name.to_owned(), value));
    }
    vars
}

fn named<'a>(events: &'a [Value], name: &str) -> Vec<&'a Value> {
    events
        .iter()
        .filter(|e| e["sequence"]["name"] == name)
        .collect()
}

fn one<'a>(events: &'a [Value], name: &str) -> &'a Value {
    match named(events, name).as_slice() {
        [e] => e,
        found => panic!("{} events named {name}: {events:#?}", found.len()),
    }
}

/// The tracked Rust program of a step: this test binary again, entering here.
#[test]
#[ignore = "entry point of the child process another test starts"]
fn tracked_program_entry() {
    if std::env::var_os("TCA_TRACKED_PROGRAM").is_some() {
        tracked_build();
        std::process::exit(0);
    }
}

#[track_event(flush)]
fn tracked_build() {}

#[test]
fn a_job_is_one_event_over_its_steps_with_their_worst_conclusion() {
    let job = Job::new("job-tree");
    let start = job.run(&["job", "start", "--tag", "os=Linux"]);
    assert!(start.status.success(), "{start:?}");
    assert!(start.stdout.is_empty(), "on GitHub nothing goes to stdout");

    assert!(
        job.run(&["exec", "--name", "lint", "--", "true"])
            .status
            .success()
    );
    let failed = job.run(&["exec", "--name", "unit", "--", "sh", "-c", "exit 3"]);
    assert_eq!(failed.status.code(), Some(3));
    let status = job
        .step()
        .env("TCA_TRACKED_PROGRAM", "1")
        .args(["exec", "--name", "build", "--"])
        .arg(std::env::current_exe().unwrap())
        .args(["tracked_program_entry", "--exact", "--ignored", "--quiet"])
        .stdout(Stdio::null())
        .status_within();
    assert!(status.success());
    let finish = job.run(&["job", "finish"]);
    assert!(finish.status.success(), "{finish:?}");
    let stderr = String::from_utf8_lossy(&finish.stderr);
    assert!(
        stderr.contains("CI / test"),
        "the job's tree on stderr: {stderr}"
    );

    let (finished, started) = job.events();
    let root = one(&finished, "CI / test");
    assert_eq!(root["sequence"]["kind"], "job");
    assert_eq!(
        root["conclusion"], "FAILURE",
        "derived from the failed step"
    );
    assert_eq!(tag(root, "os"), "Linux");
    assert!(root.get("parent").is_none());
    assert_eq!(root["chainId"], root["id"]);
    // Sent at once by `job start`, with the same id and start.
    let announced = one(&started, "CI / test");
    assert_eq!(announced["id"], root["id"]);
    assert_eq!(announced["createdAt"], root["createdAt"]);
    for step in ["lint", "unit", "build"] {
        let e = one(&finished, step);
        assert_eq!(e["parent"]["eventId"], root["id"], "{step}");
        assert_eq!(e["chainId"], root["id"], "{step}");
        assert!(
            root["createdAt"].as_u64() <= e["createdAt"].as_u64(),
            "{step}"
        );
        assert!(
            root["finishedAt"].as_u64() >= e["finishedAt"].as_u64(),
            "{step}"
        );
    }
    assert_eq!(one(&finished, "unit")["conclusion"], "FAILURE");
    let build = one(&finished, "build");
    assert_eq!(
        one(&finished, "tracked_build")["parent"]["eventId"],
        build["id"]
    );

    // The same tree as spans, with the CI/CD conventions on the job's.
    let spans = job.server.spans();
    let span = |name: &str| {
        spans
            .iter()
            .find(|s| s.span.name == name)
            .unwrap_or_else(|| panic!("no span {name}"))
    };
    let job_span = span("CI / test");
    assert_eq!(job_span.span_id_hex(), root["id"].as_str().unwrap());
    assert_eq!(job_span.parent_span_id_hex(), None);
    for step in ["lint", "unit", "build"] {
        assert_eq!(
            span(step).parent_span_id_hex(),
            Some(job_span.span_id_hex())
        );
        assert_eq!(span(step).trace_id_hex(), job_span.trace_id_hex());
    }
    let text = |v: Option<&Attr>| match v {
        Some(Attr::StringValue(s)) => s.clone(),
        other => panic!("not a string: {other:?}"),
    };
    assert_eq!(
        text(job_span.attribute("cicd.pipeline.task.name")),
        "CI / test"
    );
    assert_eq!(text(job_span.attribute("cicd.pipeline.name")), "CI");
    assert_eq!(text(job_span.attribute("cicd.pipeline.run.id")), "4242");
    assert_eq!(
        text(job_span.attribute("cicd.pipeline.task.run.result")),
        "failure"
    );

    // The job summary is the whole job's.
    let summary = std::fs::read_to_string(job.scratch.join("summary.md")).unwrap();
    assert!(
        summary.contains("CI / test") && summary.contains("unit"),
        "{summary}"
    );
}

#[test]
fn the_conclusion_given_wins_and_a_second_finish_records_nothing() {
    let job = Job::new("job-twice");
    assert!(job.run(&["job", "start"]).status.success());
    assert!(
        job.run(&["exec", "--name", "lint", "--", "false"])
            .status
            .code()
            == Some(1)
    );
    // GitHub's `${{ job.status }}`.
    assert!(
        job.run(&["job", "finish", "--conclusion", "cancelled"])
            .status
            .success()
    );
    let again = job.run(&["job", "finish", "--conclusion", "success"]);
    assert!(again.status.success(), "never fails the job");
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("no job to finish"),
        "{again:?}"
    );
    let (finished, _) = job.events();
    let root = one(&finished, "CI / test");
    assert_eq!(root["conclusion"], "CANCELLED");
    // A step after the job finished is not under it.
    assert!(
        job.run(&["exec", "--name", "after", "--", "true"])
            .status
            .success()
    );
    let (finished, _) = job.events();
    assert!(one(&finished, "after").get("parent").is_none());
    assert_eq!(named(&finished, "CI / test").len(), 1);
}

#[test]
fn a_job_whose_finish_never_ran_shows_as_started() {
    let job = Job::new("job-died");
    assert!(
        job.run(&["job", "start", "--name", "deploy"])
            .status
            .success()
    );
    assert!(
        job.run(&["exec", "--name", "upload", "--", "true"])
            .status
            .success()
    );
    // The runner dies here: no `job finish`.
    let (finished, started) = job.events();
    let announced = one(&started, "deploy");
    assert!(announced.get("conclusion").is_none());
    assert!(named(&finished, "deploy").is_empty());
    assert_eq!(
        one(&finished, "upload")["parent"]["eventId"],
        announced["id"]
    );
}

#[test]
fn outside_github_start_prints_exports_for_eval() {
    let scratch = Scratch::new("job-eval");
    let dir = scratch.path();
    let file = dir.join("events.jsonl");
    // `eval "$(trunk-ci-analytics job start)"`, a step, `job finish`, in one shell.
    let script = r#"eval "$("$0" job start --name nightly)" && "$0" exec --name step -- true && "$0" job finish --conclusion success"#;
    let status = clean_command("sh")
        .env("HOME", dir)
        .env("TRUNK_SPOOL_DIR", dir.join("spool"))
        .env("TRUNK_EVENTS_FILE", &file)
        .current_dir(dir)
        .args(["-c", script, runs::BIN])
        .output_within();
    assert!(status.status.success(), "{status:?}");
    let events = runs::events(&file);
    let (job, step) = (
        runs::named(&events, "nightly"),
        runs::named(&events, "step"),
    );
    assert_eq!(step["parent"]["eventId"], job["id"]);
    assert_eq!(job["conclusion"], "SUCCESS");
}

#[test]
fn the_readme_workflow_uses_these_commands() {
    let readme = include_str!("../../README.md");
    for line in [
        "- run: trunk-ci-analytics job start --tag os=${{ runner.os }}",
        "run: trunk-ci-analytics job finish --conclusion ${{ job.status }}",
    ] {
        assert!(
            readme.contains(line),
            "the README's workflow changed: {line}"
        );
    }
    // What GitHub puts in `${{ job.status }}`.
    for status in ["success", "failure", "cancelled"] {
        let job = Job::new("job-status");
        assert!(job.run(&["job", "start"]).status.success());
        let out = job.run(&["job", "finish", "--conclusion", status]);
        assert!(out.status.success(), "{status}: {out:?}");
        let (finished, _) = job.events();
        assert_eq!(
            one(&finished, "CI / test")["conclusion"],
            status.to_uppercase()
        );
    }
}
