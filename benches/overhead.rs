//! Per-call overhead of `#[track_event]` beside `tracing` and `fastrace`, in one run.
//!
//! ```sh
//! bash benches/ratios.sh          # runs this benchmark and prints the ratios
//! cargo bench -p trunk-ci-analytics-benches --bench overhead   # raw criterion figures
//! ```
//!
//! Every case wraps the same `#[inline(never)]` function. `#[track_event]` runs in
//! uploading mode: a loopback contract server receives the events, so the background
//! thread serializes and sends them while the benchmark runs. The disabled case switches
//! recording off in the same process, which is exactly the `TRUNK_CI_ANALYTICS=off` path
//! (one relaxed load and a branch). `tracing` runs under a bare registry subscriber and
//! `fastrace` with a reporter that discards, a new root every 1,000 spans (fastrace drops
//! spans past 10,240 per root).

#![allow(clippy::expect_used)] // a benchmark without its server has nothing to measure

use std::hint::black_box;
use std::sync::Barrier;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use trunk_ci_analytics::track_event;
use trunk_ci_analytics_benches::{
    calls, discard_fastrace, fast, plain, timed, traced, tracked, under_fastrace_roots,
};

#[track_event]
#[inline(never)]
fn tracked_depth3(x: u64) -> u64 {
    tracked_depth2(x)
}

#[track_event]
#[inline(never)]
fn tracked_depth2(x: u64) -> u64 {
    tracked(x)
}

#[tracing::instrument(skip_all)]
#[inline(never)]
fn traced_depth3(x: u64) -> u64 {
    traced_depth2(x)
}

#[tracing::instrument(skip_all)]
#[inline(never)]
fn traced_depth2(x: u64) -> u64 {
    traced(x)
}

#[fastrace::trace]
#[inline(never)]
fn fast_depth3(x: u64) -> u64 {
    fast_depth2(x)
}

#[fastrace::trace]
#[inline(never)]
fn fast_depth2(x: u64) -> u64 {
    fast(x)
}

/// Wall time for `iters` calls made on each of `threads` threads at once.
fn on_threads(threads: usize, iters: u64, f: impl Fn(u64) + Sync) -> Duration {
    let start_line = Barrier::new(threads + 1);
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                start_line.wait();
                f(iters);
            });
        }
        start_line.wait();
        let start = Instant::now();
        // Scope end joins every thread.
        start
    })
    .elapsed()
}

/// Calls timed per chunk in the paced cases: far below the memory bound.
const PACED_CHUNK: u64 = 20_000;

/// Times `iters` calls in chunks of [`PACED_CHUNK`], letting the background thread deliver
/// each chunk before the next (untimed), so every timed call takes the hand-off path of a
/// process whose uploader keeps up, never the overflow path.
fn paced(iters: u64, f: impl Fn(u64) -> u64) -> Duration {
    let mut total = Duration::ZERO;
    let mut done = 0;
    while done < iters {
        let n = PACED_CHUNK.min(iters - done);
        total += timed(|| calls(n, |i| f(done + i)));
        done += n;
        let report = trunk_ci_analytics::flush(Duration::from_secs(60));
        assert_eq!(
            report.dropped, 0,
            "the paced case must not overflow: {report}"
        );
    }
    total
}

fn overhead(c: &mut Criterion) {
    let up = trunk_ci_analytics_benches::uploading().expect("loopback server");
    discard_fastrace();
    let registry = tracing_subscriber::registry();
    let _tracing = tracing::subscriber::set_default(registry);

    let mut g = c.benchmark_group("call");
    g.bench_function("plain", |b| b.iter(|| plain(black_box(7))));
    trunk_ci_analytics::__private::set_recording(false);
    g.bench_function("track_event_disabled", |b| b.iter(|| tracked(black_box(7))));
    trunk_ci_analytics::__private::set_recording(true);
    g.bench_function("track_event", |b| b.iter(|| tracked(black_box(7))));
    g.bench_function("tracing", |b| b.iter(|| traced(black_box(7))));
    g.bench_function("fastrace", |b| {
        b.iter_custom(|iters| timed(|| under_fastrace_roots(iters, 1000, fast)))
    });
    g.finish();

    // The uploader delivers a few hundred thousand events a second and the loop above
    // records tens of millions: most of them take the overflow path (dropped and counted
    // once per 64-record hand-off instead of sent). The per-event work is the same; this
    // paced case checks that the hand-off of a keeping-up process costs no more.
    // Settle the overflow of the cases above first: its drops are not the paced case's.
    let before = trunk_ci_analytics::flush(Duration::from_secs(60));
    eprintln!("before the paced case: {before}");
    let mut g = c.benchmark_group("paced");
    g.sample_size(10)
        .measurement_time(Duration::from_millis(300));
    g.bench_function("track_event", |b| {
        b.iter_custom(|iters| paced(iters, tracked))
    });
    g.finish();

    // Depth 3: three nested events per iteration.
    let mut g = c.benchmark_group("depth3");
    g.bench_function("track_event", |b| b.iter(|| tracked_depth3(black_box(7))));
    g.bench_function("tracing", |b| b.iter(|| traced_depth3(black_box(7))));
    g.bench_function("fastrace", |b| {
        b.iter_custom(|iters| timed(|| under_fastrace_roots(iters, 300, fast_depth3)))
    });
    g.finish();

    // Two threads at once: the time for `iters` calls on each.
    let mut g = c.benchmark_group("two_threads");
    g.bench_function("track_event", |b| {
        b.iter_custom(|iters| on_threads(2, iters, |n| calls(n, tracked)))
    });
    g.bench_function("tracing", |b| {
        b.iter_custom(|iters| {
            on_threads(2, iters, |n| {
                let _t = tracing::subscriber::set_default(tracing_subscriber::registry());
                calls(n, traced)
            })
        })
    });
    g.bench_function("fastrace", |b| {
        b.iter_custom(|iters| on_threads(2, iters, |n| under_fastrace_roots(n, 1000, fast)))
    });
    g.finish();

    fastrace::flush();
    let report = trunk_ci_analytics::flush(Duration::from_secs(5));
    eprintln!(
        "uploader during the benchmark: {report}; server accepted {} events",
        up.server.event_count()
    );
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(30);
    targets = overhead
}
criterion_main!(benches);
