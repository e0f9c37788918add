//! See where your CI time goes: `#[track_event]` turns a function into an event of
//! [Trunk CI Analytics](https://docs.trunk.io/ci-analytics) — start and end time, a
//! conclusion from its return value, tags and metrics — and nested calls into one tree,
//! across threads, async tasks and child processes.
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
//! #[track_event]                                 // flushes when main returns (or panics)
//! fn main() -> Result<(), String> {
//!     lint()?;
//!     test("unit")
//! }
//!
//! #[track_event(kind = "step")]
//! fn lint() -> Result<(), String> {              // Ok → SUCCESS, Err → FAILURE
//!     Ok(())
//! }
//!
//! #[track_event(name = "test", tags(suite = suite), metrics(shards = 4))]
//! fn test(suite: &str) -> Result<(), String> {
//!     trunk_ci_analytics::metric("tests_run", 120);
//!     Ok(())
//! }
//! ```
//!
//! Run it without a token and the tree is printed on stderr when `main` ends:
//!
//! ```text
//! trunk-ci-analytics: main ✔ 1.32 ms (3 events, local mode: not uploaded)
//!   ✔ main                 1.32 ms
//!     ✔ lint               0.1 ms
//!     ✔ test               0.9 ms
//! ```
//!
//! On CI, set `TRUNK_API_TOKEN`: the repository, the CI platform and tags such as `branch`,
//! `sha` and `run_url` are detected, and a background thread uploads the events in batches.
//! Set `TRUNK_CI_ANALYTICS=off` and tracked functions run as if unannotated.
//!
//! # The attribute
//!
//! `#[track_event(..)]` takes, in any order and each at most once:
//!
//! | argument | meaning | default |
//! |---|---|---|
//! | `name = "…"` | sequence name, shown in the dashboards | the function's name |
//! | `key = "…"` | sequence key, < 128 characters | `"{CARGO_PKG_NAME}::{module_path}::{fn}"` |
//! | `kind = "…"` | sequence kind | `"function"` |
//! | `platform = "…"` | snake_case CI platform | detected, else `"local"` |
//! | `tags(k = expr, …)` | event tags, evaluated at entry; numbers stay numbers | CI tags |
//! | `metrics(k = expr, …)` | numeric event metrics, evaluated at entry | `duration_ms` |
//! | `sequence_tags(k = expr, …)` | sequence tags | none |
//! | `conclusion = path` | a `fn(&Ret) -> Conclusion` | by return type |
//! | `root` | start a new chain even if a parent exists | off |
//! | `flush` | flush when the call returns (also on panic) | on for `fn main` |
//! | `crate = path` | path to this crate, for re-exports | `::trunk_ci_analytics` |
//!
//! The conclusion comes from the return type: `Result` (any alias), `bool`,
//! [`ExitStatus`](std::process::ExitStatus), [`Output`](std::process::Output),
//! [`ExitCode`](std::process::ExitCode); `()`, `Option` and other types are `SUCCESS`; your
//! types implement [`IntoConclusion`]. A panic is `FAILURE` (the panic continues unchanged),
//! a future dropped before it completes is `CANCELLED`, and [`set_conclusion`] inside the
//! body wins over all of these.
//!
//! # Across threads, tasks and processes
//!
//! ```no_run
//! use std::process::Command;
//! use trunk_ci_analytics::{current_context, track_event, CommandExt, FutureExt};
//!
//! #[track_event]
//! fn build() -> std::io::Result<std::process::ExitStatus> {
//!     // Each build script cargo runs becomes a child of this event.
//!     Command::new("cargo").arg("build").with_event_context().status()
//! }
//!
//! #[track_event]
//! fn fan_out() {
//!     let ctx = current_context();
//!     std::thread::spawn(move || match ctx {
//!         Some(ctx) => ctx.attach(build),
//!         None => build(),
//!     });
//! }
//!
//! #[track_event]
//! async fn spawn_work() {
//!     // The task runs under this event wherever the runtime polls it.
//!     let task = async { /* tracked calls */ }.with_current_context();
//! #   let _ = task;
//! }
//! ```
//!
//! Work that is not one function call — a CI runner's jobs — uses [`EventBuilder`]:
//!
//! ```
//! use trunk_ci_analytics::{Conclusion, EventBuilder};
//!
//! let job = EventBuilder::new("integration [linux]").kind("job").tag("shard", 1).start();
//! job.finish(Conclusion::TimedOut);
//! ```
//!
//! # Setup and exit
//!
//! Without [`init`], the first event configures everything from the environment (see the
//! table in the README). Events are queued without blocking; at the end of a tracked
//! `fn main`, when the [`InitGuard`] of [`init`] drops, or on [`exit`], the runtime waits at
//! most `TRUNK_FLUSH_TIMEOUT_MS` (2 s) for the upload and writes what is left to the spool,
//! from where a later run sends it. [`flush`] does the same on demand and reports what
//! happened.

#![deny(missing_docs)]

/// Records the function as a Trunk CI Analytics event. See the [crate docs](crate) for
/// the arguments.
///
/// ```
/// use trunk_ci_analytics::track_event;
///
/// #[track_event(kind = "step", tags(target = "x86_64"))]
/// fn compile() -> Result<u32, String> {
///     Ok(3)
/// }
/// assert_eq!(compile(), Ok(3));
/// ```
pub use trunk_ci_analytics_macros::track_event;

pub use trunk_ci_analytics_runtime::*;
