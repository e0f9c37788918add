//! Files in directories other users can write to (issue 26, findings 1–3): another local
//! user plants links and directories where the runtime keeps its per-user files, and the
//! victim's files stay as they were.

use std::ffi::OsStr;
use std::io::{BufRead, Write};
use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime};

use trunk_ci_analytics::{Conclusion, Config, EventBuilder};
use trunk_ci_analytics_testkit::{Scratch, wait_within};
use trunk_ci_analytics_testserver::ClosedPort;

use crate::files::{spooled, walk};
use crate::hostile_support::{child_command, run, uploading};
use crate::second_round::{as_user, attacker, my_uid, set_mode, unprotected_symlinks};

/// A child uploading to `down` with the spool where it would be with no configuration and
/// no `HOME`: in the temp dir `tmp`.
fn uploading_from_tmp(scenario: &str, down: &ClosedPort, tmp: &Scratch) -> Command {
    let mut cmd = uploading(scenario, &down.url(), tmp.path());
    cmd.env_remove("TRUNK_SPOOL_DIR")
        .env_remove("HOME")
        .env("TMPDIR", tmp.path());
    cmd
}

/// One root event, flushed at the end (its summary collects and prunes chain files).
pub fn root_event_child() {
    let guard = trunk_ci_analytics::init(Config::from_env());
    EventBuilder::new("step")
        .start()
        .finish(Conclusion::Success);
    drop(guard);
}

/// Waits for a line on stdin (the parent plants what it needs meanwhile), then records one
/// event.
pub fn wait_then_event_child() {
    println!("PID {}", std::process::id());
    let mut line = String::new();
    let _ = std::io::stdin().lock().read_line(&mut line);
    root_event_child();
}

/// `R2_EVENTS` events named with `R2_NAME_LEN` characters, under one root.
pub fn many_events_child() {
    let count: usize = std::env::var("R2_EVENTS").unwrap().parse().unwrap();
    let len: usize = std::env::var("R2_NAME_LEN").map_or(8, |v| v.parse().unwrap());
    let guard = trunk_ci_analytics::init(Config::from_env());
    let root = EventBuilder::new("many").start();
    let name = "n".repeat(len);
    for _ in 0..count {
        EventBuilder::new(name.clone())
            .start()
            .finish(Conclusion::Success);
    }
    root.finish(Conclusion::Success);
    drop(guard);
}

/// The names another user would plant for the victim's per-user directory in the temp dir:
/// by user id, and the names `USER` (unset, or root) used to give.
fn per_user_names() -> Vec<String> {
    ["user".to_owned(), "root".to_owned(), my_uid().to_string()]
        .iter()
        .map(|label| format!("trunk-ci-analytics-{label}"))
        .collect()
}

#[test]
fn links_and_directories_another_user_plants_in_tmp_change_nothing_of_the_victims() {
    let Some(other) = attacker() else {
        return;
    };
    let _unprotected = unprotected_symlinks();
    let down = ClosedPort::new();

    // A temp dir like /tmp: root's, sticky, everyone may create entries.
    let tmp = Scratch::new("planted-links");
    set_mode(tmp.path(), 0o1777);
    // A directory of the victim's, with a `chains` folder holding a file two days old.
    let victim = Scratch::new("victims-files");
    std::fs::create_dir(victim.join("chains")).unwrap();
    let precious = victim.join("chains").join("notes.jsonl");
    std::fs::write(&precious, "the victim's\n").unwrap();
    let old = SystemTime::now() - Duration::from_secs(2 * 24 * 3600);
    std::fs::File::options()
        .write(true)
        .open(&precious)
        .unwrap()
        .set_modified(old)
        .unwrap();
    for name in per_user_names() {
        as_user(
            other,
            "ln",
            &[
                "-s".as_ref(),
                victim.path().as_os_str(),
                tmp.join(name).as_os_str(),
            ],
        );
    }
    let (out, stdout, stderr) = run(&mut uploading_from_tmp("r2_root_event", &down, &tmp));
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(
        precious.exists(),
        "the victim's file behind a planted link was deleted\n{stderr}"
    );
    assert_eq!(
        walk(victim.path()),
        std::slice::from_ref(&precious),
        "written into the victim's directory\n{stderr}"
    );
    assert!(
        stderr.contains("symbolic link made by user id"),
        "the refusal is said: {stderr}"
    );

    // Another user's run made the shared name first (with `USER` unset, everyone's was
    // `trunk-ci-analytics-user`): the victim's own directory is another one.
    let tmp = Scratch::new("planted-dirs");
    set_mode(tmp.path(), 0o1777);
    for name in per_user_names()
        .iter()
        .filter(|n| !n.ends_with(&format!("-{}", my_uid())))
    {
        as_user(
            other,
            "mkdir",
            &["-m".as_ref(), "700".as_ref(), tmp.join(name).as_os_str()],
        );
    }
    let (out, stdout, stderr) = run(&mut uploading_from_tmp("r2_root_event", &down, &tmp));
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(!stderr.contains("cannot use"), "locked out: {stderr}");
    let own = tmp.join(format!("trunk-ci-analytics-{}", my_uid()));
    assert_eq!(
        spooled(&own).len(),
        1,
        "the event is in the victim's own spool\n{stderr}"
    );
    assert_eq!(
        std::fs::metadata(&own).unwrap().permissions().mode() & 0o777,
        0o700
    );
}

#[test]
fn the_trace_file_never_follows_a_link_planted_in_its_directory() {
    let Some(other) = attacker() else {
        return;
    };
    // A directory everyone may write to, not sticky: the kernel's link protection never
    // applies there, whatever `fs.protected_symlinks` says.
    let shared = Scratch::new("trace-shared");
    set_mode(shared.path(), 0o777);
    let victim = Scratch::new("trace-victim");
    let precious = victim.join("precious");
    std::fs::write(&precious, "the victim's\n").unwrap();
    let tmp = Scratch::new("trace-tmp");

    // Links planted at the temporary file's name for the process about to write the trace.
    let trace = shared.join("trace.json");
    let mut cmd = child_command("r2_wait_then_event");
    cmd.env("TRUNK_TRACE_FILE", &trace)
        .env("TMPDIR", tmp.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    let pid = loop {
        let mut line = String::new();
        assert!(stdout.read_line(&mut line).unwrap() > 0, "no PID line");
        // libtest prints `test child ... ` on the same line first.
        if let Some((_, pid)) = line.trim().split_once("PID ") {
            break pid.to_owned();
        }
    };
    for name in [format!("trace.tmp-{pid}"), format!("trace.json.tmp-{pid}")] {
        as_user(
            other,
            "ln",
            &[
                "-s".as_ref(),
                precious.as_os_str(),
                shared.join(name).as_os_str(),
            ],
        );
    }
    child.stdin.take().unwrap().write_all(b"go\n").unwrap();
    let status = wait_within(&mut child, Duration::from_secs(60));
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert!(status.success(), "{stderr}");
    assert_eq!(
        std::fs::read_to_string(&precious).unwrap(),
        "the victim's\n",
        "a planted link's target was overwritten\n{stderr}"
    );
    let text = std::fs::read_to_string(&trace).unwrap();
    let json: serde_json::Value = serde_json::from_str(&format!("{text}]")).unwrap();
    assert!(json.as_array().is_some_and(|a| a.len() >= 2), "{text}");
    let mode = std::fs::metadata(&trace).unwrap().permissions().mode();
    assert_eq!(
        mode & 0o077,
        0,
        "the trace file is the owner's alone: {mode:o}"
    );

    // A link planted at the trace file's own name is not followed either.
    let planted = shared.join("planted.json");
    as_user(
        other,
        "ln",
        &["-s".as_ref(), precious.as_os_str(), planted.as_os_str()],
    );
    let mut cmd = child_command("r2_root_event");
    cmd.env("TRUNK_TRACE_FILE", &planted)
        .env("TMPDIR", tmp.path());
    let (out, stdout, stderr) = run(&mut cmd);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert_eq!(
        std::fs::read_to_string(&precious).unwrap(),
        "the victim's\n",
        "appended through a planted link\n{stderr}"
    );
    assert!(stderr.contains("TRUNK_TRACE_FILE"), "{stderr}");
}

/// The chain files under `tmp` (whatever the per-user directory is called), and their
/// total size.
fn chain_files(tmp: &std::path::Path) -> (Vec<std::path::PathBuf>, u64) {
    let files: Vec<_> = walk(tmp)
        .into_iter()
        .filter(|p| p.parent().and_then(|d| d.file_name()) == Some(OsStr::new("chains")))
        .collect();
    let bytes = files
        .iter()
        .map(|p| std::fs::metadata(p).map_or(0, |m| m.len()))
        .sum();
    (files, bytes)
}

#[test]
fn chain_files_are_bounded_and_written_only_for_a_root_that_reads_them() {
    const MIB: u64 = 1024 * 1024;
    // A `TRACEPARENT` from outside: the chain's root is not a process of ours, nothing
    // would ever read or remove the file.
    let tmp = Scratch::new("chains-traceparent");
    let mut cmd = child_command("r2_many_events");
    cmd.env("TMPDIR", tmp.path())
        .env(
            "TRACEPARENT",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        )
        .env("R2_EVENTS", "20000");
    let (out, stdout, stderr) = run(&mut cmd);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    let (files, bytes) = chain_files(tmp.path());
    assert!(files.is_empty(), "{bytes} bytes nobody reads: {files:?}");

    // A chain of ours: its root reads at most 8 MiB, so no more is written.
    let tmp = Scratch::new("chains-capped");
    let mut cmd = child_command("r2_many_events");
    cmd.env("TMPDIR", tmp.path())
        .env("TRUNK_CHAIN_ID", "0123456789abcdef")
        .env("TRUNK_PARENT_EVENT_ID", "0123456789abcdef")
        .env("TRUNK_PARENT_SEQUENCE_KEY", "parent")
        .env("R2_EVENTS", "20000")
        .env("R2_NAME_LEN", "1000");
    let (out, stdout, stderr) = run(&mut cmd);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    let (files, bytes) = chain_files(tmp.path());
    assert_eq!(files.len(), 1, "{files:?}");
    assert!(bytes <= 8 * MIB + 64 * 1024, "{bytes} bytes in {files:?}");

    // Files no root collected are pruned by size too, not only once a day old.
    let chains = tmp
        .join(format!("trunk-ci-analytics-{}", my_uid()))
        .join("chains");
    for i in 0..6 {
        let f = std::fs::File::create(chains.join(format!("{i:016x}.jsonl"))).unwrap();
        f.set_len(8 * MIB).unwrap();
    }
    let mut cmd = child_command("r2_root_event");
    cmd.env("TMPDIR", tmp.path());
    let (out, stdout, stderr) = run(&mut cmd);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    let (files, bytes) = chain_files(tmp.path());
    assert!(bytes <= 32 * MIB, "{bytes} bytes left in {files:?}");
}
