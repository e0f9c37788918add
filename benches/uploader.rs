//! Uploader benchmarks against the loopback contract server (`cargo bench --bench uploader`):
//!
//! - throughput: a fresh process records N events from 2 threads as fast as it can and exits
//!   through its `init` guard; events/s = N / (first record → guard dropped), checked against
//!   what the server received;
//! - exit flush: a fresh process records 10,000 events in a tight loop, then drops its `init`
//!   guard; the time of that drop is the wait at exit.
//!
//! Each measurement is its own process (this binary, re-run with `TCA_BENCH_CHILD`), since the
//! runtime is process-global and the exit is what is measured. Both run against the loopback
//! server with validation off (the uploader's own figures; the server shares the two cores)
//! and on (what the tests see). A small timed main rather than
//! criterion: what is timed is seconds-long whole-process work, and CI compiles every target.

use std::process::Command;
use std::time::{Duration, Instant};

use trunk_ci_analytics::{Conclusion, Config, EventBuilder, Tuning};
use trunk_ci_analytics_testserver::TestServer;

const THROUGHPUT_EVENTS: usize = 200_000;
const EXIT_EVENTS: usize = 10_000;
const RUNS: usize = 5;

fn main() {
    if let Ok(mode) = std::env::var("TCA_BENCH_CHILD") {
        child(&mode);
        return;
    }
    let quick = std::env::args().any(|a| a == "--quick");
    let runs = if quick { 1 } else { RUNS };
    let spool = std::env::temp_dir().join(format!("tca-bench-spool-{}", std::process::id()));
    let start = |validate: bool| {
        TestServer::builder()
            .validate(validate)
            .start()
            .unwrap_or_else(|e| panic!("cannot start the loopback server: {e}"))
    };
    // Without validation the server costs ~2 µs per event, so the figure is the uploader's;
    // with it (~14 µs per event on these same two cores) the server is the bottleneck.
    let targets = [
        ("loopback server, validation off", start(false)),
        ("loopback server, validating every event", start(true)),
    ];

    println!("throughput: {THROUGHPUT_EVENTS} events recorded by 2 threads, delivered before exit");
    for (name, target) in &targets {
        for (label, memory) in [
            ("all in memory", 1_000_000),
            ("memory bound 100,000, rest via the spool", 100_000),
        ] {
            let mut rates = Vec::new();
            for _ in 0..runs {
                target.clear_events();
                let out = run_child(target, &spool, "throughput", memory);
                let secs: f64 = field(&out, "SECS");
                let got = wait_for(target, THROUGHPUT_EVENTS);
                assert!(
                    got >= THROUGHPUT_EVENTS,
                    "only {got} of {THROUGHPUT_EVENTS} events arrived"
                );
                rates.push(THROUGHPUT_EVENTS as f64 / secs);
            }
            rates.sort_by(f64::total_cmp);
            println!(
                "  {name}, {label}: median {:.0} events/s (min {:.0}, max {:.0}, {runs} runs)",
                rates[rates.len() / 2],
                rates[0],
                rates[rates.len() - 1]
            );
        }
    }

    println!(
        "flush at exit: {EXIT_EVENTS} events recorded in a tight loop, then the init guard dropped"
    );
    for (name, target) in &targets {
        let mut waits = Vec::new();
        for _ in 0..runs * 2 {
            target.clear_events();
            let out = run_child(target, &spool, "exit", 100_000);
            waits.push(field::<f64>(&out, "EXIT_MS"));
            let got = wait_for(target, EXIT_EVENTS);
            assert!(
                got >= EXIT_EVENTS,
                "only {got} of {EXIT_EVENTS} events arrived"
            );
        }
        waits.sort_by(f64::total_cmp);
        println!(
            "  {name}: median {:.1} ms (min {:.1}, max {:.1}, {} runs)",
            waits[waits.len() / 2],
            waits[0],
            waits[waits.len() - 1],
            waits.len()
        );
    }
    let _ = std::fs::remove_dir_all(&spool);
}

/// Waits for `n` events; returns how many arrived.
fn wait_for(server: &TestServer, n: usize) -> usize {
    server.wait_for_events(n, Duration::from_secs(60));
    server.event_count()
}

fn run_child(target: &TestServer, spool: &std::path::Path, mode: &str, memory: usize) -> String {
    let exe = std::env::current_exe().unwrap_or_else(|e| panic!("current_exe: {e}"));
    let out = Command::new(exe)
        .env("TCA_BENCH_CHILD", mode)
        .env("TCA_BENCH_MEMORY", memory.to_string())
        .env("TRUNK_API_TOKEN", target.token())
        .env("TRUNK_PUBLIC_API_ADDRESS", target.url())
        .env("TRUNK_REPO", "acme/widgets")
        .env("TRUNK_SPOOL_DIR", spool)
        .env("TRUNK_FLUSH_TIMEOUT_MS", "30000")
        .env_remove("TRUNK_EVENTS_FILE")
        .output()
        .unwrap_or_else(|e| panic!("cannot run the child: {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "child failed: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

fn field<T: std::str::FromStr>(out: &str, name: &str) -> T {
    out.lines()
        .find_map(|l| l.strip_prefix(name)?.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {name} in {out}"))
}

fn child(mode: &str) {
    let memory = std::env::var("TCA_BENCH_MEMORY")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let tuning = Tuning {
        memory_events: memory,
        ..Tuning::default()
    };
    let guard = trunk_ci_analytics::init(Config::from_env().summary(false).tuning(tuning));
    let record = |n: usize| {
        for _ in 0..n {
            EventBuilder::new("bench step")
                .key("bench::step")
                .start()
                .finish(Conclusion::Success);
        }
    };
    match mode {
        "throughput" => {
            let started = Instant::now();
            let threads: Vec<_> = (0..2)
                .map(|_| std::thread::spawn(move || record(THROUGHPUT_EVENTS / 2)))
                .collect();
            for t in threads {
                let _ = t.join();
            }
            drop(guard);
            println!("SECS {}", started.elapsed().as_secs_f64());
        }
        _ => {
            record(EXIT_EVENTS);
            let at_exit = Instant::now();
            drop(guard);
            println!("EXIT_MS {}", at_exit.elapsed().as_secs_f64() * 1e3);
        }
    }
}
