//! A full disk (issue 26, finding 11), as a file size limit (`RLIMIT_FSIZE`, with SIGXFSZ
//! ignored, so a write past it fails with EFBIG as on a full disk): the events file and
//! the trace file keep whole lines only, so the next writer's lines stay whole and the trace
//! stays JSON, and the summary says the events were dropped, not spooled.

use std::os::unix::process::CommandExt;

use trunk_ci_analytics::{Conclusion, Config, EventBuilder};
use trunk_ci_analytics_testkit::Scratch;
use trunk_ci_analytics_testserver::ClosedPort;

use crate::hostile_support::{child_command, run, uploading};

/// Bytes any file of the limited process may reach.
const LIMIT: u64 = 256 * 1024;

/// Many events, for an unreachable endpoint: far more than the files and the spool can take
/// under the limit.
pub fn many_for_a_full_disk_child() {
    let events: usize = std::env::var("R2_EVENTS").unwrap().parse().unwrap();
    let guard = trunk_ci_analytics::init(Config::from_env());
    // Under one root, flushed before the root ends: the summary is printed when the root
    // ends, so what the upload and the spool made of the steps is known by then.
    let run = EventBuilder::new("run").start();
    for i in 0..events {
        EventBuilder::new(format!("step {i}"))
            .tag("padding", "p".repeat(200))
            .start()
            .finish(Conclusion::Success);
    }
    trunk_ci_analytics::flush(std::time::Duration::from_secs(5));
    run.finish(Conclusion::Success);
    drop(guard);
}

#[test]
fn a_full_disk_leaves_whole_lines_and_a_truthful_summary() {
    let dir = Scratch::new("disk-full");
    let events = dir.join("events.jsonl");
    let trace = dir.join("trace.json");
    // Nothing listens there: what is not written to the files goes to the spool, or not.
    let down = ClosedPort::new();
    let mut cmd = uploading("r2_full_disk", &down.url(), &dir.join("spool"));
    cmd.env("TMPDIR", dir.path())
        .env("TRUNK_EVENTS_FILE", &events)
        .env("TRUNK_TRACE_FILE", &trace)
        .env("TRUNK_FLUSH_TIMEOUT_MS", "1000")
        .env("R2_EVENTS", "20000");
    // SAFETY: the closure only sets a resource limit and a signal's action in the forked
    // child before it execs (both async-signal-safe); both survive the exec.
    unsafe {
        cmd.pre_exec(|| {
            let limit = libc::rlimit {
                rlim_cur: LIMIT,
                rlim_max: LIMIT,
            };
            if libc::setrlimit(libc::RLIMIT_FSIZE, &limit) != 0
                || libc::signal(libc::SIGXFSZ, libc::SIG_IGN) == libc::SIG_ERR
            {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let (out, stdout, stderr) = run(&mut cmd);
    assert!(out.status.success(), "{stdout}\n{stderr}");

    // The next writer: a process of the same run, with room again.
    let mut next = child_command("r2_full_disk");
    next.env("TMPDIR", dir.path())
        .env("TRUNK_EVENTS_FILE", &events)
        .env("TRUNK_TRACE_FILE", &trace)
        .env("R2_EVENTS", "1");
    let (out, next_stdout, next_stderr) = run(&mut next);
    assert!(out.status.success(), "{next_stdout}\n{next_stderr}");

    let text = std::fs::read_to_string(&events).unwrap();
    let mut parsed = 0;
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        serde_json::from_str::<serde_json::Value>(line)
            .unwrap_or_else(|e| panic!("line {} of the events file is torn ({e}): {line}", n + 1));
        parsed += 1;
    }
    assert!(parsed > 1, "{text}");
    assert!(
        text.trim_end().ends_with('}'),
        "the next writer's event is the last line"
    );
    let trace_text = std::fs::read_to_string(&trace).unwrap();
    serde_json::from_str::<serde_json::Value>(&format!("{trace_text}]"))
        .unwrap_or_else(|e| panic!("the trace is no longer JSON ({e})"));

    // The summary says what happened to the events the spool could not take.
    let logged = |l: &str| {
        ["error:", "warning:", "info:", "debug:"]
            .iter()
            .any(|p| l.starts_with(p))
    };
    let header = stderr
        .lines()
        .filter_map(|l| l.strip_prefix("trunk-ci-analytics: "))
        .find(|l| !logged(l) && l.contains(" events"))
        .unwrap_or_else(|| panic!("no summary: {stderr}"));
    assert!(header.contains("dropped"), "{header}\n{stderr}");
    assert!(
        !header.contains("events spooled"),
        "spooled, says the header, though the spool could not be written: {header}"
    );
}
