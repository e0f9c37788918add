//! The local-mode tree summary, printed by a real child process (this test binary started
//! again) whose root event's children finished on other threads: each thread hands its
//! events over in batches, so a child may reach the background thread after its root, and
//! the tree must still hold it.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test fails by panicking

use std::process::Command;

use trunk_ci_analytics::{current_context, track_event};

const CHILD: &str = "TRUNK_TEST_SUMMARY_CHILD";

#[track_event]
fn leaf(n: u32) -> Result<u32, String> {
    if n == 2 { Err("two".into()) } else { Ok(n) }
}

#[track_event(name = "fan_out")]
fn fan_out() {
    let ctx = current_context().expect("an event is current");
    let threads: Vec<_> = (0..3)
        .map(|n| {
            let ctx = ctx.clone();
            std::thread::spawn(move || ctx.attach(|| leaf(n)))
        })
        .collect();
    for t in threads {
        let _ = t.join();
    }
}

#[test]
#[ignore = "entry point of the child process `tree_holds_children_from_other_threads` starts"]
fn child_entry() {
    if std::env::var_os(CHILD).is_none() {
        return;
    }
    fan_out();
    trunk_ci_analytics::flush(std::time::Duration::from_secs(10));
    std::process::exit(0);
}

#[test]
fn tree_holds_children_from_other_threads() {
    let out = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "child_entry", "--ignored", "--nocapture"])
        .env(CHILD, "1")
        .env_remove("TRUNK_API_TOKEN")
        .env_remove("TRUNK_EVENTS_FILE")
        .env_remove("TRUNK_CI_ANALYTICS")
        .env_remove("TRUNK_CI_ANALYTICS_LOG")
        .env_remove("TRUNK_CHAIN_ID")
        .env_remove("TRUNK_PARENT_EVENT_ID")
        .env_remove("TRUNK_PARENT_SEQUENCE_KEY")
        .env_remove("TRACEPARENT")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let tree: Vec<&str> = stderr
        .lines()
        .skip_while(|l| !l.starts_with("trunk-ci-analytics: fan_out"))
        .collect();
    assert!(
        tree.first()
            .is_some_and(|l| l.contains("(4 events, local mode: not uploaded)")),
        "{stderr}"
    );
    assert!(
        tree.get(1).is_some_and(|l| l.starts_with("  ✔ fan_out")),
        "{stderr}"
    );
    let leaves: Vec<&str> = tree
        .iter()
        .copied()
        .filter(|l| l.trim_start().ends_with("ms") && l.contains(" leaf "))
        .collect();
    assert_eq!(leaves.len(), 3, "{stderr}");
    assert!(
        leaves.iter().all(|l| l.starts_with("    ")),
        "children one level down: {stderr}"
    );
    assert_eq!(
        leaves.iter().filter(|l| l.contains('✘')).count(),
        1,
        "{stderr}"
    );
}
