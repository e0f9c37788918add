//! `fork()` without exec: analytics is off in the child, which never waits for a background
//! thread it does not have; the parent goes on recording.

use std::io::Write;
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::Value;
use trunk_ci_analytics::{Config, track_event};
use trunk_ci_analytics_testkit::{Scratch, assert_selected};

use crate::hostile_support::{child_command, field};

#[test]
fn a_forked_child_records_nothing_and_never_waits() {
    let dir = Scratch::new("fork");
    let events = dir.join("events.jsonl");
    let mut cmd = child_command("fork");
    cmd.env("TRUNK_EVENTS_FILE", &events)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // Its own process group, so a hung grandchild is killed with it.
    std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
    let mut child = cmd.spawn().unwrap();
    // A watchdog, not a timing assertion: a child that waits forever fails here.
    let until = Instant::now() + Duration::from_secs(60);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > until {
            // SAFETY: signals the process group this test made for the child.
            unsafe { libc::kill(-(child.id() as i32), libc::SIGKILL) };
            panic!("the forked child hung in flush");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert_selected(&stdout);
    assert_eq!(
        field(&stdout, "FORKCHILD", "delivered").as_deref(),
        Some("0"),
        "{stdout}"
    );
    assert_eq!(
        field(&stdout, "FORKED", "status").as_deref(),
        Some("0"),
        "{stdout}"
    );
    let text = std::fs::read_to_string(&events).unwrap();
    let names: Vec<String> = text
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap()["sequence"]["name"].to_string())
        .collect();
    assert!(names.iter().any(|n| n.contains("forks")), "{names:?}");
    assert!(names.iter().any(|n| n.contains("after_fork")), "{names:?}");
    assert!(!names.iter().any(|n| n.contains("in_child")), "{names:?}");
}

#[track_event]
fn in_child() -> u32 {
    7
}

#[track_event]
fn after_fork() -> u32 {
    8
}

#[track_event]
fn forks() -> i32 {
    // SAFETY: the child only runs Rust code of this test and leaves with `_exit`.
    let pid = unsafe { libc::fork() };
    if pid == 0 {
        in_child();
        let report = trunk_ci_analytics::flush(Duration::MAX);
        println!("FORKCHILD delivered={}", report.delivered);
        let _ = std::io::stdout().flush();
        // SAFETY: ends the child without running the parent's exit handlers twice.
        unsafe { libc::_exit(0) };
    }
    let mut status = -1;
    // SAFETY: waits for the child just forked.
    unsafe { libc::waitpid(pid, &mut status, 0) };
    status
}

pub fn fork_child() {
    let guard = trunk_ci_analytics::init(Config::from_env().summary(false));
    let status = forks();
    after_fork();
    println!("FORKED status={status}");
    drop(guard);
}
