//! `TRUNK_EVENTS_FILE` with several processes appending at once, as when an xtask and the
//! build scripts cargo runs for it share one file: every line must be one whole wire Event.
//!
//! The test re-runs its own binary as the writer processes (the ignored test below, which
//! does nothing unless the parent set `WRITER_ENV`), releases them together, and then checks
//! the file line by line through the public API only.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a failed unwrap is a failed test

use std::collections::{HashMap, HashSet};
use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use trunk_ci_analytics::wire::{Event, TagValue};
use trunk_ci_analytics::{Conclusion, Config, EventBuilder, flush, init};
use trunk_ci_analytics_testkit::{Scratch, rerun};
use trunk_ci_analytics_testserver::event_violations;

const WRITERS: usize = 4;
/// Each round is a root with two children and a grandchild under each: 5 events.
const ROUNDS: usize = 600;
const EVENTS_PER_ROUND: usize = 5;
/// Writers flush this often, so appends from the processes interleave many times.
const FLUSH_EVERY: usize = 50;

const WRITER_TEST: &str = "writer_process";
/// Set in writer processes: their index.
const WRITER_ENV: &str = "EVENTS_FILE_TEST_WRITER";
/// Set in writer processes: a file whose appearance releases them all at once.
const START_ENV: &str = "EVENTS_FILE_TEST_START";

#[test]
fn concurrent_processes_append_one_whole_event_per_line() {
    let dir = Scratch::new("events-file");
    let events_file = dir.join("events.jsonl");
    let start = dir.join("start");

    let mut writers: Vec<(Child, PathBuf, PathBuf)> = (0..WRITERS)
        .map(|i| spawn_writer(i, dir.path(), &events_file, &start))
        .collect();
    // Every writer is up (or nearly) and polling: release them together.
    File::create(&start).expect("start file");

    let deadline = Instant::now() + Duration::from_secs(60);
    for (child, out, err) in &mut writers {
        let status = wait_until(child, deadline);
        let stdout = fs::read_to_string(&*out).unwrap_or_default();
        let stderr = fs::read_to_string(&*err).unwrap_or_default();
        assert!(status, "writer failed:\n{stdout}\n{stderr}");
        // Proves the writer test really ran (a wrong name would run nothing and pass).
        assert!(
            stdout.contains(&format!("test {WRITER_TEST} ... ok")),
            "writer did not run its test:\n{stdout}\n{stderr}"
        );
    }

    let text = fs::read_to_string(&events_file).expect("events file");
    assert!(text.ends_with('\n'), "the file ends in a partial line");
    let mut events = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let value: serde_json::Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("line {} is not one JSON value ({e}): {line}", n + 1));
        let violations = event_violations(&value);
        assert!(
            violations.is_empty(),
            "line {} breaks the wire contract: {violations:#?}",
            n + 1
        );
        let event: Event = serde_json::from_value(value).expect("a wire Event");
        events.push(event);
    }
    assert_eq!(events.len(), WRITERS * ROUNDS * EVENTS_PER_ROUND);

    let by_id: HashMap<&str, &Event> = events.iter().map(|e| (e.id.as_str(), e)).collect();
    assert_eq!(by_id.len(), events.len(), "event ids are not unique");

    let mut per_writer: HashMap<String, usize> = HashMap::new();
    let mut roots = HashSet::new();
    for e in &events {
        let writer = tag(e, "writer").expect("writer tag");
        *per_writer.entry(writer.clone()).or_default() += 1;
        match &e.parent {
            None => {
                assert_eq!(e.chain_id, e.id, "a root is its own chain");
                roots.insert(e.id.as_str());
            }
            Some(p) => {
                let parent = by_id
                    .get(p.event_id.as_str())
                    .unwrap_or_else(|| panic!("parent of {} is not in the file", e.id));
                assert_eq!(
                    e.chain_id, parent.chain_id,
                    "child and parent share a chain"
                );
                let parent_key = parent.sequence.as_ref().map(|s| s.key.as_str());
                assert_eq!(Some(p.sequence_key.as_str()), parent_key);
                assert_eq!(
                    tag(parent, "writer"),
                    Some(writer),
                    "parent from another process"
                );
            }
        }
    }
    assert_eq!(roots.len(), WRITERS * ROUNDS);
    for i in 0..WRITERS {
        assert_eq!(
            per_writer.get(&i.to_string()),
            Some(&(ROUNDS * EVENTS_PER_ROUND)),
            "events of writer {i}"
        );
    }
    let _ = fs::remove_dir_all(&dir);
}

/// The writer side: run only as a child of the test above.
#[test]
#[ignore = "a writer process of concurrent_processes_append_one_whole_event_per_line"]
fn writer_process() {
    let Ok(index) = std::env::var(WRITER_ENV) else {
        return; // run by hand with --ignored: nothing to write to
    };
    let index: u32 = index.parse().expect("writer index");
    let start = PathBuf::from(std::env::var_os(START_ENV).expect("start file"));
    let _guard = init(Config::from_env().summary(false));

    let released_by = Instant::now() + Duration::from_secs(30);
    while !start.exists() {
        assert!(Instant::now() < released_by, "never released");
        std::thread::sleep(Duration::from_millis(1));
    }

    for round in 0..ROUNDS {
        let mut root = EventBuilder::new("round")
            .key("events-file::round")
            .kind("pipeline")
            .root()
            .tag("writer", index)
            .tag("round", round)
            .start();
        root.in_scope(|| {
            for step in 0..2u32 {
                let mut child = EventBuilder::new(format!("step {step}"))
                    .key(format!("events-file::step-{step}"))
                    .tag("writer", index)
                    .sequence_tag("step", step)
                    .start();
                child.in_scope(|| {
                    EventBuilder::new("leaf")
                        .key("events-file::leaf")
                        .tag("writer", index)
                        .metric("items", 3 * step + 1)
                        .start()
                        .finish(Conclusion::Success);
                });
                child.finish(if step == 0 {
                    Conclusion::Success
                } else {
                    Conclusion::Failure
                });
            }
        });
        root.finish(Conclusion::Success);
        if round % FLUSH_EVERY == FLUSH_EVERY - 1 {
            flush(Duration::from_secs(10));
        }
    }
    let report = flush(Duration::from_secs(10));
    assert!(!report.timed_out, "{report}");
}

fn spawn_writer(
    index: usize,
    dir: &Path,
    events_file: &Path,
    start: &Path,
) -> (Child, PathBuf, PathBuf) {
    let out = dir.join(format!("writer-{index}.out"));
    let err = dir.join(format!("writer-{index}.err"));
    let mut cmd = rerun(WRITER_TEST);
    cmd.env(WRITER_ENV, index.to_string())
        .env(START_ENV, start)
        .env("TRUNK_EVENTS_FILE", events_file)
        .env("TRUNK_CI_ANALYTICS_LOG", "error")
        .stdin(Stdio::null())
        .stdout(File::create(&out).expect("stdout file"))
        .stderr(File::create(&err).expect("stderr file"));
    (cmd.spawn().expect("spawn writer"), out, err)
}

/// Waits for `child` until `deadline`, killing it past that. True if it exited successfully.
fn wait_until(child: &mut Child, deadline: Instant) -> bool {
    loop {
        match child.try_wait().expect("wait") {
            Some(status) => return status.success(),
            None if Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                return false;
            }
            None => std::thread::sleep(Duration::from_millis(10)),
        }
    }
}

fn tag(e: &Event, key: &str) -> Option<String> {
    let payload = e.payload.as_ref()?;
    payload
        .tags
        .iter()
        .find(|t| t.k == key)
        .map(|t| match &t.v {
            TagValue::Str(s) => s.clone(),
            TagValue::Int(i) => i.to_string(),
            other => format!("{other:?}"),
        })
}
