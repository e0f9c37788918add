//! Real child processes (this test binary started again): a child's root event joins the
//! parent's chain, `TRUNK_CI_ANALYTICS=off` runs bodies as if unannotated, a tracked `main`
//! flushes when it returns and when it panics, and `exit(code)` ends open events and flushes.
//!
//! Each child exits with `std::process::exit` right after its scenario, so nothing but the
//! flushes under test can have written its events.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test fails by panicking

mod support;

use std::panic::catch_unwind;
use std::path::Path;
use std::process::ExitStatus;
use std::sync::atomic::{AtomicUsize, Ordering};

use support::{conclusion, id, key, parent_id};
use trunk_ci_analytics::{
    CommandExt, Conclusion, current_context, set_conclusion, tag, track_event,
};
use trunk_ci_analytics_testkit::Scratch;

const ENTRY: &str = "child_process_entry";

/// The child side: runs the scenario named by the parent, then exits at once.
#[test]
#[ignore = "entry point of the child processes the other tests start"]
fn child_process_entry() {
    let Some(scenario) = support::scenario() else {
        return;
    };
    match scenario.as_str() {
        "nested" => {
            support::init();
            let parent = std::env::var("TRUNK_PARENT_EVENT_ID").unwrap();
            let ctx = current_context().expect("the parent process's event is current");
            assert_eq!(ctx.event_id(), parent);
            child_root();
            trunk_ci_analytics::flush(std::time::Duration::from_secs(10));
        }
        "off" => disabled(),
        "main_returns" => {
            support::init();
            returns::main();
        }
        "main_panics" => {
            support::init();
            let err = catch_unwind(panics::main).unwrap_err();
            assert_eq!(support::panic_message(&*err), "main failed: 7");
            // Distinct from the harness's 101, which a failed assertion would give.
            std::process::exit(42);
        }
        "exit" => {
            support::init();
            exits::xtask_run();
        }
        other => panic!("unknown scenario {other}"),
    }
    std::process::exit(0);
}

#[track_event]
fn child_root() {
    child_leaf();
}

#[track_event]
fn child_leaf() {}

#[track_event(tags(role = "parent"))]
fn spawns_child(events: &Path) -> ExitStatus {
    let ctx = current_context().expect("inside an event");
    assert_eq!(
        ctx.env_vars(),
        [
            ("TRUNK_CHAIN_ID", ctx.chain_id()),
            ("TRUNK_PARENT_EVENT_ID", ctx.event_id()),
            ("TRUNK_PARENT_SEQUENCE_KEY", ctx.sequence_key()),
            ("TRACEPARENT", ctx.traceparent()),
        ]
    );
    let mut cmd = support::child(ENTRY, "nested", events);
    support::run(cmd.with_event_context()).status
}

#[test]
fn a_child_process_root_joins_the_parents_chain() {
    support::init();
    let dir = Scratch::new("nested-child");
    let child_events = dir.join("events.jsonl");
    assert!(spawns_child(&child_events).success());
    let parent = support::flushed();
    let spawner = parent.one("spawns_child");
    let child = support::read(&child_events);
    assert_eq!(child.len(), 2, "{:?}", child.names());
    let root = child.one("child_root");
    assert_eq!(parent_id(root), Some(id(spawner)));
    assert_eq!(root["parent"]["sequenceKey"].as_str(), Some(key(spawner)));
    assert_eq!(root["chainId"], spawner["chainId"]);
    child.assert_child("child_leaf", "child_root");
}

static TAG_EVALUATIONS: AtomicUsize = AtomicUsize::new(0);

fn counted() -> usize {
    TAG_EVALUATIONS.fetch_add(1, Ordering::SeqCst)
}

fn never_called(_: &Result<Vec<u8>, String>) -> Conclusion {
    panic!("a conclusion was computed while analytics is off")
}

#[track_event(tags(n = counted()), metrics(m = counted()), conclusion = never_called)]
fn off_work(mut v: Vec<u8>) -> Result<Vec<u8>, String> {
    assert!(current_context().is_none());
    set_conclusion(Conclusion::Skipped);
    tag("ignored", 1);
    v.push(2);
    if v.len() > 10 {
        return Err("too long".into());
    }
    Ok(v)
}

#[track_event]
fn off_panics() {
    panic!("off panic {}", 1)
}

#[track_event(tags(n = counted()))]
async fn off_async(x: u8) -> Result<u8, String> {
    assert!(current_context().is_none());
    tokio::task::yield_now().await;
    let y: u8 = "2".parse().map_err(|_| "nan".to_string())?;
    Ok(x + y)
}

fn disabled() {
    assert_eq!(off_work(vec![1]), Ok(vec![1, 2]));
    let err = catch_unwind(off_panics).unwrap_err();
    assert_eq!(support::panic_message(&*err), "off panic 1");
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    assert_eq!(rt.block_on(off_async(1)), Ok(3));
    assert_eq!(
        TAG_EVALUATIONS.load(Ordering::SeqCst),
        0,
        "tags are not evaluated"
    );
    assert!(current_context().is_none());
    let report = trunk_ci_analytics::flush(std::time::Duration::from_secs(1));
    assert_eq!(report, Default::default());
}

#[test]
fn disabled_runs_bodies_as_if_unannotated_and_records_nothing() {
    let dir = Scratch::new("off-child");
    let events = dir.join("events.jsonl");
    let out = support::run(support::child(ENTRY, "off", &events).env("TRUNK_CI_ANALYTICS", "off"));
    assert!(out.status.success());
    assert!(!events.exists(), "nothing written when off");
}

#[track_event]
fn step() {}

mod returns {
    #[trunk_ci_analytics::track_event]
    pub fn main() {
        super::step();
    }
}

mod panics {
    #[trunk_ci_analytics::track_event]
    pub fn main() {
        super::step();
        panic!("main failed: {}", 7);
    }
}

mod exits {
    #[trunk_ci_analytics::track_event]
    pub fn xtask_run() {
        super::step();
        let _ = inner();
    }

    #[trunk_ci_analytics::track_event]
    fn inner() -> Result<(), String> {
        trunk_ci_analytics::exit(3)
    }
}

#[test]
fn a_tracked_main_flushes_when_it_returns() {
    let dir = Scratch::new("main-returns-child");
    let events = dir.join("events.jsonl");
    let out = support::run(&mut support::child(ENTRY, "main_returns", &events));
    assert!(out.status.success());
    let events = support::read(&events);
    assert_eq!(events.len(), 2, "{:?}", events.names());
    assert_eq!(parent_id(events.one("main")), None);
    assert_eq!(conclusion(events.one("main")), "SUCCESS");
    events.assert_child("step", "main");
}

#[test]
fn a_tracked_main_flushes_when_it_panics() {
    let dir = Scratch::new("main-panics-child");
    let events = dir.join("events.jsonl");
    let out = support::run(&mut support::child(ENTRY, "main_panics", &events));
    assert_eq!(
        out.status.code(),
        Some(42),
        "the child saw the panic unchanged"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("main failed: 7"));
    let events = support::read(&events);
    assert_eq!(events.len(), 2, "{:?}", events.names());
    assert_eq!(conclusion(events.one("main")), "FAILURE");
    events.assert_child("step", "main");
    assert_eq!(conclusion(events.one("step")), "SUCCESS");
}

#[test]
fn exit_ends_the_open_events_and_flushes() {
    let dir = Scratch::new("exit-child");
    let events = dir.join("events.jsonl");
    let out = support::run(&mut support::child(ENTRY, "exit", &events));
    assert_eq!(out.status.code(), Some(3));
    let events = support::read(&events);
    assert_eq!(events.len(), 3, "{:?}", events.names());
    events.assert_child("step", "xtask_run");
    events.assert_child("inner", "xtask_run");
    assert_eq!(conclusion(events.one("step")), "SUCCESS");
    assert_eq!(conclusion(events.one("inner")), "FAILURE");
    assert_eq!(conclusion(events.one("xtask_run")), "FAILURE");
}
