//! Helpers of the tests that run the real binary as CI would: a clean environment, the
//! events a run wrote, bounded waits, and processes looked up by pid.

#![allow(dead_code)] // each test crate uses its own part

use std::path::Path;
use std::process::{Command, ExitStatus, Output};
use std::time::{Duration, Instant};

use serde_json::Value;
use trunk_ci_analytics_testkit::{clean_command, output_within, wait_within};

pub const BIN: &str = env!("CARGO_BIN_EXE_trunk-ci-analytics");

/// Longest any run of the binary may take here (a liveness bound, far above what they take).
pub const LIMIT: Duration = Duration::from_secs(120);

/// `trunk-ci-analytics` with nothing from the test's own environment but `PATH`: no CI
/// variables, no inherited context, no token; `dir` as its home, the spool in `dir`, run from
/// `dir`.
pub fn cli(dir: &Path) -> Command {
    let mut command = clean_command(BIN);
    command
        .env("HOME", dir)
        .env("TRUNK_SPOOL_DIR", dir.join("spool"))
        .env("TRUNK_FLUSH_TIMEOUT_MS", "10000")
        .current_dir(dir);
    command
}

/// `Command::status` and `Command::output` with a watchdog: a run past [`LIMIT`] is killed
/// and fails its test instead of hanging the suite.
pub trait Bounded {
    fn status_within(&mut self) -> ExitStatus;
    fn output_within(&mut self) -> Output;
}

impl Bounded for Command {
    fn status_within(&mut self) -> ExitStatus {
        let mut child = self.spawn().unwrap();
        wait_within(&mut child, LIMIT)
    }

    fn output_within(&mut self) -> Output {
        output_within(self, LIMIT)
    }
}

/// The events a run appended to `path`, in order.
pub fn events(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

/// The one event named `name`.
pub fn named<'a>(events: &'a [Value], name: &str) -> &'a Value {
    let found: Vec<&Value> = events
        .iter()
        .filter(|e| e["sequence"]["name"] == name)
        .collect();
    assert_eq!(found.len(), 1, "events named {name}: {events:#?}");
    found[0]
}

/// The tag `key` of `event`.
pub fn tag<'a>(event: &'a Value, key: &str) -> &'a Value {
    event["payload"]["tags"]
        .as_array()
        .and_then(|tags| tags.iter().find(|t| t["k"] == key))
        .map_or(&Value::Null, |t| &t["v"])
}

/// Waits (bounded) until `path` holds a line, for a child that reports its pid.
pub fn read_when_written(path: &Path) -> String {
    let until = Instant::now() + Duration::from_secs(20);
    loop {
        if let Ok(text) = std::fs::read_to_string(path) {
            if text.ends_with('\n') {
                return text.trim().to_owned();
            }
        }
        assert!(Instant::now() < until, "{} never written", path.display());
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Whether process `pid` is alive: it exists and is not a zombie waiting for its parent.
pub fn alive(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state follows the command name in parentheses: `pid (comm) S ...`.
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| !rest.trim_start().starts_with('Z')),
        Err(_) => false,
    }
}
