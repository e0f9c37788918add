//! The child side of the `hostile` tests and the parent's way to run it.
#![allow(dead_code)]

use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use serde_json::Value;
use trunk_ci_analytics_testkit::{Scratch, assert_selected, output_within, rerun};

/// Env var naming the scenario a child runs.
pub const SCENARIO: &str = "TCA_HOSTILE";

/// A token no test prints; every child's output is checked for it.
pub const TOKEN: &str = "tk_hostile_secret_7f3a9c";

/// Longest a child may run: far above any scenario's own waits (a liveness bound).
pub const CHILD_LIMIT: Duration = Duration::from_secs(120);

/// Dispatches to the scenario the parent named. Call it from the ignored `child` test.
pub fn child_main() {
    let Ok(scenario) = std::env::var(SCENARIO) else {
        return;
    };
    match scenario.as_str() {
        "netns" => crate::address::netns_child(),
        "one_event" => crate::proxy::one_event_child(),
        "exit_overrun" => crate::exit_budget::exit_overrun_child(),
        "replay_and_hang" => crate::claims::replay_and_hang_child(),
        "fork" => crate::fork::fork_child(),
        "tls_teardown" => crate::teardown::tls_teardown_child(),
        "cancelled" => crate::signals::cancelled_child(),
        "own_handler_first" => crate::signals::own_handler_first_child(),
        "own_handler_later" => crate::signals::own_handler_later_child(),
        "killed" => crate::signals::killed_child(),
        "early_signal" => crate::signal_edges::early_signal_child(),
        "started_then_spooled" => crate::signals::started_then_spooled_child(),
        "big_tags" => crate::bytes::big_tags_child(),
        "secrets" => crate::secrets::secrets_child(),
        "live_tag_bytes" => crate::bytes::live_tag_bytes_child(),
        "display_err" => crate::display::display_err_child(),
        "huge_timeouts" => crate::timeouts::huge_timeouts_child(),
        "huge_timeout_env" => crate::timeouts::huge_timeout_env_child(),
        other => panic!("unknown scenario {other}"),
    }
}

/// The command that runs this binary's `child` test with `scenario`, from a cleared
/// environment.
pub fn child_command(scenario: &str) -> Command {
    let mut cmd = rerun("child");
    cmd.env(SCENARIO, scenario);
    cmd
}

/// [`child_command`] uploading to `url` with [`TOKEN`], spooling into `spool`.
pub fn uploading(scenario: &str, url: &str, spool: &Path) -> Command {
    let mut cmd = child_command(scenario);
    cmd.env("TRUNK_API_TOKEN", TOKEN)
        .env("TRUNK_PUBLIC_API_ADDRESS", url)
        .env("TRUNK_REPO", "acme/widgets")
        .env("TRUNK_SPOOL_DIR", spool);
    cmd
}

/// The arguments that select the `child` test.
pub fn child_args() -> [&'static str; 5] {
    [
        "child",
        "--exact",
        "--ignored",
        "--nocapture",
        "--test-threads=1",
    ]
}

/// Runs `cmd` (within [`CHILD_LIMIT`]), asserts it ran its scenario and the token is in
/// neither output, and returns the outputs as text.
pub fn run(cmd: &mut Command) -> (Output, String, String) {
    let out = output_within(cmd, CHILD_LIMIT);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_selected(&stdout);
    assert!(!stdout.contains(TOKEN), "token on stdout:\n{stdout}");
    assert!(!stderr.contains(TOKEN), "token on stderr:\n{stderr}");
    (out, stdout, stderr)
}

/// What a scenario run with an events file of its own printed and recorded.
pub struct Recorded {
    dir: Scratch,
    pub stdout: String,
    pub stderr: String,
}

impl Recorded {
    /// The events file as written.
    pub fn text(&self) -> String {
        let path = self.dir.join("events.jsonl");
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    /// The events it recorded, parsed.
    pub fn events(&self) -> Vec<Value> {
        self.text()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }
}

/// Runs `scenario` with an events file of its own; fails unless it succeeded.
pub fn recording(scenario: &str) -> Recorded {
    let dir = Scratch::new(scenario);
    let mut cmd = child_command(scenario);
    cmd.env("TRUNK_EVENTS_FILE", dir.join("events.jsonl"));
    let (out, stdout, stderr) = run(&mut cmd);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    Recorded {
        dir,
        stdout,
        stderr,
    }
}

/// The value of `key=` on the child's line starting with `tag`.
pub fn field(stdout: &str, tag: &str, key: &str) -> Option<String> {
    let line = stdout.lines().find_map(|l| l.find(tag).map(|i| &l[i..]))?;
    line.split_whitespace()
        .find_map(|f| f.strip_prefix(key)?.strip_prefix('='))
        .map(str::to_owned)
}
