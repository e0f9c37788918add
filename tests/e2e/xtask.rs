//! The xtask example as a user runs it: on a (fabricated) GitHub Actions runner uploading to
//! the server, with a failing step, and on a laptop without a token, where it prints the tree.

use std::path::Path;
use std::process::Command;

use serde_json::Value;
use trunk_ci_analytics_testkit::Scratch;
use trunk_ci_analytics_testserver::TestServer;

use crate::fixture::fixture;
use crate::harness::{self, COLD_BUILD_LIMIT, QUICK_LIMIT};
use crate::support::{Events, conclusion, id, key, metric_of, name, parent_id, tag_of};

const STEPS: [&str; 4] = ["fmt", "lint", "test", "build"];
const SHA: &str = "8f14e45fceea167a5a36dedd4bea2543c0ffee00";
const BRANCH: &str = "feature/faster-ci";
const RUN_ID: &str = "9876543210";
const RUNNER: &str = "GitHub Actions 42";

/// `xtask <task>` (the example `xtask` command) as on a GitHub Actions push build of
/// `acme/widgets` (no `TRUNK_REPO`: the repository comes from `GITHUB_REPOSITORY`), uploading
/// to `server`, spooling into `spool`.
fn xtask_on_github(mut cmd: Command, task: &str, server: &TestServer, spool: &Path) -> Command {
    cmd.arg(task)
        .env("CARGO_TARGET_DIR", harness::target_root())
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_REPOSITORY", harness::REPO)
        .env("GITHUB_SHA", SHA)
        .env("GITHUB_REF", format!("refs/heads/{BRANCH}"))
        .env("GITHUB_REF_NAME", BRANCH)
        .env("GITHUB_REF_TYPE", "branch")
        .env("GITHUB_EVENT_NAME", "push")
        .env("GITHUB_RUN_ID", RUN_ID)
        .env("GITHUB_RUN_ATTEMPT", "1")
        .env("GITHUB_SERVER_URL", "https://github.com")
        .env("GITHUB_WORKFLOW", "CI")
        .env("RUNNER_NAME", RUNNER)
        .env("RUNNER_OS", "Linux");
    harness::upload_to(&mut cmd, server, spool);
    cmd
}

/// The one event named `name` whose parent is `parent`.
fn child_named<'e>(events: &'e Events, name: &str, parent: &Value) -> &'e Value {
    let e = events.one(name);
    assert_eq!(
        parent_id(e),
        Some(id(parent)),
        "{name} under {}: {e:#}",
        self::name(parent)
    );
    assert_eq!(
        e["parent"]["sequenceKey"], parent["sequence"]["key"],
        "{e:#}"
    );
    assert_eq!(e["chainId"], parent["chainId"], "{e:#}");
    e
}

/// Every event the server holds, all in the chain of the one root named `xtask`.
fn xtask_tree(server: &TestServer) -> (Events, Value) {
    let events = Events::settled(server.events());
    let root = events.one("xtask").clone();
    assert_eq!(
        root["chainId"], root["id"],
        "the root's chain is its own id"
    );
    assert!(root.get("parent").is_none(), "{root:#}");
    for e in &events.0 {
        assert_eq!(e["chainId"], root["id"], "one chain: {e:#}");
    }
    assert!(
        server.duplicate_ids().is_empty(),
        "{:?}",
        server.duplicate_ids()
    );
    (events, root)
}

#[test]
fn xtask_ci_sends_the_whole_tree_with_github_actions_tags() {
    let fixture = fixture();
    fixture.rerun_build_scripts();
    let server = TestServer::start();
    let spool = Scratch::new("xtask-ci-spool");
    let mut cmd = xtask_on_github(fixture.example("xtask"), "ci", &server, spool.path());
    let out = harness::run(&mut cmd, COLD_BUILD_LIMIT);
    assert!(
        out.status.success(),
        "xtask ci failed:\n{}",
        harness::stderr(&out)
    );

    // Everything is there when the process has exited: its `main` flushes, and so does each
    // build script's.
    let (events, root) = xtask_tree(&server);
    assert_eq!(conclusion(&root), "SUCCESS");
    let ci = child_named(&events, "ci", &root);
    assert_eq!(conclusion(ci), "SUCCESS");
    let steps: Vec<&Value> = STEPS.iter().map(|s| child_named(&events, s, ci)).collect();
    for step in &steps {
        assert_eq!(conclusion(step), "SUCCESS", "{step:#}");
        assert_eq!(step["sequence"]["kind"], "step");
        assert_eq!(tag_of(step, "exit_code"), Some(&Value::from(0)), "{step:#}");
    }

    // Build scripts hang under the step whose cargo ran them. `fmt` compiles nothing; `lint`
    // is the first to build after the clean, so it runs both.
    let mains: Vec<&Value> = events.all("main");
    for main in &mains {
        let step = steps
            .iter()
            .find(|s| parent_id(main) == Some(id(s)))
            .unwrap_or_else(|| panic!("a build script under no step: {main:#}"));
        assert_ne!(name(step), "fmt");
        assert_eq!(main["parent"]["sequenceKey"], step["sequence"]["key"]);
        assert_eq!(conclusion(main), "SUCCESS");
        let helpers: Vec<&str> = events
            .0
            .iter()
            .filter(|e| parent_id(e) == Some(id(main)))
            .map(name)
            .collect();
        assert_eq!(helpers.len(), 2, "generate and probe_compiler: {helpers:?}");
    }
    let lint = steps[1];
    let mut under_lint: Vec<&str> = mains
        .iter()
        .filter(|m| parent_id(m) == Some(id(lint)))
        .map(|m| key(m))
        .collect();
    under_lint.sort_unstable();
    assert_eq!(
        under_lint,
        [
            "fixture-alpha::build_script_build::main",
            "fixture-beta::build_script_build::main"
        ]
    );

    // Cargo's own work, recorded by the example's `record_cargo`, under the step whose
    // cargo did it; a tracked build script's `main` is there once per run, beside its run.
    let of_kind = |kind: &str| -> Vec<&Value> {
        events
            .0
            .iter()
            .filter(|e| e["sequence"]["kind"] == kind)
            .collect()
    };
    let cargo_work: Vec<&Value> = ["compile", "build_script_run", "test_binary"]
        .into_iter()
        .flat_map(of_kind)
        .collect();
    for e in &cargo_work {
        assert!(
            steps[1..].iter().any(|s| parent_id(e) == Some(id(s))),
            "under a step that ran cargo: {e:#}"
        );
        assert_eq!(conclusion(e), "SUCCESS", "{e:#}");
    }
    for step in &steps {
        let under = |list: &[&Value]| {
            list.iter()
                .filter(|e| parent_id(e) == Some(id(step)))
                .count()
        };
        assert_eq!(
            under(&mains),
            under(&of_kind("build_script_run")),
            "{}: one `main` per build-script run",
            name(step)
        );
    }
    let compiled_under_lint: Vec<&str> = of_kind("compile")
        .into_iter()
        .filter(|e| parent_id(e) == Some(id(lint)))
        .filter_map(|e| tag_of(e, "crate")?.as_str())
        .collect();
    for krate in ["fixture-alpha", "fixture-beta"] {
        assert!(
            compiled_under_lint.contains(&krate),
            "{compiled_under_lint:?}"
        );
    }
    assert!(
        tag_of(lint, "critical_path")
            .is_some_and(|p| p.as_str().is_some_and(|p| p.contains(" → "))),
        "{lint:#}"
    );
    let test = steps[2];
    let test_runs: Vec<&Value> = of_kind("test_binary")
        .into_iter()
        .filter(|e| parent_id(e) == Some(id(test)))
        .collect();
    assert!(
        test_runs
            .iter()
            .any(|e| name(e) == "Doc-tests fixture_alpha"),
        "{test_runs:#?}"
    );
    assert!(
        test_runs.iter().all(|e| metric_of(e, "passed").is_some()),
        "libtest's counts read from a pipe: {test_runs:#?}"
    );
    assert_eq!(
        events.len(),
        2 + STEPS.len() + 3 * mains.len() + cargo_work.len(),
        "nothing else: {:?}",
        events.names()
    );

    // Every process detected the same GitHub Actions run: build scripts inherit it from cargo.
    let run_url = format!("https://github.com/{}/actions/runs/{RUN_ID}", harness::REPO);
    for e in &events.0 {
        assert_eq!(e["sequence"]["platform"], "github_actions", "{e:#}");
        for (k, v) in [
            ("branch", BRANCH),
            ("sha", SHA),
            ("runner", RUNNER),
            ("run_url", run_url.as_str()),
        ] {
            assert_eq!(tag_of(e, k), Some(&Value::from(v)), "tag {k}: {e:#}");
        }
    }
    for request in server.requests() {
        assert!(
            request.token_ok && request.status == Some(200),
            "{request:?}"
        );
    }
}

/// A step whose command fails ends the pipeline: the failure reaches the root and the
/// process's exit code, and is uploaded like a success. `false` stands for a cargo that fails.
#[cfg(unix)]
#[test]
fn a_failing_xtask_step_fails_the_pipeline_up_to_the_root() {
    let server = TestServer::start();
    let spool = Scratch::new("xtask-failing-spool");
    let mut cmd = xtask_on_github(harness::example("xtask"), "ci", &server, spool.path());
    let out = harness::run(cmd.env("CARGO", "false"), QUICK_LIMIT);
    assert_eq!(out.status.code(), Some(1), "{}", harness::stderr(&out));

    let (events, root) = xtask_tree(&server);
    assert_eq!(
        events.len(),
        3,
        "no step after fmt ran: {:?}",
        events.names()
    );
    let ci = child_named(&events, "ci", &root);
    let fmt = child_named(&events, "fmt", ci);
    assert_eq!(tag_of(fmt, "exit_code"), Some(&Value::from(1)));
    for e in [&root, ci, fmt] {
        assert_eq!(conclusion(e), "FAILURE", "{e:#}");
    }
}

/// `cargo run --example xtask -- ci` on a laptop, the README's first command: no token, so
/// the tree of the whole run, the fixture's build scripts included, is printed on stderr
/// when `main` returns.
#[test]
fn xtask_without_a_token_prints_the_tree() {
    let fixture = fixture();
    fixture.rerun_build_scripts();
    let mut cmd = fixture.example("xtask");
    cmd.arg("ci")
        .env("CARGO_TARGET_DIR", harness::target_root());
    let out = harness::run(&mut cmd, COLD_BUILD_LIMIT);
    drop(fixture);
    let log = harness::stderr(&out);
    assert!(out.status.success(), "{log}");
    let lines: Vec<&str> = log
        .lines()
        .skip_while(|l| !l.starts_with("trunk-ci-analytics: xtask ✔ "))
        .collect();
    assert!(
        lines
            .first()
            .is_some_and(|l| l.contains(" events in ")
                && l.ends_with(" processes, local mode: not uploaded)")),
        "{log}"
    );
    let at = |row: &str| {
        lines
            .iter()
            .position(|l| l.starts_with(row))
            .unwrap_or_else(|| panic!("no row {row:?} in:\n{log}"))
    };
    let (xtask, ci, fmt, lint, build) = (
        at("  ✔ xtask "),
        at("    ✔ ci "),
        at("      ✔ fmt "),
        at("      ✔ lint "),
        at("      ✔ build "),
    );
    assert!(
        xtask < ci && ci < fmt && fmt < lint && lint < build,
        "{log}"
    );
    // `lint` builds first after the clean: both build scripts run under it, one line for
    // the two (same name), each listed below with its helpers; cargo's units and runs
    // are one line per kind.
    let lint_rows = &lines[lint..build];
    for row in [
        "        ✔ main ×2 ",
        "        ✔ compile ×",
        "        ✔ build_script_run ×2 ",
    ] {
        assert!(
            lint_rows.iter().any(|l| l.starts_with(row)),
            "{row:?} in:\n{log}"
        );
    }
    let helpers = lines[lint..build]
        .iter()
        .filter(|l| {
            l.starts_with("            ✔ generate ")
                || l.starts_with("            ✔ probe_compiler ")
        })
        .count();
    assert!(helpers >= 4, "{log}");
    // Below the tree: each step's critical path, and the slowest crates.
    let paths = lines
        .iter()
        .filter(|l| l.starts_with("  critical path ("))
        .count();
    assert!(
        paths >= 2,
        "lint and test (build may find all fresh): {log}"
    );
    assert!(
        lines.iter().any(|l| l.starts_with("  slowest crates: ")),
        "{log}"
    );

    let mut cmd = harness::example("xtask");
    let out = harness::run(cmd.arg("deploy"), QUICK_LIMIT);
    let log = harness::stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{log}");
    assert!(log.contains("unknown task `deploy`"), "{log}");
    assert_tree(
        &log,
        "trunk-ci-analytics: xtask ✘ ",
        "(1 event, local mode: not uploaded)",
        &["  ✘ xtask "],
    );
}

/// Finds the summary whose header starts with `header` and ends with `count`, and checks the
/// lines after it, each one level deeper than its parent, in start order.
fn assert_tree(log: &str, header: &str, count: &str, rows: &[&str]) {
    let lines: Vec<&str> = log.lines().collect();
    let at = lines
        .iter()
        .position(|l| l.starts_with(header))
        .unwrap_or_else(|| panic!("no summary starting {header:?} in:\n{log}"));
    assert!(lines[at].ends_with(count), "{}", lines[at]);
    let below = &lines[at + 1..];
    assert!(below.len() >= rows.len(), "summary cut short:\n{log}");
    for (line, row) in below.iter().zip(rows) {
        assert!(
            line.starts_with(row),
            "{line:?} should start with {row:?} in:\n{log}"
        );
        // Each row ends with the event's duration: `12.5 ms`, `4.21 s` or `1m01.0s`.
        assert!(line.ends_with('s'), "{line:?}");
    }
    if let Some(next) = below.get(rows.len()) {
        let row = next.trim_start().starts_with(['✔', '✘']);
        assert!(!row, "extra row {next:?} in:\n{log}");
    }
}

/// Turning the recording on (the example's `record_cargo`) and off again makes cargo rebuild
/// nothing in the real fixture, whose dependency tree is this workspace's own.
#[test]
fn recording_the_fixtures_cargo_rebuilds_nothing_either_way() {
    let fixture = fixture();
    let plain = || {
        harness::run(
            &mut fixture.cargo(&["build", "--workspace"]),
            COLD_BUILD_LIMIT,
        )
    };
    let first = plain();
    assert!(first.status.success(), "{}", harness::stderr(&first));

    let scratch = Scratch::new("xtask-fresh");
    let events = scratch.join("events.jsonl");
    let mut cmd = fixture.example("xtask");
    cmd.arg("build")
        .env("CARGO_TARGET_DIR", harness::target_root())
        .env("TRUNK_EVENTS_FILE", &events);
    let out = harness::run(&mut cmd, COLD_BUILD_LIMIT);
    assert!(out.status.success(), "{}", harness::stderr(&out));
    let recorded = crate::support::read(&events);
    let compiled: Vec<&str> = recorded
        .0
        .iter()
        .filter(|e| e["sequence"]["kind"] == "compile")
        .map(name)
        .collect();
    assert_eq!(compiled, Vec::<&str>::new(), "recording rebuilt");
    let build = recorded.one("build");
    assert_eq!(conclusion(build), "SUCCESS");
    assert_eq!(metric_of(build, "compiled_units"), Some(0.0), "{build:#}");

    let again = plain();
    let log = harness::stderr(&again);
    assert!(again.status.success(), "{log}");
    assert!(
        !log.contains("Compiling"),
        "no longer recording rebuilt:\n{log}"
    );
}
