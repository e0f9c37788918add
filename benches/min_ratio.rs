//! The enabled-call ratios to fastrace and tracing as the minimum over many short rounds:
//! on a shared machine the minimum is far steadier than criterion's mean, because noise only
//! adds time.
//!
//! ```sh
//! cargo bench -p trunk-ci-analytics-benches --bench min_ratio
//! ```
//!
//! Each round times 20,000 calls of `#[track_event]` (uploading to a loopback server; the
//! uploader delivers each round before the next, untimed, so every timed call takes the
//! hand-off path of a process whose uploader keeps up), 20,000 `fastrace` spans (a new
//! root every 1,000, discarding reporter) and 20,000 `tracing` spans (bare registry
//! subscriber), in turn, 200 rounds; and the plain function beside `#[track_event]` with
//! recording switched off (the `TRUNK_CI_ANALYTICS=off` path).

#![allow(clippy::expect_used)] // a benchmark without its server has nothing to measure

use std::time::Duration;

use trunk_ci_analytics_benches::{
    calls, discard_fastrace, fast, plain, timed, traced, tracked, under_fastrace_roots,
};

const CALLS: u64 = 20_000;
const ROUNDS: usize = 200;

fn per_call(time: Duration) -> f64 {
    time.as_nanos() as f64 / CALLS as f64
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return; // `cargo bench -- --list` probes every bench target.
    }
    let _up = trunk_ci_analytics_benches::uploading().expect("loopback server");
    discard_fastrace();
    let _tracing = tracing::subscriber::set_default(tracing_subscriber::registry());
    let (mut ours, mut fastrace, mut tracing) = (f64::MAX, f64::MAX, f64::MAX);
    let (mut plain_call, mut disabled) = (f64::MAX, f64::MAX);
    for _ in 0..ROUNDS {
        plain_call = plain_call.min(per_call(timed(|| calls(CALLS, plain))));
        trunk_ci_analytics::__private::set_recording(false);
        disabled = disabled.min(per_call(timed(|| calls(CALLS, tracked))));
        trunk_ci_analytics::__private::set_recording(true);

        ours = ours.min(per_call(timed(|| calls(CALLS, tracked))));
        let report = trunk_ci_analytics::flush(Duration::from_secs(30));
        assert_eq!(report.dropped, 0, "{report}");

        fastrace = fastrace.min(per_call(timed(|| under_fastrace_roots(CALLS, 1000, fast))));
        fastrace::flush();

        tracing = tracing.min(per_call(timed(|| calls(CALLS, traced))));
    }
    println!(
        "min over {ROUNDS} rounds of {CALLS} calls: #[track_event] {ours:.1} ns, fastrace {fastrace:.1} ns, tracing {tracing:.1} ns"
    );
    println!(
        "#[track_event] / fastrace {:.2}, / tracing {:.2}",
        ours / fastrace,
        ours / tracing
    );
    println!(
        "plain {plain_call:.2} ns, #[track_event] disabled {disabled:.2} ns: {:+.2} ns",
        disabled - plain_call
    );
}
