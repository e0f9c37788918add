//! Shared by the `upload_*` tests: each scenario runs the real runtime in a fresh child process
//! (the runtime is process-global), against the real loopback server.
//!
//! The child is this same test binary, re-run with only the ignored `upload_support::child`
//! test (defined here, so every binary that includes this module has it) selected and
//! `TCA_CHILD` set. It records events through the public manual-event API from `TCA_THREADS`
//! threads, writes their ids to `TCA_IDS`, ends the way `TCA_MODE` says and prints its flush
//! report as one `REPORT …` line.

#![allow(dead_code)] // each test binary uses its own subset

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use trunk_ci_analytics::{Conclusion, Config, EventBuilder, Tuning};
use trunk_ci_analytics_testkit::{assert_selected, output_within, rerun};
use trunk_ci_analytics_testserver::TestServer;

/// Longest a child may run: far above the longest flush timeout a scenario sets (a liveness
/// bound).
const CHILD_LIMIT: Duration = Duration::from_secs(300);

#[test]
#[ignore = "entry point of the child processes the other tests run"]
fn child() {
    child_main();
}

/// The child's side.
fn child_main() {
    if std::env::var_os("TCA_CHILD").is_none() {
        return;
    }
    let num = |name: &str, default: u64| {
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let ms = |name: &str, default: u64| Duration::from_millis(num(name, default));
    let defaults = Tuning::default();
    let tuning = Tuning {
        batch_size: num("TCA_BATCH", 500) as usize,
        linger: ms("TCA_LINGER_MS", 1000),
        memory_events: num("TCA_MEMORY", defaults.memory_events as u64) as usize,
        spool_bytes: num("TCA_SPOOL_BYTES", defaults.spool_bytes),
        request_timeout: ms("TCA_REQUEST_TIMEOUT_MS", 10_000),
        max_retries: num("TCA_MAX_RETRIES", 5) as u32,
        breaker_cooldown: ms("TCA_BREAKER_MS", 30_000),
    };
    let mode = std::env::var("TCA_MODE").unwrap_or_else(|_| "report".into());
    if let Ok(start) = std::env::var("TCA_START_FILE") {
        wait_for_file(Path::new(&start));
    }
    // The summary is what a user has; most scenarios leave it out of their stderr.
    let summary = num("TCA_SUMMARY", 0) == 1;
    let guard = trunk_ci_analytics::init(Config::from_env().summary(summary).tuning(tuning));
    if let Some(rounds) = std::env::var("TCA_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        flush_rounds(
            rounds,
            num("TCA_EVENTS", 0),
            ms("TCA_ROUND_DEADLINE_MS", 60_000),
            ms("TCA_ROUND_BOUND_MS", 60_000),
        );
        drop(guard);
        return;
    }

    let threads = num("TCA_THREADS", 1);
    let per_thread = num("TCA_EVENTS", 0);
    let bad = std::env::var("TCA_BAD")
        .ok()
        .and_then(|v| v.parse::<u64>().ok());
    // A pause after each event: events that trickle in rather than burst.
    let pause = Duration::from_micros(num("TCA_PAUSE_US", 0));
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            std::thread::spawn(move || {
                let mut ids = Vec::with_capacity(per_thread as usize);
                for i in 0..per_thread {
                    let mut builder = EventBuilder::new("step").key("upload-test::step");
                    if t == 0 && bad == Some(i) {
                        // The contract wants a snake_case platform: the server answers 400.
                        builder = builder.platform("Not Snake Case");
                    }
                    let event = builder.start();
                    if let Some(ctx) = event.context() {
                        ids.push(ctx.event_id());
                    }
                    event.finish(Conclusion::Success);
                    if !pause.is_zero() {
                        std::thread::sleep(pause);
                    }
                }
                ids
            })
        })
        .collect();
    let ids: Vec<String> = handles
        .into_iter()
        .flat_map(|h| h.join().unwrap_or_default())
        .collect();
    if let Ok(path) = std::env::var("TCA_IDS") {
        std::fs::write(path, ids.join("\n")).unwrap();
    }
    // Lets a run sit idle with the runtime up (to watch what an idle pipeline does).
    std::thread::sleep(ms("TCA_SLEEP_MS", 0));
    let timeout = ms("TRUNK_FLUSH_TIMEOUT_MS", 2000);
    // Timed here: the parent's clock would add this process's start and end, and whatever
    // else its machine runs meanwhile.
    let started = Instant::now();
    match mode.as_str() {
        "report" => {
            print_report(&trunk_ci_analytics::flush(timeout), started);
            drop(guard);
        }
        // Replays the spool to its end, as `trunk-ci-analytics flush` does.
        "spool" => {
            print_report(&trunk_ci_analytics::flush_spool(timeout), started);
            drop(guard);
        }
        "guard" => {
            drop(guard);
            println!("EXIT ms={}", started.elapsed().as_millis());
        }
        "exit" => trunk_ci_analytics::exit(0),
        // Nothing flushes: the exit hook must.
        "atexit" => std::mem::forget(guard),
        _ => drop(guard),
    }
}

/// The one `REPORT …` line the parent reads back with [`Child::report`].
fn print_report(r: &trunk_ci_analytics::FlushReport, started: Instant) {
    println!(
        "REPORT delivered={} spooled={} dropped={} rejected={} replayed={} timed_out={} ms={}",
        r.delivered,
        r.spooled,
        r.dropped,
        r.rejected,
        r.replayed,
        r.timed_out,
        started.elapsed().as_millis()
    );
}

/// Waits (bounded) until `path` exists: processes started one by one begin together.
fn wait_for_file(path: &Path) {
    let until = Instant::now() + Duration::from_secs(60);
    while !path.exists() {
        assert!(Instant::now() < until, "{} never appeared", path.display());
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// `rounds` times: `per_round` top-level events, then a flush with `deadline`, timed here in
/// the child (the parent's clock would add the process's start and exit). One line each:
/// `ROUND <n> ms=<flush time> delivered=<n> timed_out=<bool>`. A flush slower than `bound`
/// ends the rounds: the parent fails on its line without waiting out the others.
fn flush_rounds(rounds: u64, per_round: u64, deadline: Duration, bound: Duration) {
    let mut ids = Vec::new();
    for round in 0..rounds {
        for _ in 0..per_round {
            let event = EventBuilder::new("work").key("upload-test::work").start();
            if let Some(ctx) = event.context() {
                ids.push(ctx.event_id());
            }
            event.finish(Conclusion::Success);
        }
        let started = Instant::now();
        let r = trunk_ci_analytics::flush(deadline);
        println!(
            "ROUND {round} ms={} delivered={} timed_out={}",
            started.elapsed().as_millis(),
            r.delivered,
            r.timed_out
        );
        if started.elapsed() > bound {
            break;
        }
    }
    if let Ok(path) = std::env::var("TCA_IDS") {
        std::fs::write(path, ids.join("\n")).unwrap();
    }
}

/// A child process to run.
pub struct Run {
    env: Vec<(String, String)>,
    ids: PathBuf,
}

/// What a child did.
#[derive(Debug)]
pub struct Child {
    pub success: bool,
    pub stdout: String,
    pub stderr: String,
    /// Ids of the events the child recorded.
    pub ids: Vec<String>,
}

/// A child's flush report.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Report {
    pub delivered: u64,
    pub spooled: u64,
    pub dropped: u64,
    pub rejected: u64,
    pub replayed: u64,
    pub timed_out: bool,
    /// How long the flush took, timed in the child.
    pub ms: u64,
}

impl Run {
    /// A child uploading to `server` with its token, spooling to `spool`.
    pub fn new(server: &TestServer, spool: &Path) -> Run {
        Run::with_token(server, &server.token(), spool)
    }

    /// A child in local mode (no token), spooling to `spool` if it ever had to.
    pub fn local(spool: &Path) -> Run {
        let ids = spool.with_file_name(format!("ids-{}-{}", std::process::id(), unique()));
        Run {
            env: vec![
                ("TRUNK_SPOOL_DIR".into(), spool.display().to_string()),
                ("TRUNK_REPO".into(), "acme/widgets".into()),
                ("TCA_IDS".into(), ids.display().to_string()),
            ],
            ids,
        }
    }

    pub fn with_token(server: &TestServer, token: &str, spool: &Path) -> Run {
        let ids = spool.with_file_name(format!("ids-{}-{}", std::process::id(), unique()));
        Run {
            env: vec![
                ("TRUNK_API_TOKEN".into(), token.into()),
                ("TRUNK_PUBLIC_API_ADDRESS".into(), server.url()),
                ("TRUNK_SPOOL_DIR".into(), spool.display().to_string()),
                ("TRUNK_REPO".into(), "acme/widgets".into()),
                ("TRUNK_FLUSH_TIMEOUT_MS".into(), "10000".into()),
                ("TCA_IDS".into(), ids.display().to_string()),
            ],
            ids,
        }
    }

    pub fn env(mut self, key: &str, value: impl ToString) -> Run {
        self.env.retain(|(k, _)| k != key);
        self.env.push((key.into(), value.to_string()));
        self
    }

    /// `threads` threads each recording `per_thread` events.
    pub fn events(self, threads: usize, per_thread: usize) -> Run {
        self.env("TCA_THREADS", threads)
            .env("TCA_EVENTS", per_thread)
    }

    pub fn run(self) -> Child {
        let mut cmd: Command = rerun("upload_support::child");
        cmd.env("TCA_CHILD", "1");
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        let out = output_within(&mut cmd, CHILD_LIMIT);
        let ids = std::fs::read_to_string(&self.ids)
            .unwrap_or_default()
            .lines()
            .map(str::to_owned)
            .collect();
        let _ = std::fs::remove_file(&self.ids);
        let child = Child {
            success: out.status.success(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            ids,
        };
        assert_selected(&child.stdout);
        assert!(
            child.success,
            "child failed:\n{}\n{}",
            child.stdout, child.stderr
        );
        // Whatever the scenario, the token never reaches the child's output.
        if let Some((_, token)) = self
            .env
            .iter()
            .find(|(k, v)| k == "TRUNK_API_TOKEN" && !v.is_empty())
        {
            child.assert_no_token(token);
        }
        child
    }
}

impl Child {
    /// What follows `tag` on the child's stdout line that holds it.
    fn after(&self, tag: &str) -> &str {
        self.stdout
            .lines()
            .find_map(|l| l.find(tag).map(|i| &l[i + tag.len()..]))
            .unwrap_or_else(|| panic!("no {tag:?} in:\n{}\n{}", self.stdout, self.stderr))
    }

    pub fn report(&self) -> Report {
        let line = self.after("REPORT ");
        let mut r = Report::default();
        for field in line.split_whitespace() {
            let (k, v) = field.split_once('=').unwrap();
            match k {
                "delivered" => r.delivered = v.parse().unwrap(),
                "spooled" => r.spooled = v.parse().unwrap(),
                "dropped" => r.dropped = v.parse().unwrap(),
                "rejected" => r.rejected = v.parse().unwrap(),
                "replayed" => r.replayed = v.parse().unwrap(),
                "timed_out" => r.timed_out = v == "true",
                "ms" => r.ms = v.parse().unwrap(),
                _ => {}
            }
        }
        r
    }

    /// How long the exit through the `init` guard took, timed in the child (`TCA_MODE=guard`).
    pub fn exit_time(&self) -> Duration {
        Duration::from_millis(self.after("EXIT ms=").trim().parse().unwrap())
    }

    /// The `ROUND` lines of a [`flush_rounds`] child: (flush time, delivered, timed out).
    pub fn rounds(&self) -> Vec<(Duration, u64, bool)> {
        self.stdout
            .lines()
            .filter_map(|l| l.find("ROUND ").map(|i| &l[i..]))
            .map(|line| {
                let field = |k: &str| {
                    line.split_whitespace()
                        .find_map(|f| f.strip_prefix(k))
                        .unwrap_or_else(|| panic!("no {k} in {line}"))
                };
                (
                    Duration::from_millis(field("ms=").parse().unwrap()),
                    field("delivered=").parse().unwrap(),
                    field("timed_out=") == "true",
                )
            })
            .collect()
    }

    /// The child's stderr lines from the runtime.
    pub fn runtime_lines(&self) -> Vec<&str> {
        self.stderr
            .lines()
            .filter(|l| l.starts_with("trunk-ci-analytics:"))
            .collect()
    }

    /// Asserts the token appears nowhere in what the child printed.
    pub fn assert_no_token(&self, token: &str) {
        assert!(
            !self.stdout.contains(token),
            "token on stdout:\n{}",
            self.stdout
        );
        assert!(
            !self.stderr.contains(token),
            "token on stderr:\n{}",
            self.stderr
        );
    }
}

fn unique() -> u128 {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0)
        + u128::from(N.fetch_add(1, Ordering::Relaxed))
}

/// A token no other text contains by accident.
pub fn secret_token() -> String {
    format!("tca-secret-{:x}", unique())
}

/// Every file under `dir` (recursively), with its contents.
pub fn files(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in entries.flatten() {
        let path = e.path();
        if path.is_dir() {
            out.extend(files(&path));
        } else if let Ok(bytes) = std::fs::read(&path) {
            out.push((path, bytes));
        }
    }
    out
}

/// Spool files holding events (`*.json`), with their event counts.
pub fn spooled_events(spool: &Path) -> usize {
    files(spool)
        .iter()
        .filter(|(p, _)| p.extension().is_some_and(|e| e == "json"))
        .map(|(_, body)| {
            let v: serde_json::Value = serde_json::from_slice(body).unwrap();
            v["events"].as_array().map_or(0, Vec::len)
        })
        .sum()
}

/// Asserts no file under `dir` contains `token`.
pub fn assert_no_token_in(dir: &Path, token: &str) {
    for (path, bytes) in files(dir) {
        let text = String::from_utf8_lossy(&bytes);
        assert!(!text.contains(token), "token in {}", path.display());
    }
}

/// Asserts the server accepted every id in `ids` (at least once) and returns how many
/// duplicates it saw.
pub fn assert_all_delivered(server: &TestServer, ids: &[String]) -> usize {
    assert!(!ids.is_empty(), "the child recorded no events");
    let expected: HashSet<&str> = ids.iter().map(String::as_str).collect();
    assert_eq!(expected.len(), ids.len(), "the child made duplicate ids");
    server.wait_for_events(ids.len(), Duration::from_secs(30));
    let got = server.event_ids();
    let got: HashSet<&str> = got.iter().map(String::as_str).collect();
    let missing: Vec<&&str> = expected.difference(&got).take(5).collect();
    assert!(
        missing.is_empty(),
        "{} of {} events never arrived, e.g. {missing:?}",
        expected.difference(&got).count(),
        ids.len()
    );
    server.duplicate_ids().len()
}
