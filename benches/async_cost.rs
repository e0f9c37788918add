//! An async tracked call polled to completion, against fastrace's async instrumentation
//! (`#[trace]` on an `async fn`, which is `in_span` on its body) and the same `async fn`
//! un-instrumented, as the minimum per call over many short rounds; and the size of each
//! generated future.
//!
//! ```sh
//! cargo bench -p trunk-ci-analytics-benches --bench async_cost
//! ```
//!
//! Each round awaits 20,000 calls in one task on a current-thread tokio runtime (each call's
//! future completes on its first poll, so the figure is the instrumentation's own cost per
//! call: building the future, entering and leaving the context, recording). Ours uploads to
//! a loopback server, which delivers each round before the next, untimed.

#![allow(clippy::expect_used)] // a benchmark without its server has nothing to measure

use std::hint::black_box;
use std::time::{Duration, Instant};

use trunk_ci_analytics_benches::discard_fastrace;

const CALLS: u64 = 20_000;
const ROUNDS: usize = 200;

#[inline(never)]
async fn plain(x: u64) -> u64 {
    black_box(x).wrapping_mul(3)
}

#[trunk_ci_analytics::track_event]
#[inline(never)]
async fn tracked(x: u64) -> u64 {
    black_box(x).wrapping_mul(3)
}

#[fastrace::trace]
#[inline(never)]
async fn fast(x: u64) -> u64 {
    black_box(x).wrapping_mul(3)
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return; // `cargo bench -- --list` probes every bench target.
    }
    let _up = trunk_ci_analytics_benches::uploading().expect("loopback server");
    discard_fastrace();
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let (mut p, mut ours, mut f) = (f64::MAX, f64::MAX, f64::MAX);
    for _ in 0..ROUNDS {
        p = p.min(rt.block_on(async {
            let start = Instant::now();
            for i in 0..CALLS {
                black_box(plain(i).await);
            }
            per_call(start)
        }));
        ours = ours.min(rt.block_on(async {
            let start = Instant::now();
            for i in 0..CALLS {
                black_box(tracked(i).await);
            }
            per_call(start)
        }));
        let report = trunk_ci_analytics::flush(Duration::from_secs(30));
        assert_eq!(report.dropped, 0, "{report}");
        f = f.min(rt.block_on(async {
            use fastrace::prelude::*;
            let start = Instant::now();
            let mut done = 0;
            while done < CALLS {
                // A new root every 1,000 spans, as in the other benchmarks (fastrace drops
                // spans past 10,240 per root).
                let root = Span::root("bench", SpanContext::random());
                let _parent = root.set_local_parent();
                for i in done..done + 1000 {
                    black_box(fast(i).await);
                }
                done += 1000;
            }
            per_call(start)
        }));
        fastrace::flush();
    }
    println!(
        "async, min over {ROUNDS} rounds of {CALLS} calls: #[track_event] {ours:.1} ns, \
         fastrace {f:.1} ns, plain {p:.1} ns"
    );
    println!(
        "#[track_event] / fastrace {:.2}; #[track_event] - plain {:.1} ns, fastrace - plain \
         {:.1} ns",
        ours / f,
        ours - p,
        f - p
    );
    println!(
        "future size: #[track_event] {} bytes, fastrace {} bytes, plain {} bytes",
        std::mem::size_of_val(&tracked(0)),
        std::mem::size_of_val(&fast(0)),
        std::mem::size_of_val(&plain(0)),
    );
}

fn per_call(start: Instant) -> f64 {
    start.elapsed().as_nanos() as f64 / CALLS as f64
}
