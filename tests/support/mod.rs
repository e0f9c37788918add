//! Shared by the `macro_*` runtime tests: one events file per test binary (or the one a
//! parent test hands to a child process), and helpers to read back the recorded events.
//!
//! Tests of one binary run in parallel and share the file: each test picks its own events
//! by the name of its root function, which is unique in the binary.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;
use std::time::Duration;

use serde_json::Value;
use trunk_ci_analytics::{Config, InitGuard};
use trunk_ci_analytics_testkit::{assert_selected, output_within, process_scratch, rerun};
use trunk_ci_analytics_testserver::event_violations;

/// Longest a child may run (a liveness bound).
const CHILD_LIMIT: Duration = Duration::from_secs(120);

/// Set in a child process started by [`child`]: the scenario to run.
pub const CHILD_ENV: &str = "TRUNK_MACRO_TEST_CHILD";
/// The events file a child process writes to.
pub const CHILD_EVENTS_ENV: &str = "TRUNK_MACRO_TEST_EVENTS";

static RUNTIME: OnceLock<(InitGuard, PathBuf)> = OnceLock::new();

/// Sets analytics up once per process and returns the events file. Call it before any
/// tracked function. In a test process: local mode, a fresh file, and nothing read from
/// whatever environment runs the tests (no token, context, OTLP endpoint or spool of its
/// own). In a child process, whose environment the parent cleared: what the parent set, the
/// file it named.
pub fn init() -> &'static Path {
    &RUNTIME
        .get_or_init(|| {
            let child = std::env::var_os(CHILD_ENV).is_some();
            let path = match std::env::var_os(CHILD_EVENTS_ENV) {
                Some(p) if child => PathBuf::from(p),
                _ => process_scratch(env!("CARGO_CRATE_NAME")).join("events.jsonl"),
            };
            // Never upload from tests, and never print the local summary (it would also
            // write the events file early, hiding whether a flush happened).
            let config = if child {
                Config::from_env()
            } else {
                Config::default()
            };
            let config = config.token("").events_file(&path).summary(false);
            (trunk_ci_analytics::init(config), path)
        })
        .1
}

/// Flushes and returns every event recorded so far in this process.
pub fn flushed() -> Events {
    let path = init();
    let report = trunk_ci_analytics::flush(Duration::from_secs(10));
    assert!(!report.timed_out, "flush timed out: {report}");
    read(path)
}

/// Every event in a JSON-lines events file (none if it does not exist).
pub fn read(path: &Path) -> Events {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => panic!("cannot read {}: {e}", path.display()),
    };
    let events: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad line {l:?}: {e}")))
        .collect();
    // Judged by the test server's own reading of the API documentation, not by the
    // runtime's validator, which shares its authors' reading with the encoder.
    for e in &events {
        let broken = event_violations(e);
        assert!(
            broken.is_empty(),
            "event breaks the wire contract: {broken:?}\n{e:#}"
        );
    }
    Events(events)
}

/// Flushes, then returns the events of the chain whose root is the one event named `root`.
pub fn tree(root: &str) -> Events {
    let all = flushed();
    let root = all.one(root);
    let chain = root["chainId"].clone();
    assert_eq!(
        root["id"], chain,
        "a root's chainId is its own id: {root:#}"
    );
    Events(
        all.0
            .iter()
            .filter(|e| e["chainId"] == chain)
            .cloned()
            .collect(),
    )
}

/// Recorded events, as wire JSON.
#[derive(Debug)]
pub struct Events(pub Vec<Value>);

impl Events {
    /// The finished events among what a server received, leaving out the *started* events
    /// (no `finishedAt`) of events that ran a second or more.
    pub fn finished(received: Vec<Value>) -> Events {
        Events(
            received
                .into_iter()
                .filter(|e| e.get("finishedAt").is_some())
                .collect(),
        )
    }

    /// The finished events of a run that is over: every started event must have been
    /// followed by its finished one, with the same id and start.
    pub fn settled(received: Vec<Value>) -> Events {
        let finished = Events::finished(received.clone());
        for started in received.iter().filter(|e| e.get("finishedAt").is_none()) {
            assert!(started.get("conclusion").is_none(), "{started}");
            assert!(
                finished
                    .0
                    .iter()
                    .any(|e| e["id"] == started["id"] && e["createdAt"] == started["createdAt"]),
                "a started event never finished: {started}"
            );
        }
        finished
    }

    /// The one event named `name`; fails when there are none or several.
    pub fn one(&self, name: &str) -> &Value {
        match self.all(name).as_slice() {
            [e] => e,
            found => panic!(
                "expected one event named {name:?}, found {}; names: {:?}",
                found.len(),
                self.names()
            ),
        }
    }

    /// Every event named `name`.
    pub fn all(&self, name: &str) -> Vec<&Value> {
        self.0.iter().filter(|e| self::name(e) == name).collect()
    }

    pub fn names(&self) -> Vec<&str> {
        self.0.iter().map(name).collect()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Asserts `child` is a child of `parent` in the same chain.
    pub fn assert_child(&self, child: &str, parent: &str) {
        let (c, p) = (self.one(child), self.one(parent));
        assert_eq!(parent_id(c), Some(id(p)), "{child} under {parent}: {c:#}");
        assert_eq!(
            c["parent"]["sequenceKey"], p["sequence"]["key"],
            "{child}'s parent sequenceKey"
        );
        assert_eq!(c["chainId"], p["chainId"], "{child} in {parent}'s chain");
    }
}

pub fn name(e: &Value) -> &str {
    e["sequence"]["name"].as_str().unwrap_or_default()
}

pub fn id(e: &Value) -> &str {
    e["id"].as_str().expect("event id")
}

pub fn key(e: &Value) -> &str {
    e["sequence"]["key"].as_str().expect("sequence key")
}

pub fn parent_id(e: &Value) -> Option<&str> {
    e["parent"]["eventId"].as_str()
}

pub fn conclusion(e: &Value) -> &str {
    e["conclusion"].as_str().expect("conclusion")
}

fn find<'a>(list: &'a Value, k: &str) -> Option<&'a Value> {
    let list = list.as_array().expect("an array of {k, v}");
    let found: Vec<_> = list.iter().filter(|t| t["k"] == k).collect();
    assert!(found.len() <= 1, "{k} appears {} times", found.len());
    found.first().map(|t| &t["v"])
}

/// The event tag `k`.
pub fn tag_of<'a>(e: &'a Value, k: &str) -> Option<&'a Value> {
    find(&e["payload"]["tags"], k)
}

/// The event metric `k`.
pub fn metric_of(e: &Value, k: &str) -> Option<f64> {
    find(&e["payload"]["metrics"], k).map(|v| v.as_f64().expect("a number"))
}

/// The sequence tag `k`.
pub fn sequence_tag_of<'a>(e: &'a Value, k: &str) -> Option<&'a Value> {
    find(&e["sequence"]["payload"]["tags"], k)
}

/// The message of a panic payload (`panic!` gives a `&str` or a `String`).
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> &str {
    match (
        payload.downcast_ref::<&str>(),
        payload.downcast_ref::<String>(),
    ) {
        (Some(s), _) => s,
        (_, Some(s)) => s,
        _ => panic!("the payload is not a message"),
    }
}

/// Starts this test binary again running only `entry` with `scenario`, writing events to
/// `events`, from a cleared environment (no token, context or switch of whatever runs the
/// tests).
pub fn child(entry: &str, scenario: &str, events: &Path) -> Command {
    let mut cmd = rerun(entry);
    cmd.env(CHILD_ENV, scenario)
        .env(CHILD_EVENTS_ENV, events)
        .env("TRUNK_EVENTS_FILE", events);
    cmd
}

/// The scenario this process was started for, if it is a child.
pub fn scenario() -> Option<String> {
    std::env::var(CHILD_ENV).ok()
}

/// Runs a child to completion (within a watchdog), with its output for failure messages;
/// fails unless it ran its entry test.
pub fn run(cmd: &mut Command) -> Output {
    let out = output_within(cmd, CHILD_LIMIT);
    let stdout = String::from_utf8_lossy(&out.stdout);
    eprintln!(
        "child stdout:\n{stdout}\nchild stderr:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_selected(&stdout);
    out
}
