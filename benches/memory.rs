//! Peak resident memory of a process that records far more events than it can send: the
//! server stalls every request (the uploader waits out its request timeout, then its
//! breaker sends everything to the spool), while two threads record in a tight loop.
//!
//! ```sh
//! cargo bench -p trunk-ci-analytics-benches --bench memory
//! ```
//!
//! Each row is a fresh process (this binary re-run), so its peak (`VmHWM`) is its own.
//! The first row records nothing: the runtime's fixed cost (background thread, tokio,
//! HTTP client). The last row's events each carry a 64 KiB tag value: what the byte bounds
//! are for. Linux only (reads `/proc/self/status`).

#![allow(clippy::expect_used, clippy::unwrap_used)] // a benchmark that cannot run has nothing to say

use std::process::Command;
use std::time::{Duration, Instant};

use trunk_ci_analytics::{Conclusion, EventBuilder, track_event};
use trunk_ci_analytics_testserver::{Fault, TestServer};

const CHILD: &str = "TCA_MEMORY_BENCH_EVENTS";
/// Bytes of the tag value each event of the child carries (none when unset).
const TAG_BYTES: &str = "TCA_MEMORY_BENCH_TAG_BYTES";

fn main() {
    if let Ok(n) = std::env::var(CHILD) {
        child(n.parse().expect("event count"));
        return;
    }
    if std::env::args().any(|a| a == "--list") {
        return; // `cargo bench -- --list` probes every bench target.
    }
    let server = TestServer::builder()
        .validate(false)
        .start()
        .expect("server");
    server.set_persistent(Some(Fault::Stall(Duration::from_secs(600))));
    println!(
        "{:>12} {:>10} {:>14} {:>14} {:>10}",
        "events", "tag bytes", "peak RSS MiB", "after exit", "seconds"
    );
    let only_tagged = std::env::var_os("TCA_MEMORY_BENCH_TAGGED_ONLY").is_some();
    let plain = [0u64, 10_000, 100_000, 1_000_000, 4_000_000].map(|n| (n, 0usize));
    let rows = plain
        .into_iter()
        .filter(|_| !only_tagged)
        .chain([(50_000, 64 * 1024)]);
    for (events, tag_bytes) in rows {
        let spool =
            std::env::temp_dir().join(format!("trunk-mem-bench-{}-{events}", std::process::id()));
        let start = Instant::now();
        let out = Command::new(std::env::current_exe().expect("exe"))
            .env(CHILD, events.to_string())
            .env(TAG_BYTES, tag_bytes.to_string())
            .env("TRUNK_API_TOKEN", server.token())
            .env("TRUNK_PUBLIC_API_ADDRESS", server.url())
            .env("TRUNK_REPO", "trunk-io/memory-bench")
            .env("TRUNK_SPOOL_DIR", &spool)
            .env("TRUNK_FLUSH_TIMEOUT_MS", "1000")
            .env("TRUNK_CI_ANALYTICS_LOG", "error")
            .output()
            .expect("child");
        let text = String::from_utf8_lossy(&out.stdout);
        let field = |name: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(name))
                .map(|v| v.trim().parse::<f64>().unwrap_or(f64::NAN) / 1024.0)
                .unwrap_or(f64::NAN)
        };
        println!(
            "{events:>12} {tag_bytes:>10} {:>14.1} {:>14.1} {:>10.2}",
            field("recorded "),
            field("exited "),
            start.elapsed().as_secs_f64()
        );
        let _ = std::fs::remove_dir_all(&spool);
    }
}

#[track_event]
#[inline(never)]
fn step(i: u64) -> u64 {
    std::hint::black_box(i)
}

#[track_event(tags(value = value))]
#[inline(never)]
fn tagged_step(i: u64, value: &str) -> u64 {
    std::hint::black_box(i)
}

/// Records `events` events from two threads, then reports its peak RSS (KiB) before and
/// after the exit flush.
fn child(events: u64) {
    let guard = trunk_ci_analytics::init(trunk_ci_analytics::Config::from_env().summary(false));
    // One manual event so the runtime is up even with zero events.
    EventBuilder::new("memory-bench")
        .start()
        .finish(Conclusion::Success);
    let tag_bytes: usize = std::env::var(TAG_BYTES)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let threads: Vec<_> = (0..2)
        .map(|_| {
            std::thread::spawn(move || {
                // Each event its own value, as a program formatting a log or a command line.
                let mut value = "v".repeat(tag_bytes);
                (0..events / 2).for_each(|i| {
                    if tag_bytes == 0 {
                        step(i);
                    } else {
                        value.replace_range(..1, if i % 2 == 0 { "a" } else { "b" });
                        tagged_step(i, &value);
                    }
                })
            })
        })
        .collect();
    threads.into_iter().for_each(|t| t.join().unwrap());
    println!("recorded {}", peak_kib());
    drop(guard);
    println!("exited {}", peak_kib());
}

fn peak_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}
