//! A `cargo xtask`-style CI pipeline whose steps are tracked events.
//!
//! ```sh
//! cargo run --example xtask -- ci          # fmt, lint, test and build, as one tree
//! cargo run --example xtask -- build       # one step
//! ```
//!
//! Each step runs a real `cargo` child process on the fixture workspace in
//! `tests/fixtures/buildscripts`, whose build scripts are tracked too: with
//! `record_cargo()` they become children of the step that ran cargo, and so does cargo's own
//! work: every compiled crate, build-script run and test binary, and the build's critical
//! path (`XTASK_FIXTURE` names a copy of the fixture to use instead, as the end-to-end tests
//! do). Without
//! `TRUNK_API_TOKEN` the tree of the whole run, build scripts included, is printed on
//! stderr when `main` returns; add `TRUNK_EVENTS_FILE=events.jsonl` to see every event as
//! JSON, or `TRUNK_TRACE_FILE=trace.json` to open the run in ui.perfetto.dev.

use std::path::{Path, PathBuf};
use std::process::Command;

use trunk_ci_analytics::{CommandExt, track_event};

const TASKS: &str = "ci, fmt, lint, test or build";

#[track_event(name = "xtask", kind = "workflow")]
fn main() -> Result<(), String> {
    let task = std::env::args().nth(1).unwrap_or_else(|| "ci".into());
    match task.as_str() {
        "ci" => ci(),
        "fmt" => fmt_check(),
        "lint" => lint(),
        "test" => test(),
        "build" => build(),
        other => Err(format!("unknown task `{other}`: expected {TASKS}")),
    }
}

/// The whole pipeline; the first failing step stops it.
#[track_event(kind = "workflow")]
fn ci() -> Result<(), String> {
    fmt_check()?;
    lint()?;
    test()?;
    build()
}

#[track_event(name = "fmt", kind = "step")]
fn fmt_check() -> Result<(), String> {
    cargo(&["fmt", "--all", "--check"])
}

#[track_event(kind = "step")]
fn lint() -> Result<(), String> {
    cargo(&["clippy", "--workspace", "--quiet", "--", "-D", "warnings"])
}

#[track_event(kind = "step")]
fn test() -> Result<(), String> {
    cargo(&["test", "--workspace", "--quiet"])
}

#[track_event(kind = "step")]
fn build() -> Result<(), String> {
    cargo(&["build", "--workspace", "--quiet"])
}

/// Runs cargo on the fixture workspace with the current event handed on and cargo's work
/// recorded under it.
fn cargo(args: &[&str]) -> Result<(), String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let fixture = std::env::var_os("XTASK_FIXTURE")
        .map_or_else(|| root.join("tests/fixtures/buildscripts"), PathBuf::from);
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"))
        .join("xtask-fixture");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .args(args)
        .current_dir(&fixture)
        .env("CARGO_TARGET_DIR", target);
    // The step goes to cargo and its build scripts; cargo's units, build-script runs and
    // test binaries come back as the step's children once it has ended.
    let recording = command.record_cargo();
    let status = command
        .status()
        .map_err(|e| format!("cannot run cargo {}: {e}", args[0]))?;
    recording.finish();
    trunk_ci_analytics::tag("exit_code", status.code().unwrap_or(-1));
    if status.success() {
        Ok(())
    } else {
        Err(format!("cargo {} failed: {status}", args[0]))
    }
}
