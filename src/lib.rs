//! See where your CI time goes: `#[track_event]` turns a function into an event of
//! [Trunk CI Analytics](https://docs.trunk.io/ci-analytics) — start and end time, a
//! conclusion from its return value, tags and metrics — and nested calls into one tree,
//! across threads, async tasks and child processes.
//!
//! It is made for build tooling: `build.rs` scripts, `cargo xtask` automation and CI runners
//! written in Rust. Nothing it does can fail, panic or hang your build: events are handed to
//! one background thread, uploaded in batches, and what the network cannot take waits on
//! disk for the next run.
//!
//! Trunk discontinued CI Analytics on 2025-05-09; the `trackEvents` request format is kept
//! exactly (any compatible receiver takes it), and with `OTEL_EXPORTER_OTLP_ENDPOINT` set
//! every event is also exported as an OpenTelemetry span over OTLP/HTTP (see the table
//! below and [`Config::otlp_endpoint`]).
//!
//! This crate is the only one you depend on; it re-exports the macro and the runtime.
//!
//! # Getting started
//!
//! ```toml
//! [dependencies]        # [build-dependencies] for a build script
//! trunk-ci-analytics = "0.1"
//! ```
//!
//! ```no_run
//! use trunk_ci_analytics::track_event;
//!
//! #[track_event] // flushes when main returns (or panics)
//! fn main() -> Result<(), String> {
//!     lint()?;
//!     test("unit")
//! }
//!
//! #[track_event(kind = "step")]
//! fn lint() -> Result<(), String> {
//!     // Ok → SUCCESS, Err → FAILURE
//!     Ok(())
//! }
//!
//! #[track_event(name = "unit tests", tags(suite = suite), metrics(shards = 4))]
//! fn test(suite: &str) -> Result<(), String> {
//!     trunk_ci_analytics::metric("tests_run", 120);
//!     Ok(())
//! }
//! ```
//!
//! Run it without a token and the tree is printed on stderr when `main` ends:
//!
//! ```text
//! trunk-ci-analytics: main ✔ 0.0 ms (3 events, local mode: not uploaded)
//!   ✔ main                    0.0 ms
//!     ✔ lint                  0.0 ms
//!     ✔ unit tests            0.0 ms
//! ```
//!
//! Add `TRUNK_EVENTS_FILE=events.jsonl` to get every event as one JSON line (the exact
//! [`wire::Event`] that would be uploaded). On CI, set `TRUNK_API_TOKEN`: the repository,
//! the CI platform and tags such as `branch`, `sha` and `run_url` are detected, and a
//! background thread uploads the events. Set `TRUNK_CI_ANALYTICS=off` and tracked functions
//! run as if unannotated.
//!
//! # The attribute
//!
//! `#[track_event(..)]` takes, in any order and each at most once:
//!
//! | argument | meaning | default |
//! |---|---|---|
//! | `name = "…"` | sequence name, shown in the dashboards | the function's name |
//! | `key = "…"` | sequence key, < 128 characters (checked at compile time) | `"{CARGO_PKG_NAME}::{module_path}::{fn}"` |
//! | `kind = "…"` | sequence kind | `"function"` |
//! | `platform = "…"` | snake_case CI platform (checked at compile time) | detected, else `"local"` |
//! | `tags(k = expr, …)` | event tags, evaluated at entry; numbers stay numbers, the rest goes through `Display` | CI tags |
//! | `metrics(k = expr, …)` | numeric event metrics (a `Duration` in ms), evaluated at entry | `duration_ms` |
//! | `sequence_tags(k = expr, …)` | sequence tags | none |
//! | `conclusion = path` | a `fn(&Ret) -> Conclusion` | by return type |
//! | `root` | start a new chain even if a parent exists | off |
//! | `flush` | flush when the call returns (also on panic) | on for `fn main` |
//! | `err` | on `Err`, record the error's `Display` (the `error.message` tag, cut to 1024 characters; the OpenTelemetry span's status message); `Result` with a `Display` error only | **off**: error text can carry secrets or paths |
//! | `crate = path` | path to this crate, for re-exports | `::trunk_ci_analytics` |
//!
//! The default key is the package name, the module path and the event's name (the `name`
//! argument, else the function's name), e.g. `my-crate::build_script_build::main` for a
//! build script's `main`: same-named functions of two crates, or two modules, stay apart. A
//! default key longer than 127 characters is shortened to its head and a hash.
//!
//! The conclusion comes from the return type: `Result` (any alias), `bool`,
//! [`ExitStatus`](std::process::ExitStatus), [`Output`](std::process::Output),
//! [`ExitCode`](std::process::ExitCode); `()`, `Option` and other types are `SUCCESS`; your
//! types implement [`IntoConclusion`]. A panic is `FAILURE` (the panic continues unchanged),
//! a future dropped before it completes is `CANCELLED`, and [`set_conclusion`] inside the
//! body wins over all of these. [`tag`] and [`metric`] add to the running event from inside
//! its body.
//!
//! # In a build script
//!
//! ```toml
//! [build-dependencies]
//! trunk-ci-analytics = { version = "0.1", default-features = false }
//! ```
//!
//! Without its default features (see [Features](#features)) the library brings no HTTP
//! client, TLS or async runtime into your build: a build script builds about as fast as one
//! on `tracing` + `tracing-subscriber`. Its events still reach the API, through the run's
//! uploader: the xtask or `trunk-ci-analytics exec` step that ran cargo, or, with none, the
//! next process that uploads or `trunk-ci-analytics flush`.
//!
//! ```no_run
//! // build.rs
//! use trunk_ci_analytics::track_event;
//!
//! #[track_event] // the root of this process's events; flushes when it returns
//! fn main() -> std::io::Result<()> {
//!     println!("cargo::rerun-if-changed=proto");
//!     compile_protos()?;
//!     Ok(())
//! }
//!
//! #[track_event(kind = "codegen")]
//! fn compile_protos() -> std::io::Result<()> {
//!     Ok(())
//! }
//! ```
//!
//! Cargo shows a build script's stderr, and so its tree summary, only when the script
//! fails (or with `cargo build -vv`); use `TRUNK_EVENTS_FILE` to see its events locally.
//! When a tracked step runs cargo with [`CommandExt::with_event_context`], the build
//! scripts' events become children of that step, and that process — the run's uploader —
//! sends them: a build script opens no connection of its own. Those context variables never
//! make cargo rerun a build script (nothing declares them with `rerun-if-env-changed`); a
//! script cargo does not rerun records nothing.
//!
//! # In an xtask
//!
//! Make each step a tracked function, record the cargo commands it runs under it
//! ([`CommandExt::record_cargo`], feature `cargo`), and leave with [`exit`] rather than
//! [`std::process::exit`] (which would lose the events of the functions it interrupts):
//!
//! ```no_run
//! use std::process::Command;
//! use trunk_ci_analytics::{CommandExt, track_event};
//!
//! #[track_event(name = "xtask", kind = "workflow")]
//! fn main() {
//!     if let Err(e) = lint().and_then(|()| test()) {
//!         eprintln!("xtask: {e}");
//!         trunk_ci_analytics::exit(1); // records `main` as FAILURE, flushes, exits
//!     }
//! }
//!
//! #[track_event(kind = "step")]
//! fn lint() -> Result<(), String> {
//!     cargo(&["clippy", "--workspace", "--", "-D", "warnings"])
//! }
//!
//! #[track_event(kind = "step")]
//! fn test() -> Result<(), String> {
//!     cargo(&["test", "--workspace"])
//! }
//!
//! fn cargo(args: &[&str]) -> Result<(), String> {
//!     let mut command = Command::new("cargo");
//!     command.args(args);
//!     // Build scripts and tracked tools nest under this step, and so do cargo's compiled
//!     // units, build-script runs and test binaries, with the critical path.
//!     let recording = command.record_cargo();
//!     let status = command.status().map_err(|e| format!("cannot run cargo: {e}"))?;
//!     recording.finish();
//!     trunk_ci_analytics::tag("exit_code", status.code().unwrap_or(-1));
//!     if status.success() { Ok(()) } else { Err(format!("cargo {} failed", args[0])) }
//! }
//! ```
//!
//! `examples/xtask.rs` in the repository is a complete one.
//!
//! # Cargo, seen whole
//!
//! [`CommandExt::record_cargo`] (feature `cargo`, on by default; and
//! `trunk-ci-analytics exec -- cargo …`) records what cargo does as children of the current
//! event: one event per compiled unit (kind `compile`; tags `crate`, `version`, `target`,
//! `profile`), build-script run (`build_script_run`) and test binary or doctest run
//! (`test_binary`, with libtest's `passed`, `failed` and `ignored`), each with its real
//! start and duration, and the critical path: its units tagged `critical_path_position`, the step tagged
//! `critical_path` (`syn → serde_derive → app`) with the metric `critical_path_ms`, and
//! `compiled_units`, `fresh_units`, `build_script_runs` and `test_binaries`. Cargo runs the
//! recording program as its rustc wrapper, target runner and rustdoc, each running what
//! the user had there; a tracked `fn main` serves that role first
//! ([`serve_cargo_helper`]). What cargo prints and what it rebuilds stay as they were.
//!
//! # In a CI runner
//!
//! Jobs are not one function call: track them with [`EventBuilder`], which ends with any
//! [`Conclusion`]. A spawned task is polled outside the event that spawned it, so carry the
//! context along with [`FutureExt::with_current_context`] (or [`EventContext::instrument`]).
//!
//! ```
//! use std::time::Duration;
//! use trunk_ci_analytics::{Conclusion, EventBuilder, FutureExt, track_event};
//!
//! #[track_event(kind = "step")]
//! async fn run_tests() -> bool {
//!     true
//! }
//!
//! #[track_event(name = "pipeline", kind = "workflow")]
//! async fn pipeline() -> bool {
//!     // Started inside `pipeline`, the job is its child.
//!     let mut job = EventBuilder::new("test [linux]").kind("job").start();
//!     // `run_tests` becomes a child of the job, wherever the runtime polls it.
//!     let work = job.in_scope(|| run_tests().with_current_context());
//!     let task = tokio::spawn(async move {
//!         let conclusion = match tokio::time::timeout(Duration::from_secs(600), work).await {
//!             Ok(true) => Conclusion::Success,
//!             Ok(false) => Conclusion::Failure,
//!             Err(_) => Conclusion::TimedOut,
//!         };
//!         job.finish(conclusion); // an aborted task drops `job`: CANCELLED
//!         conclusion
//!     });
//!     EventBuilder::new("docs").start().finish(Conclusion::Skipped);
//!     matches!(task.await, Ok(Conclusion::Success))
//! }
//!
//! #[tokio::main]
//! async fn main() {
//! #   let _guard = trunk_ci_analytics::init(Default::default());
//!     let ok = pipeline().await;
//!     // `main` is not tracked: flush before leaving (or keep an `init` guard alive).
//!     let report = trunk_ci_analytics::flush(Duration::from_secs(2));
//!     eprintln!("analytics: {report}");
//!     assert!(ok);
//! }
//! ```
//!
//! `examples/ci_runner.rs` runs jobs under deadlines with each conclusion.
//!
//! # Across threads and processes
//!
//! [`current_context`] is the running event; [`EventContext::attach`] makes it the parent in
//! another thread, and [`EventContext::env_vars`] hands it to any child process
//! ([`CommandExt`] does it for [`std::process::Command`]). A root event in the child becomes
//! a child of it, in the same chain. The child also gets the W3C `TRACEPARENT` naming the
//! event's span ([`EventContext::traceparent`]), and a process started with only a
//! `TRACEPARENT` (by otel-cli, a CI agent, any OpenTelemetry-instrumented parent) joins
//! that trace.
//!
//! ```
//! use trunk_ci_analytics::{current_context, track_event};
//! # let _guard = trunk_ci_analytics::init(Default::default());
//!
//! #[track_event]
//! fn compile(unit: u32) -> u32 {
//!     unit
//! }
//!
//! #[track_event]
//! fn fan_out() {
//!     let ctx = current_context();
//!     let worker = std::thread::spawn(move || match ctx {
//!         Some(ctx) => ctx.attach(|| compile(1)), // a child of `fan_out`
//!         None => compile(1),                     // analytics off
//!     });
//!     let _ = worker.join();
//! }
//! fan_out();
//! ```
//!
//! # Code instrumented with `tracing`
//!
//! With the `tracing` feature, [`tracing::layer()`] is a `tracing_subscriber::Layer`: every
//! span it sees (its filters decide which) becomes an event in the same tree, nested both ways
//! with tracked calls, `FAILURE` when an `ERROR` event was emitted in it (as
//! `#[instrument(err)]` does).
//!
//! ```
//! use tracing_subscriber::layer::SubscriberExt;
//! # let _guard = trunk_ci_analytics::init(Default::default());
//!
//! #[trunk_ci_analytics::track_event]
//! fn checkout() {}
//!
//! let subscriber = tracing_subscriber::registry().with(trunk_ci_analytics::tracing::layer());
//! tracing::subscriber::with_default(subscriber, || {
//!     let span = tracing::info_span!("ci", runner = "linux");
//!     span.in_scope(checkout); // `checkout` is a child of the span `ci`
//! });
//! ```
//!
//! # Features
//!
//! | feature | default | what it does |
//! |---|---|---|
//! | `upload` | on | the HTTP client, TLS and async runtime (reqwest, rustls, tokio) that send events |
//! | `cargo` | on | [`CommandExt::record_cargo`]: cargo's work as events (no dependency; code a build script never runs) |
//! | `tracing` | off | [`tracing::layer()`]: `tracing` spans join the tree |
//!
//! Where to use which: an xtask, a CI runner, any program that runs the others — the
//! defaults (or `default-features = false, features = ["cargo"]` for an xtask always run
//! under `trunk-ci-analytics exec`, which uploads for it); a build-dependency —
//! `default-features = false` (a build script never runs cargo), unless the build script
//! runs alone (no xtask or `trunk-ci-analytics exec` around cargo, no
//! `trunk-ci-analytics flush` step after it) and must send its events itself:
//! `default-features = false, features = ["upload"]`. Without `cargo`,
//! [`serve_cargo_helper`] does nothing, so the same `main` compiles either way.
//!
//! One uploader per run: a process that sends announces itself to the processes it starts
//! (`TRUNK_UPLOADER`, set by [`CommandExt::with_event_context`] and
//! [`EventContext::env_vars`] beside the context); a process under it — with `upload` or
//! without — writes each batch to that process's spool instead of sending it, and the
//! uploader sends those files with its own, while it runs and at its exit. Without `upload`
//! and without an uploading ancestor, batches wait in the spool for the next process that
//! uploads, or for `trunk-ci-analytics flush`. Everything else — the macro, context across
//! threads and processes, `TRUNK_EVENTS_FILE`, `TRUNK_TRACE_FILE`, the summaries — works
//! the same with or without `upload`.
//!
//! # Configuration
//!
//! Without [`init`], the first event configures everything from these variables; with it,
//! from a [`Config`] (usually [`Config::from_env`] plus changes). A bad value gives one
//! warning naming the variable, and its default is used.
//!
//! | variable | meaning |
//! |---|---|
//! | `TRUNK_API_TOKEN` | API token; without it nothing is uploaded (local mode) |
//! | `TRUNK_PUBLIC_API_ADDRESS` | API base URL, default `https://api.trunk.io` |
//! | `TRUNK_REPO` | `owner/name` or a github.com URL; overrides detection |
//! | `TRUNK_CI_ANALYTICS` | `off` disables everything |
//! | `TRUNK_EVENTS_FILE` | append every finished event as one JSON line, with or without a token |
//! | `TRUNK_TRACE_FILE` | every event of the run, from every process, in one Chrome trace for ui.perfetto.dev |
//! | `GITHUB_STEP_SUMMARY` | (set by GitHub Actions) the run's root appends one Markdown section to the job summary |
//! | `TRUNK_SPOOL_DIR` | where undelivered events wait for the next run |
//! | `TRUNK_FLUSH_TIMEOUT_MS` | longest wait at exit, default 2000 |
//! | `TRUNK_CI_ANALYTICS_LOG` | `off error warn info debug` on stderr, default `warn` |
//! | `TRUNK_CHAIN_ID`, `TRUNK_PARENT_EVENT_ID`, `TRUNK_PARENT_SEQUENCE_KEY` | the parent handed to a child process |
//! | `TRUNK_UPLOADER` | `<pid>:<spool dir>`, set for a child process by a process that uploads: the child hands its events to it (while that process is its ancestor) |
//! | `TRACEPARENT` | W3C trace context. Out: set for a child process beside the three above, naming the span of the event that runs it. In: without the `TRUNK_*` context, root events become children of that span (parent sequence key `traceparent`) and the chain id is its trace id; malformed: one warning, ignored |
//! | `OTEL_EXPORTER_OTLP_ENDPOINT` | export every event as an OpenTelemetry span to `{base}/v1/traces` (OTLP/HTTP) |
//! | `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` | the OTLP traces URL, used as is |
//! | `OTEL_EXPORTER_OTLP_HEADERS` | `k=v,…` headers for the collector (percent-decoded; secrets, never printed) |
//! | `OTEL_EXPORTER_OTLP_PROTOCOL` | `http/protobuf` (default) or `http/json` |
//! | `OTEL_EXPORTER_OTLP_COMPRESSION` | `gzip` (default, bodies over 4 KiB) or `none` |
//! | `OTEL_SERVICE_NAME`, `OTEL_RESOURCE_ATTRIBUTES` | the spans' resource |
//! | `OTEL_SDK_DISABLED` | `true` turns OTLP export off |
//!
//! The repository comes from `TRUNK_REPO`, `GITHUB_REPOSITORY`, the CI provider's variables
//! or `git remote get-url origin`; the platform (`github_actions`, `gitlab_ci`, `buildkite`,
//! `circleci`, `jenkins`, `azure_pipelines`, else `local`) and the tags `branch`, `sha`,
//! `runner`, `run_url`, `os` and `arch` from the CI provider's variables ([`detect`]).
//!
//! # Setup and exit
//!
//! Events are queued without blocking. At the end of a tracked `fn main`, when the
//! [`InitGuard`] of [`init`] drops, or on [`exit`], the runtime waits at most
//! `TRUNK_FLUSH_TIMEOUT_MS` (2 s) for the upload and writes what is left to the spool (by
//! default in the user's cache directory), from where a later run sends it. An unreachable
//! endpoint costs a whole pipeline at most one flush timeout: the first process to find it
//! unreachable tells the others through the spool directory, and they spool at once.
//! [`flush`] does the same on demand and reports what happened; [`flush_spool`] also sends
//! what earlier processes left in the spool (the `trunk-ci-analytics flush` command), and
//! [`diagnose`] tells what is configured, what waits in the spool and whether the endpoint
//! takes the token (`trunk-ci-analytics doctor`). On Unix, pending events are also flushed
//! when the process exits normally without any of these; on Windows, flush through one of
//! them.
//!
//! A job CI cancels (SIGINT, SIGTERM) records its running events, on every thread, as
//! `CANCELLED`, flushes within the flush timeout, and ends as the signal would (exit status
//! 130 or 143) — unless the program handles the signal itself, which then decides. An event
//! still running a second after it started is also sent as a *started* event (no end yet),
//! so a killed or hung step still shows. The README's reliability section has the details.
//!
//! Each request is `POST {TRUNK_PUBLIC_API_ADDRESS}/v1/metrics/trackEvents` with the
//! `x-api-token` header and a [`wire::TrackEventsRequest`] body; the token is never
//! written to any log, `Debug` output or spool file.

#![deny(missing_docs)]

/// Records the function as a Trunk CI Analytics event. See the [crate docs](crate) for
/// the arguments.
///
/// ```
/// use trunk_ci_analytics::track_event;
/// # let _guard = trunk_ci_analytics::init(Default::default());
///
/// #[track_event(kind = "step", tags(target = "x86_64"))]
/// fn compile() -> Result<u32, String> {
///     Ok(3)
/// }
/// assert_eq!(compile(), Ok(3));
/// ```
pub use trunk_ci_analytics_macros::track_event;

pub use trunk_ci_analytics_runtime::*;

/// The README's Rust snippets, compiled (and run, unless marked otherwise) as doctests so
/// that the README cannot drift from the API.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
