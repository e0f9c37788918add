//! How long a flush takes once a process has recorded many events (`cargo bench -p
//! trunk-ci-analytics-benches --bench flush_latency`, `-- --quick` for 10,000 only): a runner
//! that flushes after every step pays this each time, so it must stay the time one delivery
//! takes, whatever came before.
//!
//! Each row is a fresh child process (this binary re-run with `TCA_FLUSH_LATENCY`) with the
//! defaults a user has — the stderr summary on — in local mode (no token) or uploading to
//! the loopback contract server (validation off) running in the parent. The child records N
//! top-level `#[track_event]` calls and flushes, then 200 times records a round of 1,000 calls
//! and times the flush that follows (60 s deadline). It prints p50, p99 and the slowest of
//! those 200 flushes, and checks that each one covered its round.

#![allow(clippy::expect_used)] // a benchmark without its server has nothing to measure

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use trunk_ci_analytics_benches as b;
use trunk_ci_analytics_testserver::TestServer;

const FLUSHES: usize = 200;
const ROUND: u64 = 1_000;
const DEADLINE: Duration = Duration::from_secs(60);

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return; // `cargo bench -- --list` probes every bench target.
    }
    if let Ok(mode) = std::env::var("TCA_FLUSH_LATENCY") {
        child(&mode);
        return;
    }
    let quick = std::env::args().any(|a| a == "--quick");
    let server = TestServer::builder()
        .validate(false)
        .start()
        .expect("loopback server");
    let spool = std::env::temp_dir().join(format!("tca-flush-latency-{}", std::process::id()));
    let sizes: &[u64] = if quick {
        &[10_000]
    } else {
        &[10_000, 100_000, 1_000_000]
    };
    println!(
        "flush after each of {FLUSHES} rounds of {ROUND} calls, once N calls were recorded \
         (summary on, as a user has it)"
    );
    println!(
        "{:<10} {:>10} {:>10} {:>10} {:>10}",
        "mode", "N", "p50", "p99", "max"
    );
    for mode in ["local", "uploading"] {
        for &n in sizes {
            let line = run(&server, &spool, mode, n);
            println!("{mode:<10} {n:>10} {line}");
            server.clear_events();
            server.clear_requests();
        }
    }
    let _ = std::fs::remove_dir_all(&spool);
}

fn run(server: &TestServer, spool: &Path, mode: &str, n: u64) -> String {
    let exe = std::env::current_exe().expect("own path");
    let mut cmd = Command::new(exe);
    // Only what this row sets: nothing of the shell's TRUNK_*/OTEL_* may steer the child.
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("TCA_FLUSH_LATENCY", mode)
        .env("TCA_EVENTS", n.to_string())
        .env("TRUNK_REPO", "acme/widgets")
        .env("TRUNK_SPOOL_DIR", spool)
        .stderr(Stdio::null());
    if mode == "uploading" {
        cmd.env("TRUNK_API_TOKEN", server.token())
            .env("TRUNK_PUBLIC_API_ADDRESS", server.url());
    }
    let out = cmd.output().expect("child process");
    assert!(out.status.success(), "child failed: {}", out.status);
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

fn child(mode: &str) {
    let n: u64 = std::env::var("TCA_EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let guard = trunk_ci_analytics::init(trunk_ci_analytics::Config::from_env());
    b::calls(n, b::tracked);
    let first = trunk_ci_analytics::flush(DEADLINE);
    assert!(!first.timed_out, "{first}");
    let mut took = Vec::with_capacity(FLUSHES);
    for _ in 0..FLUSHES {
        b::calls(ROUND, b::tracked);
        let start = Instant::now();
        let report = trunk_ci_analytics::flush(DEADLINE);
        took.push(start.elapsed());
        assert!(!report.timed_out, "{report}");
        if mode == "uploading" {
            assert_eq!(report.delivered, ROUND, "{report}");
        }
    }
    took.sort();
    let at = |q: f64| took[((took.len() - 1) as f64 * q).round() as usize];
    println!(
        "{:>10} {:>10} {:>10}",
        ms(at(0.50)),
        ms(at(0.99)),
        ms(took[took.len() - 1])
    );
    drop(guard);
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}
