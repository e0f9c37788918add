//! W3C trace context across real child processes (this test binary started again): a child
//! run with `with_event_context()` sees `TRACEPARENT` naming the span of the event that ran
//! it; a child started with only `TRACEPARENT` hangs its events under that span, in that
//! trace; with both, the Trunk context wins.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test fails by panicking

mod support;

use std::path::Path;
use std::process::{Command, ExitStatus};

use serde_json::Value;
use support::{id, parent_id, tag_of};
use trunk_ci_analytics::{CommandExt, current_context, tag, track_event};
use trunk_ci_analytics_testkit::Scratch;

const ENTRY: &str = "child_process_entry";
/// The example of the W3C specification: an OpenTelemetry-instrumented parent's span.
const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const SPAN_ID: &str = "00f067aa0ba902b7";

fn foreign_traceparent() -> String {
    format!("00-{TRACE_ID}-{SPAN_ID}-01")
}

/// The child side: runs its root event, then exits at once.
#[test]
#[ignore = "entry point of the child processes the other tests start"]
fn child_process_entry() {
    if support::scenario().is_none() {
        return;
    }
    support::init();
    child_root();
    trunk_ci_analytics::flush(std::time::Duration::from_secs(10));
    std::process::exit(0);
}

/// Records what this process was handed and what it would hand on to a child of its own.
#[track_event(tags(seen = std::env::var("TRACEPARENT").unwrap_or_default()))]
fn child_root() {
    let ctx = current_context().expect("inside an event");
    tag("handed_on", ctx.traceparent());
    let mut grandchild = Command::new("true");
    grandchild.with_event_context();
    let tracestate_removed = grandchild
        .get_envs()
        .any(|(k, v)| k == "TRACESTATE" && v.is_none());
    tag("tracestate_removed", tracestate_removed.to_string());
    child_leaf();
}

#[track_event]
fn child_leaf() {}

fn str_tag<'a>(e: &'a Value, k: &str) -> &'a str {
    tag_of(e, k)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("tag {k}: {e:#}"))
}

/// `00-{trace}-{span}-01` of one of our events: the trace id is its 16-hex chain id widened
/// to 128 bits with leading zeros, the span id its event id.
fn traceparent_of(event: &Value) -> String {
    let chain = event["chainId"].as_str().expect("chainId");
    assert_eq!(chain.len(), 16, "one of our own chain ids: {chain}");
    format!("00-{chain:0>32}-{}-01", id(event))
}

#[track_event]
fn runs_child(events: &Path, extra: &[(&str, &str)]) -> ExitStatus {
    let mut cmd = support::child(ENTRY, "child", events);
    cmd.with_event_context();
    for (k, v) in extra {
        cmd.env(k, v);
    }
    support::run(&mut cmd).status
}

/// The `runs_child` event whose child is `root` (the tests of this binary share one events
/// file, and two of them run a child).
fn spawner_of<'a>(parent: &'a support::Events, root: &Value) -> &'a Value {
    parent
        .all("runs_child")
        .into_iter()
        .find(|e| parent_id(root) == Some(id(e)))
        .unwrap_or_else(|| panic!("no runs_child ran {root:#}"))
}

#[test]
fn a_child_process_sees_traceparent_naming_the_span_that_ran_it() {
    support::init();
    let dir = Scratch::new("traceparent-out");
    let child_events = dir.join("events.jsonl");
    // Vendor data of some other trace, inherited by the child: not for its children.
    assert!(runs_child(&child_events, &[("TRACESTATE", "vendor=stray")]).success());
    let child = support::read(&child_events);
    let root = child.one("child_root");
    let parent = support::flushed();
    let spawner = spawner_of(&parent, root);
    assert_eq!(str_tag(root, "seen"), traceparent_of(spawner));
    assert_eq!(parent_id(root), Some(id(spawner)));
    assert_eq!(root["chainId"], spawner["chainId"]);
    // And the child hands on its own span, in the same trace.
    assert_eq!(str_tag(root, "handed_on"), traceparent_of(root));
    assert_eq!(str_tag(root, "tracestate_removed"), "true");
}

#[test]
fn a_child_process_with_only_traceparent_joins_that_trace() {
    let dir = Scratch::new("traceparent-in");
    let events = dir.join("events.jsonl");
    let out = support::run(
        support::child(ENTRY, "child", &events)
            .env("TRACEPARENT", foreign_traceparent())
            .env("TRACESTATE", "vendor=opaque"),
    );
    assert!(out.status.success());
    let child = support::read(&events);
    assert_eq!(child.len(), 2, "{:?}", child.names());
    let root = child.one("child_root");
    assert_eq!(root["chainId"], TRACE_ID);
    assert_eq!(parent_id(root), Some(SPAN_ID));
    assert_eq!(root["parent"]["sequenceKey"], "traceparent");
    child.assert_child("child_leaf", "child_root");
    // What it hands on stays in the joined trace, under its own span, with the trace's
    // vendor data.
    assert_eq!(
        str_tag(root, "handed_on"),
        format!("00-{TRACE_ID}-{}-01", id(root))
    );
    assert_eq!(str_tag(root, "tracestate_removed"), "false");
}

#[test]
fn the_trunk_context_wins_over_a_traceparent() {
    support::init();
    let dir = Scratch::new("trunk-wins");
    let child_events = dir.join("events.jsonl");
    let foreign = foreign_traceparent();
    assert!(runs_child(&child_events, &[("TRACEPARENT", &foreign)]).success());
    let child = support::read(&child_events);
    let root = child.one("child_root");
    assert_eq!(str_tag(root, "seen"), foreign);
    let parent = support::flushed();
    let spawner = spawner_of(&parent, root);
    assert_eq!(root["chainId"], spawner["chainId"]);
    assert_ne!(root["chainId"], TRACE_ID);
}
