//! The edges of a cancellation: a second signal during its flush ends the process at once, a
//! signal before the background thread runs ends it at once too (nothing waits for a thread
//! that is not there), and a signal while the endpoint is down (hanging or refusing) costs at
//! most one flush timeout, then the cancelled events wait in the spool.

use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::ExitStatusExt;
use std::time::{Duration, Instant};

use serde_json::Value;
use trunk_ci_analytics::{Config, track_event};
use trunk_ci_analytics_testkit::{Scratch, assert_selected, output_within};
use trunk_ci_analytics_testserver::{ClosedPort, Fault, TestServer};

use crate::hostile_support::{CHILD_LIMIT, TOKEN, uploading};
use crate::signals::{CANCELLED, name, spooled, start};

/// Far below the flush timeout the children are given (60 s), far above a prompt end.
const AT_ONCE: Duration = Duration::from_secs(20);

#[test]
fn a_second_signal_during_the_cancellation_flush_ends_the_process_at_once() {
    let server = TestServer::start_with_token(TOKEN);
    // Every request hangs: the cancellation flush would wait out its whole timeout.
    server.set_persistent(Some(Fault::Stall(Duration::from_secs(600))));
    let mut child = start("cancelled", &server.url(), |cmd| {
        cmd.env("TRUNK_FLUSH_TIMEOUT_MS", "60000");
    });
    child.signal(libc::SIGTERM);
    // The flush is under way once a request carrying finished (cancelled) events arrived.
    let until = Instant::now() + CHILD_LIMIT;
    while !server
        .requests()
        .iter()
        .any(|r| r.event_ids.len() > r.started_ids.len())
    {
        assert!(
            Instant::now() < until,
            "no cancellation flush: {:#?}",
            server.requests()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    child.signal(libc::SIGINT);
    let status = child.wait(AT_ONCE);
    assert_eq!(status.signal(), Some(libc::SIGINT), "{status:?}");
}

#[test]
fn a_signal_before_the_background_thread_runs_ends_the_process_at_once() {
    let server = TestServer::start_with_token(TOKEN);
    let dir = Scratch::new("early-signal");
    // The background thread asks `git` for the repository before it watches for signals:
    // this `git` holds it there until the process is gone, so the signal surely comes first
    // (whether the thread got as far as `git` by then or not).
    let bin = dir.join("bin");
    std::fs::create_dir(&bin).unwrap();
    let git = bin.join("git");
    std::fs::write(
        &git,
        "#!/bin/sh\nwhile kill -0 $PPID 2>/dev/null; do sleep 0.05; done\n",
    )
    .unwrap();
    std::fs::set_permissions(&git, std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = std::env::join_paths(
        std::iter::once(bin).chain(std::env::split_paths(&std::env::var_os("PATH").unwrap())),
    )
    .unwrap();
    let mut cmd = uploading("early_signal", &server.url(), &dir.join("spool"));
    cmd.env_remove("TRUNK_REPO")
        .env("PATH", path)
        .env("TRUNK_CI_ANALYTICS_LOG", "info");
    let out = output_within(&mut cmd, AT_ONCE);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_selected(&stdout);
    assert_eq!(
        out.status.signal(),
        Some(libc::SIGTERM),
        "{stdout}\n{stderr}"
    );
    assert!(
        !stdout.contains("SURVIVED"),
        "the signal was only noted, with no thread to act on it:\n{stdout}"
    );
}

#[test]
fn a_signal_while_the_endpoint_is_down_ends_within_the_flush_timeout_and_spools() {
    for how in ["hanging", "refusing"] {
        // Whichever is used; both are held until the end of the round.
        let (hanging, refusing) = (TestServer::start_with_token(TOKEN), ClosedPort::new());
        hanging.set_persistent(Some(Fault::Stall(Duration::from_secs(600))));
        let url = match how {
            "hanging" => hanging.url(),
            _ => refusing.url(),
        };
        let mut child = start("cancelled", &url, |cmd| {
            cmd.env("TRUNK_FLUSH_TIMEOUT_MS", "1000");
        });
        child.signal(libc::SIGTERM);
        let status = child.wait(AT_ONCE);
        assert_eq!(status.signal(), Some(libc::SIGTERM), "{how}: {status:?}");

        // The running events, cancelled, and `done`, which ended before the signal and was
        // never delivered either.
        let waiting: Vec<Value> = spooled(&child.spool());
        let mut names: Vec<&str> = waiting.iter().map(name).collect();
        names.sort_unstable();
        let mut expected = CANCELLED.to_vec();
        expected.push("done");
        expected.sort_unstable();
        assert_eq!(names, expected, "{how}: {waiting:#?}");
        for e in &waiting {
            let conclusion = if name(e) == "done" {
                "SUCCESS"
            } else {
                "CANCELLED"
            };
            assert_eq!(e["conclusion"], conclusion, "{how}: {e}");
        }
    }
}

#[track_event]
fn long_step() {
    std::thread::sleep(Duration::from_secs(120));
}

/// SIGTERM right after `init`, before the background thread it started has run.
pub fn early_signal_child() {
    let _guard = trunk_ci_analytics::init(Config::from_env().summary(false));
    // SAFETY: raises a signal in this process; its handler only stores atomics.
    unsafe { libc::raise(libc::SIGTERM) };
    println!("SURVIVED");
    long_step();
}
