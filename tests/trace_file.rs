//! A real multi-process run: a tracked program (this test binary started again) whose root
//! event runs work on two threads and starts a child process (the binary again) that
//! inherits its context. Every process appends to one `TRUNK_TRACE_FILE` and one
//! `TRUNK_EVENTS_FILE`; the trace must hold one slice per event with the same name,
//! duration, process, thread and parent, nest like the events, and parse as JSON once `]`
//! is appended. The root's summary shows the child's events too, and the run writes one
//! GitHub job summary section (the child, which inherits `GITHUB_STEP_SUMMARY`, writes none).

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test fails by panicking
// The threads' OS ids are read from /proc.
#![cfg(target_os = "linux")]

use std::collections::HashMap;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use serde_json::Value;
use trunk_ci_analytics::{CommandExt, current_context, tag, track_event};
use trunk_ci_analytics_testkit::{Scratch, assert_selected, output_within, rerun};

const ROLE: &str = "TRUNK_TEST_TRACE_ROLE";
const ENTRY: &str = "trace_process_entry";

/// The OS id of the calling thread, as the trace's `tid` must show it.
fn os_tid() -> i64 {
    let link = std::fs::read_link("/proc/thread-self").unwrap();
    link.file_name().unwrap().to_str().unwrap().parse().unwrap()
}

#[track_event(kind = "step")]
fn on_thread(n: u32) {
    tag("os_tid", os_tid());
    std::thread::sleep(Duration::from_millis(3 + u64::from(n)));
    inner();
}

#[track_event]
fn inner() {
    tag("os_tid", os_tid());
    std::thread::sleep(Duration::from_millis(2));
}

#[track_event(kind = "step")]
fn compile_unit() -> Result<(), String> {
    tag("os_tid", os_tid());
    tag("error.message", "unit | <b>broken</b> `here`");
    Err("broken".into())
}

#[track_event(name = "child_main", kind = "tool")]
fn child_main() -> Result<(), String> {
    tag("os_tid", os_tid());
    for _ in 0..3 {
        inner();
    }
    compile_unit()
}

#[track_event(name = "trace_root", kind = "workflow")]
fn trace_root() {
    tag("os_tid", os_tid());
    let ctx = current_context().expect("inside an event");
    let threads: Vec<_> = (0..2)
        .map(|n| {
            let ctx = ctx.clone();
            std::thread::Builder::new()
                .name(format!("worker-{n}"))
                .spawn(move || ctx.attach(|| on_thread(n)))
                .unwrap()
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    run_child();
}

#[track_event(kind = "step")]
fn run_child() {
    tag("os_tid", os_tid());
    let status = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            ENTRY,
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(ROLE, "child")
        .with_event_context()
        .status()
        .unwrap();
    assert!(status.success());
}

/// Both processes of the run start here, told apart by `ROLE`.
#[test]
#[ignore = "entry point of the processes `one_trace_for_the_whole_run` starts"]
fn trace_process_entry() {
    match std::env::var(ROLE).as_deref() {
        Ok("root") => {
            println!("pid {}", std::process::id());
            trace_root();
        }
        Ok("child") => {
            let _ = child_main();
        }
        _ => return,
    }
    // A plain exit: the exit hook flushes (and the root writes its job summary).
    std::process::exit(0);
}

fn read_trace(path: &Path) -> Vec<Value> {
    let mut text = std::fs::read_to_string(path).unwrap();
    assert!(
        text.starts_with('['),
        "the JSON Array Format opens with `[`"
    );
    text.push(']');
    match serde_json::from_str(&text).expect("the trace is JSON once `]` is appended") {
        Value::Array(items) => items,
        other => panic!("not an array: {other}"),
    }
}

fn tag_of(event: &Value, key: &str) -> Option<Value> {
    event["payload"]["tags"]
        .as_array()?
        .iter()
        .find(|t| t["k"] == key)
        .map(|t| t["v"].clone())
}

#[test]
fn one_trace_for_the_whole_run() {
    let dir = Scratch::new("trace-file");
    let (trace, events, job) = (
        dir.join("trace.json"),
        dir.join("events.jsonl"),
        dir.join("summary.md"),
    );
    let mut root = rerun(ENTRY);
    root.env(ROLE, "root")
        .env("TRUNK_TRACE_FILE", &trace)
        .env("TRUNK_EVENTS_FILE", &events)
        .env("GITHUB_STEP_SUMMARY", &job);
    let out = output_within(&mut root, Duration::from_secs(120));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert_selected(&stdout);
    let root_pid: u64 = stdout
        .lines()
        .find_map(|l| l.split("pid ").nth(1))
        .and_then(|p| p.trim().parse().ok())
        .unwrap_or_else(|| panic!("the root says its pid: {stdout}\n{stderr}"));

    let events: Vec<Value> = std::fs::read_to_string(&events)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    // trace_root, 2 × on_thread, 2 × inner, run_child; child_main, 3 × inner, compile_unit.
    assert_eq!(events.len(), 11, "{events:#?}");
    let items = read_trace(&trace);
    let slices: HashMap<String, &Value> = items
        .iter()
        .filter(|i| i["ph"] == "X")
        .map(|s| (s["args"]["id"].as_str().unwrap().to_owned(), s))
        .collect();
    assert_eq!(slices.len(), events.len(), "one slice per event");

    let mut pids = HashMap::new();
    for e in &events {
        let id = e["id"].as_str().unwrap();
        let s = slices
            .get(id)
            .unwrap_or_else(|| panic!("no slice for {e:#}"));
        let name = e["sequence"]["name"].as_str().unwrap();
        let failed = e["conclusion"] == "FAILURE";
        let expected = if failed {
            format!("✘ {name}")
        } else {
            name.to_owned()
        };
        assert_eq!(s["name"], expected.as_str());
        assert_eq!(s["args"]["conclusion"], e["conclusion"]);
        assert_eq!(
            failed,
            s["cname"] == "terrible",
            "failures are coloured: {s}"
        );
        // Durations: the slice's µs against the events' milliseconds.
        let dur_ms = s["dur"].as_f64().unwrap() / 1e3;
        let metric = e["payload"]["metrics"][0]["v"].as_f64().unwrap();
        assert!((dur_ms - metric).abs() < 0.001, "{dur_ms} vs {metric}");
        let wall = e["finishedAt"].as_f64().unwrap() - e["createdAt"].as_f64().unwrap();
        assert!((dur_ms - wall).abs() <= 1.0, "{dur_ms} vs {wall}");
        let start_ms = s["ts"].as_f64().unwrap() / 1e3;
        assert!((start_ms - e["createdAt"].as_f64().unwrap()).abs() <= 1.0);
        // The parent, and the thread the event ran on.
        assert_eq!(
            s["args"]["parent_id"].as_str(),
            e["parent"]["eventId"].as_str()
        );
        assert_eq!(
            Some(s["tid"].as_i64().unwrap()),
            tag_of(e, "os_tid").and_then(|v| v.as_i64()),
            "{name}"
        );
        pids.insert(name.to_owned(), s["pid"].as_u64().unwrap());
    }
    assert_eq!(pids["trace_root"], root_pid);
    assert_eq!(pids["on_thread"], root_pid);
    assert_ne!(pids["child_main"], root_pid, "the child's own lane");
    assert_eq!(pids["compile_unit"], pids["child_main"]);

    // Nesting: a child slice on its parent's thread lies within the parent's.
    for s in slices.values() {
        let Some(parent) = s["args"]["parent_id"].as_str().and_then(|p| slices.get(p)) else {
            continue;
        };
        if parent["tid"] != s["tid"] || parent["pid"] != s["pid"] {
            continue;
        }
        let (ps, pd) = (
            parent["ts"].as_f64().unwrap(),
            parent["dur"].as_f64().unwrap(),
        );
        let (cs, cd) = (s["ts"].as_f64().unwrap(), s["dur"].as_f64().unwrap());
        assert!(
            cs + 1.0 >= ps && cs + cd <= ps + pd + 1.0,
            "{s} outside {parent}"
        );
    }

    // Every process and thread lane is named.
    let named = |what: &str, pid: u64, tid: u64| {
        items
            .iter()
            .any(|i| i["ph"] == "M" && i["name"] == what && i["pid"] == pid && i["tid"] == tid)
    };
    for s in slices.values() {
        let (pid, tid) = (s["pid"].as_u64().unwrap(), s["tid"].as_u64().unwrap());
        assert!(named("process_name", pid, 0), "{pid}");
        assert!(named("thread_name", pid, tid), "{pid}/{tid}");
    }
    assert!(items.iter().any(|i| i["args"]["name"] == "worker-1"));

    // The root's summary is the whole run's, child process included; the child prints none.
    let tree: Vec<&str> = stderr
        .lines()
        .skip_while(|l| !l.starts_with("trunk-ci-analytics: trace_root"))
        .collect();
    assert!(
        tree.first()
            .is_some_and(|l| l.contains("(11 events in 2 processes, local mode")),
        "{stderr}"
    );
    assert_eq!(
        stderr.matches("trunk-ci-analytics: ").count(),
        1,
        "{stderr}"
    );
    assert!(tree.iter().any(|l| l.contains("✘ child_main")), "{stderr}");
    assert!(
        tree.iter().any(|l| l.contains("✘ compile_unit")),
        "{stderr}"
    );
    assert!(tree.iter().any(|l| l.contains("inner ×3")), "{stderr}");

    // One job summary section for the run, with its table and its failure.
    let md = std::fs::read_to_string(&job).unwrap();
    assert_eq!(md.matches("### ").count(), 1, "{md}");
    assert!(md.contains("| Slowest events | Kind | Duration | Share of the run | Conclusion |"));
    assert!(md.contains("| trace\\_root | workflow |"), "{md}");
    assert!(
        md.contains("✘ **compile\\_unit** (step, ") && md.contains("&lt;b&gt;broken"),
        "{md}"
    );
    assert!(
        md.contains("unit \\| &lt;b&gt;broken&lt;/b&gt; \\`here\\`"),
        "{md}"
    );
    assert!(
        md.contains("<details>") && md.contains("child_main"),
        "{md}"
    );
}
