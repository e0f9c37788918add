//! The enabled-call ratio to fastrace as the minimum over many short rounds: on a shared
//! machine the minimum is far steadier than criterion's mean, because noise only adds time.
//!
//! ```sh
//! cargo bench -p trunk-ci-analytics-benches --bench min_ratio
//! ```
//!
//! Each round times 20,000 calls of `#[track_event]` (uploading to a loopback server; the
//! uploader delivers each round before the next, untimed, so every timed call takes the
//! hand-off path of a process whose uploader keeps up) and 20,000 `fastrace` spans (a new
//! root every 1,000, discarding reporter), alternately, 200 rounds.

#![allow(clippy::expect_used)] // a benchmark without its server has nothing to measure

use std::hint::black_box;
use std::time::{Duration, Instant};

use trunk_ci_analytics::track_event;

const CALLS: u64 = 20_000;
const ROUNDS: usize = 200;

#[track_event]
#[inline(never)]
fn tracked(x: u64) -> u64 {
    black_box(x).wrapping_mul(3)
}

#[fastrace::trace]
#[inline(never)]
fn fast(x: u64) -> u64 {
    black_box(x).wrapping_mul(3)
}

struct Discard;

impl fastrace::collector::Reporter for Discard {
    fn report(&mut self, spans: Vec<fastrace::collector::SpanRecord>) {
        black_box(spans);
    }
}

fn per_call(start: Instant) -> f64 {
    start.elapsed().as_nanos() as f64 / CALLS as f64
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return; // `cargo bench -- --list` probes every bench target.
    }
    let _up = trunk_ci_analytics_benches::uploading().expect("loopback server");
    fastrace::set_reporter(Discard, fastrace::collector::Config::default());
    let (mut ours, mut theirs) = (f64::MAX, f64::MAX);
    for _ in 0..ROUNDS {
        let start = Instant::now();
        for i in 0..CALLS {
            black_box(tracked(i));
        }
        ours = ours.min(per_call(start));
        let report = trunk_ci_analytics::flush(Duration::from_secs(30));
        assert_eq!(report.dropped, 0, "{report}");

        use fastrace::prelude::*;
        let start = Instant::now();
        for chunk in 0..CALLS / 1000 {
            let root = Span::root("bench", SpanContext::random());
            let _parent = root.set_local_parent();
            for i in chunk * 1000..(chunk + 1) * 1000 {
                black_box(fast(i));
            }
        }
        theirs = theirs.min(per_call(start));
        fastrace::flush();
    }
    println!(
        "min over {ROUNDS} rounds of {CALLS} calls: #[track_event] {ours:.1} ns, fastrace {theirs:.1} ns, ratio {:.2}",
        ours / theirs
    );
}
