//! The whole cost of an event (`cargo bench -p trunk-ci-analytics-benches --bench
//! whole_cost`, `-- --quick` for 200,000 events only): CPU time of every thread of a fresh
//! process per event delivered to a loopback receiver, caller ns per call, and events
//! delivered / spooled / dropped, for:
//!
//! - ours: `#[track_event]` in a tight loop, uploading to the contract server (validation
//!   off), then a flush;
//! - `tracing` `#[instrument]` + `tracing-opentelemetry` + the SDK's batch span processor +
//!   `opentelemetry-otlp` (HTTP protobuf) to the same server's `POST /v1/traces`, then a
//!   force-flush. Its queue is raised to the burst (`OTEL_BSP_MAX_QUEUE_SIZE`) so that it
//!   delivers the same spans rather than dropping most (a second row keeps the default 2048);
//! - the same `#[instrument]` spans through our `tracing` layer (`trunk_ci_analytics::tracing::
//!   layer()`), uploading like ours, and through a bare registry with no layer (what `tracing`
//!   itself costs; nothing delivered);
//! - paced: rounds of 20,000 calls of ours, then of fastrace, timed, with no pause between
//!   rounds, so our uploader is busy with earlier rounds while the caller is timed.
//!
//! The server runs in this (parent) process; every measurement is a fresh child process
//! (this binary re-run with `TCA_WHOLE_COST`), so the server's CPU is not counted. Process
//! CPU is the sum over the child's threads of `/proc/self/task/*/schedstat` (nanoseconds on
//! CPU; every thread of both stacks is alive when it is read). Linux only.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use trunk_ci_analytics_benches as b;
use trunk_ci_analytics_testserver::TestServer;

const ROUND: u64 = 20_000;

fn main() {
    if std::env::args().any(|a| a == "--serve") {
        // For profiling one child by hand: a server, its address and token, until killed.
        let server = TestServer::builder()
            .validate(false)
            .start()
            .unwrap_or_else(|e| panic!("cannot start the loopback server: {e}"));
        println!("{} {}", server.url(), server.token());
        // What it received is dropped as it goes: a server kept for many runs would
        // otherwise hold every event it ever got.
        loop {
            std::thread::sleep(Duration::from_secs(1));
            server.clear_events();
            server.clear_spans();
            server.clear_requests();
        }
    }
    if let Ok(mode) = std::env::var("TCA_WHOLE_COST") {
        child(&mode);
        return;
    }
    let quick = std::env::args().any(|a| a == "--quick");
    let server = TestServer::builder()
        .validate(false)
        .start()
        .unwrap_or_else(|e| panic!("cannot start the loopback server: {e}"));
    let spool = std::env::temp_dir().join(format!("tca-whole-cost-{}", std::process::id()));
    let sizes: &[u64] = if quick {
        &[200_000]
    } else {
        &[200_000, 1_000_000]
    };
    for &n in sizes {
        let ours = run(&server, &spool, "ours", n, None);
        let otel = run(&server, &spool, "otel", n, Some(n));
        let otel_default = run(&server, &spool, "otel", n, None);
        let layer = run(&server, &spool, "layer", n, None);
        let bare = run(&server, &spool, "registry", n, None);
        let replayed = if ours.spooled > 0 {
            run(&server, &spool, "replay", 0, None).delivered
        } else {
            0
        };
        println!("{n} events in a tight loop:");
        println!(
            "  CPU per delivered event: ours / OpenTelemetry = {:.3} ({:.0} ns / {:.0} ns)",
            ours.cpu_per_delivered() / otel.cpu_per_delivered(),
            ours.cpu_per_delivered(),
            otel.cpu_per_delivered()
        );
        println!(
            "  caller per call: ours / OpenTelemetry = {:.3} ({:.1} ns / {:.1} ns)",
            ours.caller_ns / otel.caller_ns,
            ours.caller_ns,
            otel.caller_ns
        );
        println!(
            "  `tracing` spans through our layer, CPU per delivered span: ours / \
             tracing-opentelemetry = {:.3} ({:.0} ns / {:.0} ns; a bare registry alone: {:.0} \
             ns per span); caller {:.1} ns / {:.1} ns (bare registry {:.1} ns)",
            layer.cpu_per_delivered() / otel.cpu_per_delivered(),
            layer.cpu_per_delivered(),
            otel.cpu_per_delivered(),
            bare.cpu_per_delivered(),
            layer.caller_ns,
            otel.caller_ns,
            bare.caller_ns
        );
        for (name, r) in [
            ("ours", &ours),
            ("ours, tracing layer", &layer),
            ("OpenTelemetry, queue = burst", &otel),
            ("OpenTelemetry, default queue", &otel_default),
        ] {
            println!(
                "  {name}: {:.0} ns CPU per delivered event ({:.0} per recorded: {:.0} on the \
                 recording thread, {:.0} on the others), caller {:.1} ns/call, delivered {} \
                 spooled {} dropped {} of {n}",
                r.cpu_per_delivered(),
                r.cpu_ns / n as f64,
                r.main_ns / n as f64,
                (r.cpu_ns - r.main_ns) / n as f64,
                r.caller_ns,
                r.delivered,
                r.spooled,
                n - (r.delivered + r.spooled).min(n),
            );
        }
        println!("  ours: {}", ours.report);
        if ours.spooled > 0 {
            println!(
                "  a later run delivered {replayed} of the {} spooled",
                ours.spooled
            );
        }
    }
    let rounds = if quick { 10 } else { 50 };
    let out = child_output(&server, &spool, "paced", rounds * ROUND, None);
    let ours: f64 = field(&out, "OURS_NS");
    let fast: f64 = field(&out, "FASTRACE_NS");
    let ours_min: f64 = field(&out, "OURS_MIN_NS");
    let fast_min: f64 = field(&out, "FASTRACE_MIN_NS");
    println!(
        "paced ({rounds} rounds of {ROUND} calls each, uploader busy): ours / fastrace = {:.2} \
         by the median ({ours:.1} ns / {fast:.1} ns), {:.2} by the minimum ({ours_min:.1} / \
         {fast_min:.1}); {}",
        ours / fast,
        ours_min / fast_min,
        out.lines()
            .find(|l| l.starts_with("REPORT"))
            .unwrap_or_default()
    );
    let _ = std::fs::remove_dir_all(&spool);
}

struct Outcome {
    cpu_ns: f64,
    /// CPU of the recording thread while it recorded.
    main_ns: f64,
    /// The child's flush report, if it printed one.
    report: String,
    caller_ns: f64,
    delivered: u64,
    spooled: u64,
}

impl Outcome {
    fn cpu_per_delivered(&self) -> f64 {
        self.cpu_ns / self.delivered.max(1) as f64
    }
}

fn run(server: &TestServer, spool: &Path, mode: &str, n: u64, queue: Option<u64>) -> Outcome {
    server.clear_events();
    server.clear_spans();
    server.clear_requests();
    let out = child_output(server, spool, mode, n, queue);
    // Everything the child counted as delivered was answered before it exited.
    // Less the one event or span each child sends before it is measured.
    let delivered = match mode {
        "otel" => server.span_count() as u64 - 1,
        "ours" => server.event_count() as u64 - 1,
        // The warm-up's tracked call and span.
        "layer" => server.event_count() as u64 - 2,
        // Nothing is delivered: the cost per span recorded.
        "registry" => n,
        _ => server.event_count() as u64,
    };
    Outcome {
        cpu_ns: field(&out, "CPU_NS"),
        main_ns: field(&out, "MAIN_NS"),
        report: out
            .lines()
            .find(|l| l.starts_with("REPORT"))
            .unwrap_or_default()
            .to_owned(),
        caller_ns: field(&out, "CALLER_NS"),
        delivered,
        spooled: field(&out, "SPOOLED"),
    }
}

fn child_output(
    server: &TestServer,
    spool: &Path,
    mode: &str,
    n: u64,
    queue: Option<u64>,
) -> String {
    let exe = std::env::current_exe().unwrap_or_else(|e| panic!("current_exe: {e}"));
    let mut cmd = Command::new(exe);
    cmd.env("TCA_WHOLE_COST", mode)
        .env("TCA_EVENTS", n.to_string())
        .env("TRUNK_API_TOKEN", server.token())
        .env("TRUNK_PUBLIC_API_ADDRESS", server.url())
        .env("TRUNK_REPO", "acme/widgets")
        .env("TRUNK_SPOOL_DIR", spool)
        .env("TRUNK_FLUSH_TIMEOUT_MS", "60000")
        .env_remove("TRUNK_EVENTS_FILE")
        .env_remove("TRUNK_CHAIN_ID");
    // Only the OpenTelemetry stack exports spans: our runtime would read the same variable
    // and deliver every event twice (trackEvents and OTLP), which is another measurement.
    if mode == "otel" {
        cmd.env(
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
            server.otlp_traces_endpoint(),
        );
    } else {
        cmd.env_remove("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
            .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT");
    }
    match queue {
        Some(q) => cmd.env("OTEL_BSP_MAX_QUEUE_SIZE", q.to_string()),
        None => cmd.env_remove("OTEL_BSP_MAX_QUEUE_SIZE"),
    };
    let out = cmd
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

/// CPU time of the calling thread, in nanoseconds.
fn thread_cpu_ns() -> f64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(0.0)
}

/// CPU time of every live thread of this process, in nanoseconds.
fn process_cpu_ns() -> f64 {
    let mut total = 0.0;
    if let Ok(tasks) = std::fs::read_dir("/proc/self/task") {
        for task in tasks.flatten() {
            let stat = std::fs::read_to_string(task.path().join("schedstat")).unwrap_or_default();
            total += stat
                .split_whitespace()
                .next()
                .and_then(|ns| ns.parse::<f64>().ok())
                .unwrap_or(0.0);
        }
    }
    total
}

fn child(mode: &str) {
    let n: u64 = std::env::var("TCA_EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    match mode {
        "ours" => ours(n),
        "otel" => otel(n),
        "layer" => layer(n),
        "registry" => registry(n),
        "replay" => {
            let guard =
                trunk_ci_analytics::init(trunk_ci_analytics::Config::from_env().summary(false));
            drop(guard);
            println!("CPU_NS 0\nMAIN_NS 0\nCALLER_NS 0\nSPOOLED 0");
        }
        _ => paced(n),
    }
}

fn init_ours() -> trunk_ci_analytics::InitGuard {
    let mut tuning = trunk_ci_analytics::Tuning::default();
    // For trying other batch sizes by hand (`TCA_BATCH=2000`); the default otherwise.
    if let Some(n) = std::env::var("TCA_BATCH").ok().and_then(|v| v.parse().ok()) {
        tuning.batch_size = n;
    }
    let guard = trunk_ci_analytics::init(
        trunk_ci_analytics::Config::from_env()
            .summary(false)
            .tuning(tuning),
    );
    // The background thread, its connection and the clock are set up before timing.
    b::tracked(0);
    trunk_ci_analytics::flush(Duration::from_secs(10));
    guard
}

/// Times `n` calls of `call`, then `deliver` (which waits until the process has delivered
/// them, and says what became of them), and prints what the parent reads: the whole
/// process's CPU, the calling thread's, the caller's time per call.
fn measure(
    n: u64,
    call: impl Fn(u64) -> u64,
    deliver: impl FnOnce() -> Option<trunk_ci_analytics::FlushReport>,
) {
    let (cpu, main) = (process_cpu_ns(), thread_cpu_ns());
    let caller = b::timed(|| b::calls(n, call));
    let main = thread_cpu_ns() - main;
    let report = deliver();
    let cpu = process_cpu_ns() - cpu;
    println!("CPU_NS {cpu}");
    println!("MAIN_NS {main}");
    println!("CALLER_NS {}", caller.as_nanos() as f64 / n as f64);
    println!("SPOOLED {}", report.as_ref().map_or(0, |r| r.spooled));
    if let Some(report) = report {
        println!("REPORT {report:?}");
    }
}

fn ours(n: u64) {
    let guard = init_ours();
    measure(n, b::tracked, || {
        Some(trunk_ci_analytics::flush(Duration::from_secs(120)))
    });
    drop(guard);
}

fn otel(n: u64) {
    use opentelemetry::trace::TracerProvider as _;
    use tracing_subscriber::layer::SubscriberExt as _;

    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .build()
        .unwrap_or_else(|e| panic!("cannot build the OTLP exporter: {e}"));
    let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .build();
    let layer = tracing_opentelemetry::layer().with_tracer(provider.tracer("bench"));
    let subscriber = tracing_subscriber::registry().with(layer);
    let _default = tracing::subscriber::set_default(subscriber);
    b::traced(0);
    let _ = provider.force_flush();
    measure(n, b::traced, || {
        let _ = provider.force_flush();
        None
    });
    let _ = provider.shutdown();
}

/// `#[instrument]` spans through our `tracing` layer, uploading like `ours`.
fn layer(n: u64) {
    use tracing_subscriber::layer::SubscriberExt as _;
    let guard = init_ours();
    let subscriber = tracing_subscriber::registry().with(trunk_ci_analytics::tracing::layer());
    let _default = tracing::subscriber::set_default(subscriber);
    b::traced(0);
    trunk_ci_analytics::flush(Duration::from_secs(10));
    measure(n, b::traced, || {
        Some(trunk_ci_analytics::flush(Duration::from_secs(120)))
    });
    drop(guard);
}

/// The same spans with a bare registry and no layer: what `tracing` itself costs, nothing
/// delivered.
fn registry(n: u64) {
    let _default = tracing::subscriber::set_default(tracing_subscriber::registry());
    b::traced(0);
    measure(n, b::traced, || None);
}

fn paced(n: u64) {
    let guard = init_ours();
    b::discard_fastrace();
    let mut ours = Vec::new();
    let mut fast = Vec::new();
    let rounds = n / ROUND;
    for _ in 0..rounds {
        // No pause: the uploader is still busy with the rounds before while this one runs.
        ours.push(b::timed(|| b::calls(ROUND, b::tracked)).as_nanos() as f64 / ROUND as f64);
        fast.push(
            b::timed(|| b::under_fastrace_roots(ROUND, 1_000, b::fast)).as_nanos() as f64
                / ROUND as f64,
        );
    }
    let report = trunk_ci_analytics::flush(Duration::from_secs(120));
    for (name, mut v) in [("OURS", ours), ("FASTRACE", fast)] {
        v.sort_by(f64::total_cmp);
        println!("{name}_NS {}", v[v.len() / 2]);
        println!("{name}_MIN_NS {}", v[0]);
    }
    println!("REPORT {report:?}");
    fastrace::flush();
    drop(guard);
}
