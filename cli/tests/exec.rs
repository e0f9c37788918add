//! `trunk-ci-analytics exec` as CI runs it: real child processes, the real binary, events
//! read back from the events file or the loopback test server.

#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test fails by panicking

mod runs;

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

use runs::{BIN, Bounded, LIMIT, alive, cli, events, named, read_when_written, tag};
use trunk_ci_analytics::track_event;
use trunk_ci_analytics_testkit::{Scratch, clean_command, wait_within};
use trunk_ci_analytics_testserver::TestServer;

#[test]
fn nested_exec_keeps_the_exit_code_and_the_tree() {
    let scratch = Scratch::new("cli-nested");
    let dir = scratch.path();
    let file = dir.join("events.jsonl");
    for (code, conclusion) in [(0, "SUCCESS"), (3, "FAILURE")] {
        let _ = std::fs::remove_file(&file);
        let status = cli(dir)
            .env("TRUNK_EVENTS_FILE", &file)
            .args(["exec", "--name", "outer", "--tag", "team=ci", "--"])
            .args([BIN, "exec", "--name", "inner", "--kind", "test", "--"])
            .args(["sh", "-c", &format!("exit {code}")])
            .status_within();
        assert_eq!(status.code(), Some(code));
        let events = events(&file);
        let (outer, inner) = (named(&events, "outer"), named(&events, "inner"));
        assert_eq!(inner["parent"]["eventId"], outer["id"]);
        assert_eq!(inner["parent"]["sequenceKey"], "outer");
        assert_eq!(inner["chainId"], outer["id"]);
        assert!(outer.get("parent").is_none());
        for e in [outer, inner] {
            assert_eq!(e["conclusion"], conclusion);
            assert_eq!(tag(e, "exit_code"), code);
        }
        assert_eq!(outer["sequence"]["kind"], "step");
        assert_eq!(inner["sequence"]["kind"], "test");
        assert_eq!(tag(outer, "team"), "ci");
    }
}

#[test]
fn a_command_killed_by_a_signal_exits_128_plus_the_signal() {
    let scratch = Scratch::new("cli-killed");
    let dir = scratch.path();
    let file = dir.join("events.jsonl");
    let status = cli(dir)
        .env("TRUNK_EVENTS_FILE", &file)
        .args(["exec", "--name", "outer", "--", BIN, "exec", "--"])
        .args(["sh", "-c", "kill -9 $$"])
        .status_within();
    assert_eq!(status.code(), Some(128 + 9));
    let events = events(&file);
    let (outer, sh) = (named(&events, "outer"), named(&events, "sh"));
    assert_eq!(sh["parent"]["eventId"], outer["id"]);
    for e in [outer, sh] {
        assert_eq!(e["conclusion"], "FAILURE");
        assert_eq!(tag(e, "exit_code"), 137);
    }
}

#[test]
fn a_missing_command_exits_127_and_says_so() {
    let scratch = Scratch::new("cli-missing");
    let dir = scratch.path();
    let file = dir.join("events.jsonl");
    let output = cli(dir)
        .env("TRUNK_EVENTS_FILE", &file)
        .args(["exec", "--", "no-such-command-tca"])
        .output_within();
    assert_eq!(output.status.code(), Some(127));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("cannot run `no-such-command-tca`"),
        "{stderr}"
    );
    let events = events(&file);
    assert_eq!(
        named(&events, "no-such-command-tca")["conclusion"],
        "FAILURE"
    );

    let not_executable = dir.join("data.txt");
    std::fs::write(&not_executable, "not a program").unwrap();
    let status = cli(dir)
        .args(["exec", "--"])
        .arg(&not_executable)
        .status_within();
    assert_eq!(status.code(), Some(126));
}

#[test]
fn every_byte_goes_through_stdin_and_stdout_unchanged() {
    let scratch = Scratch::new("cli-binary");
    let dir = scratch.path();
    let bytes: Vec<u8> = (0..=255u8).cycle().take(256 * 64).collect();
    let mut child = cli(dir)
        .args(["exec", "--", "cat"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let to_write = bytes.clone();
    let writer = std::thread::spawn(move || stdin.write_all(&to_write));
    let mut stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut stdout, &mut bytes).map(|_| bytes)
    });
    let status = wait_within(&mut child, LIMIT);
    writer.join().unwrap().unwrap();
    let stdout = reader.join().unwrap().unwrap();
    assert!(status.success());
    assert_eq!(stdout, bytes);
}

#[test]
fn a_timeout_stops_the_command_as_timed_out_with_124() {
    let scratch = Scratch::new("cli-timeout");
    let dir = scratch.path();
    let file = dir.join("events.jsonl");
    let pid_file = dir.join("pid");
    let output = cli(dir)
        .env("TRUNK_EVENTS_FILE", &file)
        .args(["exec", "--timeout", "1s", "--grace", "1s", "--"])
        .args(["sh", "-c", "echo $$ > pid; exec sleep 600"])
        .output_within();
    assert_eq!(output.status.code(), Some(124));
    assert!(!alive(read_when_written(&pid_file).parse().unwrap()));
    let events = events(&file);
    assert_eq!(named(&events, "sh")["conclusion"], "TIMED_OUT");
}

/// The test server, and `exec` configured to upload to it.
fn uploading(dir: &std::path::Path, server: &TestServer) -> Command {
    let mut command = cli(dir);
    command
        .env("TRUNK_API_TOKEN", server.token())
        .env("TRUNK_PUBLIC_API_ADDRESS", server.url())
        .env("TRUNK_REPO", "acme/app");
    command
}

#[test]
fn sigterm_is_forwarded_the_step_is_cancelled_and_nothing_is_left_running() {
    let scratch = Scratch::new("cli-sigterm");
    let dir = scratch.path();
    let server = TestServer::start();
    // The shell waits on a background child: both must be gone afterwards.
    let script = "sleep 600 & echo $! > grandchild; echo $$ > child; wait";
    let mut exec = uploading(dir, &server)
        .args(["exec", "--name", "long step", "--", "sh", "-c", script])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let child: i32 = read_when_written(&dir.join("child")).parse().unwrap();
    let grandchild: i32 = read_when_written(&dir.join("grandchild")).parse().unwrap();
    assert!(alive(child) && alive(grandchild));
    // SAFETY: a plain kill of the process this test started.
    unsafe { libc::kill(exec.id() as i32, libc::SIGTERM) };
    let status = wait_within(&mut exec, LIMIT);
    assert_eq!(status.code(), Some(128 + 15));
    assert!(!alive(child), "the command {child} outlived exec");
    assert!(!alive(grandchild), "its child {grandchild} outlived exec");
    assert!(server.wait_for_events(1, Duration::from_secs(10)));
    let events = server.events();
    let step = named(&events, "long step");
    assert_eq!(step["conclusion"], "CANCELLED");
}

#[test]
fn a_command_that_ignores_sigterm_is_killed_after_the_grace_period() {
    let scratch = Scratch::new("cli-stubborn");
    let dir = scratch.path();
    let file = dir.join("events.jsonl");
    let script = "trap '' TERM INT; echo $$ > child; while :; do sleep 1; done";
    let mut exec = cli(dir)
        .env("TRUNK_EVENTS_FILE", &file)
        .args(["exec", "--grace", "500ms", "--", "sh", "-c", script])
        .spawn()
        .unwrap();
    let child: i32 = read_when_written(&dir.join("child")).parse().unwrap();
    // SAFETY: a plain kill of the process this test started.
    unsafe { libc::kill(exec.id() as i32, libc::SIGINT) };
    assert_eq!(wait_within(&mut exec, LIMIT).code(), Some(128 + 2));
    assert!(!alive(child));
    assert_eq!(named(&events(&file), "sh")["conclusion"], "CANCELLED");
}

/// The tracked program `a_tracked_program_under_exec_is_a_child_of_its_step` runs: this
/// test binary again, entering here.
#[test]
#[ignore = "entry point of the child process another test starts"]
fn tracked_program_entry() {
    if std::env::var_os("TCA_TRACKED_PROGRAM").is_none() {
        return;
    }
    tracked_main();
    std::process::exit(0);
}

#[track_event(flush)]
fn tracked_main() {
    compile();
}

#[track_event]
fn compile() {}

#[test]
fn a_tracked_program_under_exec_is_a_child_of_its_step() {
    let scratch = Scratch::new("cli-tracked");
    let dir = scratch.path();
    let file = dir.join("events.jsonl");
    let status = cli(dir)
        .env("TRUNK_EVENTS_FILE", &file)
        .env("TCA_TRACKED_PROGRAM", "1")
        .args(["exec", "--name", "step", "--"])
        .arg(std::env::current_exe().unwrap())
        .args(["tracked_program_entry", "--exact", "--ignored", "--quiet"])
        .stdout(Stdio::null())
        .status_within();
    assert!(status.success());
    let events = events(&file);
    let step = named(&events, "step");
    let main = named(&events, "tracked_main");
    let compile = named(&events, "compile");
    assert_eq!(main["parent"]["eventId"], step["id"]);
    assert_eq!(main["parent"]["sequenceKey"], "step");
    assert_eq!(compile["parent"]["eventId"], main["id"]);
    for e in [main, compile] {
        assert_eq!(e["chainId"], step["id"]);
    }
}

#[test]
fn a_signal_the_caller_ignores_stays_ignored_for_the_command() {
    // A shell's background job runs with SIGINT ignored; `exec` must not change that.
    let scratch = Scratch::new("cli-ignored");
    let dir = scratch.path();
    let output = clean_command("sh")
        .args([
            "-c",
            r#"trap '' INT; exec "$0" exec -- sh -c 'kill -INT $$; echo survived'"#,
            BIN,
        ])
        .env("TRUNK_CI_ANALYTICS", "off")
        .current_dir(dir)
        .output_within();
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&output.stdout), "survived\n");
}
