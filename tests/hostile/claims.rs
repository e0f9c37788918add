//! A spool file claimed by a process that was killed is replayed by the next process at
//! once, not after the claim has aged for minutes: the claimer's liveness lock died with it.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use trunk_ci_analytics_testkit::{Scratch, wait_within};
use trunk_ci_analytics_testserver::{Fault, TestServer};

use crate::hostile_support::{CHILD_LIMIT, TOKEN, run, uploading};

fn files_with(dir: &Path, part: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(files_with(&path, part));
        } else if path.to_string_lossy().contains(part) {
            out.push(path);
        }
    }
    out
}

#[test]
fn a_killed_claimers_file_is_replayed_by_the_next_process() {
    let server = TestServer::start_with_token(TOKEN);
    let dir = Scratch::new("claims");
    let spool = dir.join("spool");

    // 1. Server errors: the event goes to the spool.
    server.set_persistent(Some(Fault::Status(503)));
    let (out, stdout, stderr) = run(&mut uploading("one_event", &server.url(), &spool));
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert_eq!(files_with(&spool, ".json").len(), 1, "{stderr}");

    // 2. A process claims it for replay, the endpoint hangs, and the process is killed.
    server.set_persistent(Some(Fault::Stall(Duration::from_secs(600))));
    let mut cmd = uploading("replay_and_hang", &server.url(), &spool);
    cmd.stdout(Stdio::null()).stderr(Stdio::null());
    let mut child = cmd.spawn().unwrap();
    let until = Instant::now() + Duration::from_secs(20);
    while files_with(&spool, ".claim-").is_empty() && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap();
    wait_within(&mut child, CHILD_LIMIT);
    assert_eq!(
        files_with(&spool, ".claim-").len(),
        1,
        "nothing was claimed"
    );

    // 3. The next process replays it right away.
    server.set_persistent(None);
    let mut cmd = uploading("one_event", &server.url(), &spool);
    cmd.env("TRUNK_FLUSH_TIMEOUT_MS", "5000");
    let (out, stdout, stderr) = run(&mut cmd);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    let keys: Vec<Option<String>> = server
        .events()
        .iter()
        .map(|e| e["sequence"]["key"].as_str().map(str::to_owned))
        .collect();
    let ours = keys
        .iter()
        .filter(|k| k.as_deref() == Some("hostile::one"))
        .count();
    assert_eq!(
        ours, 2,
        "the killed claim was not replayed: {keys:?}\n{stderr}"
    );
    assert!(files_with(&spool, ".claim-").is_empty());
}

/// Waits at exit long enough to claim the spooled file and hang on its replay.
pub fn replay_and_hang_child() {
    let guard = trunk_ci_analytics::init(
        trunk_ci_analytics::Config::from_env()
            .flush_timeout(Duration::from_secs(60))
            .summary(false),
    );
    drop(guard);
}
