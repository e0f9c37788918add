//! Shared pieces of the benchmarks: a loopback server with the runtime uploading to it,
//! and the workload each library wraps (the same `#[inline(never)]` function).

use std::hint::black_box;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use trunk_ci_analytics::{Config, InitGuard};
use trunk_ci_analytics_testserver::TestServer;

/// A loopback contract server, and the runtime set up to upload to it.
#[derive(Debug)]
pub struct Uploading {
    /// The server receiving the events.
    pub server: TestServer,
    /// Flushes when dropped.
    pub guard: InitGuard,
    spool: PathBuf,
}

/// Starts a server without schema validation (it would be the bottleneck, not the
/// uploader) and sets the runtime up to upload to it, with a private spool directory.
pub fn uploading() -> std::io::Result<Uploading> {
    let server = TestServer::builder().validate(false).start()?;
    let spool = std::env::temp_dir().join(format!("trunk-bench-spool-{}", std::process::id()));
    let guard = trunk_ci_analytics::init(
        Config::from_env()
            .token(server.token())
            .api_address(server.url())
            .repo("trunk-io", "bench")
            .spool_dir(&spool)
            // The tree on stderr is not what these figures are about; `flush_latency` runs
            // with it on, as users have it (issue 19 hid behind this line).
            .summary(false),
    );
    Ok(Uploading {
        server,
        guard,
        spool,
    })
}

impl Drop for Uploading {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.spool);
    }
}

/// The unwrapped workload.
#[inline(never)]
pub fn plain(x: u64) -> u64 {
    black_box(x).wrapping_mul(3)
}

/// The workload as a `#[track_event]` function.
#[trunk_ci_analytics::track_event]
#[inline(never)]
pub fn tracked(x: u64) -> u64 {
    black_box(x).wrapping_mul(3)
}

/// The workload as a `fastrace::trace` function.
#[fastrace::trace]
#[inline(never)]
pub fn fast(x: u64) -> u64 {
    black_box(x).wrapping_mul(3)
}

/// The workload as a `tracing::instrument` function; `skip_all`: like `#[track_event]`,
/// it records no arguments.
#[tracing::instrument(skip_all)]
#[inline(never)]
pub fn traced(x: u64) -> u64 {
    black_box(x).wrapping_mul(3)
}

/// A fastrace reporter that discards what it is given.
#[derive(Debug)]
pub struct Discard;

impl fastrace::collector::Reporter for Discard {
    fn report(&mut self, spans: Vec<fastrace::collector::SpanRecord>) {
        black_box(spans);
    }
}

/// Installs [`Discard`] as fastrace's reporter.
pub fn discard_fastrace() {
    fastrace::set_reporter(Discard, fastrace::collector::Config::default());
}

/// Calls `f` `n` times (arguments `0..n`), keeping every result alive.
pub fn calls(n: u64, f: impl Fn(u64) -> u64) {
    for i in 0..n {
        black_box(f(i));
    }
}

/// Runs `iters` calls of `f`, `per_root` at a time under a new fastrace root (fastrace
/// drops spans past 10,240 per root).
pub fn under_fastrace_roots(iters: u64, per_root: u64, f: impl Fn(u64) -> u64) {
    use fastrace::prelude::*;
    let mut done = 0;
    while done < iters {
        let root = Span::root("bench", SpanContext::random());
        let _parent = root.set_local_parent();
        let n = per_root.min(iters - done);
        for i in done..done + n {
            black_box(f(i));
        }
        done += n;
    }
}

/// How long `f` takes.
pub fn timed(f: impl FnOnce()) -> Duration {
    let start = Instant::now();
    f();
    start.elapsed()
}
