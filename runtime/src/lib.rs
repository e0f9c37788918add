//! Runtime of [`trunk-ci-analytics`](https://docs.rs/trunk-ci-analytics): the context tree,
//! the wire model and the background uploader. Depend on the `trunk-ci-analytics` facade
//! crate, which re-exports everything here together with the `#[track_event]` macro.
//!
//! Layout (ARCHITECTURE.md at the repository root has the map): one folder per layer. The
//! hot path (`hot_path`: the context stack, event start and finish, futures) does no I/O and
//! no formatting; it hands finished records through one channel (`handoff`) to one
//! background thread (`pipeline`), where everything slow happens.

#![deny(missing_docs)]
// One module style: a module with children is a folder with its `mod.rs`.
#![warn(clippy::self_named_module_files)]

// Layers, lowest first; a module imports only from its own layer or below (ARCHITECTURE.md;
// runtime/layers.txt declares them for modcycles.py).
// The platform: OS calls, clock, logging, signals, owner-only files, directories, redaction.
#[macro_use]
mod platform;
// The model: the wire JSON and its rules, conclusions, tag and metric values, sites, ids
// (ours, OpenTelemetry's and the W3C trace context), error text, the flush report.
mod model;
// The record that crosses to the background thread, its lineage, the events running now
// (visible to the background thread), and the overflow of records kept for later.
mod record;
// The configuration (from the environment or built in code) and detection.
mod config;
// The hand-off from recording threads to the background thread.
mod handoff;
// The hot path: the on/off gate, the context stack, event start and finish, futures.
mod hot_path;
// The slow path: the background thread and its sinks.
mod pipeline;
// The top: process-wide setup, and the public API built on it.
mod api;

#[cfg(feature = "cargo")]
pub use api::cargo::{CargoRecording, serve_cargo_helper};
pub use api::global::{InitGuard, exit, flush, flush_spool, init};
pub use api::handover::{HandOver, HandOverError};
pub use api::manual::{EventBuilder, ManualEvent};
pub use api::propagation::{CommandExt, FutureExt, current_context};
pub use config::detect;
pub use config::otlp::OtlpProtocol;
pub use config::{Config, DEFAULT_API_ADDRESS, DEFAULT_FLUSH_TIMEOUT, Token, Tuning};
pub use hot_path::event::{metric, set_conclusion, tag};
pub use hot_path::future::WithContext;
pub use model::conclusion::{Conclusion, IntoConclusion};
pub use model::flush_report::FlushReport;
pub use model::values::MetricValue;
pub use model::{validate, wire};
pub use pipeline::diagnose;
#[doc(hidden)]
pub use platform::log;
pub use platform::log::LogLevel;
/// Secrets taken out of text before it is printed (for the command line; not a stable API).
#[doc(hidden)]
pub use platform::redact;
pub use record::lineage::EventContext;

/// Does the job of a cargo helper if cargo started this program as one: with the `cargo`
/// feature (on by default), which this build is without, so it does nothing.
///
/// A program built without `cargo` cannot call `CommandExt::record_cargo`, so cargo never
/// starts it as a helper; the function is here so that a `main` that calls it (and a
/// tracked `fn main`, which does) compiles with the feature or without it.
#[cfg(not(feature = "cargo"))]
#[inline]
pub fn serve_cargo_helper() {}

/// `tracing` spans as events of the same tree (feature `tracing`): add [`layer()`] to a
/// `tracing_subscriber::registry()`.
#[cfg(feature = "tracing")]
pub mod tracing {
    pub use crate::api::tracing_layer::{Layer, layer};
}

/// What the `#[track_event]` expansion calls. Not a public API: it changes without notice.
#[doc(hidden)]
pub mod __private {
    pub use crate::Conclusion;
    pub use crate::api::global::set_recording;
    pub use crate::hot_path::event::{AsyncEvent, SyncGuard};
    pub use crate::hot_path::future::{Finisher, Instrumented, instrument};
    // `Probe` in the expansion (`diagnose::Probe` is another thing).
    pub use crate::model::conclusion::{ConclusionProbe as Probe, ViaFallback, ViaIntoConclusion};
    pub use crate::model::error_text::ErrorText;
    pub use crate::model::site::Site;
    pub use crate::model::values::{Extras, TagProbe, ViaDisplay, ViaNumber};
    pub use crate::model::wire::TagValue;

    /// What a tracked `fn main` runs first: the cargo helper's job, when cargo started this
    /// program as one (see [`serve_cargo_helper`](crate::serve_cargo_helper)).
    #[inline]
    pub fn main_starts() {
        crate::serve_cargo_helper();
    }

    /// Whether analytics is known to be off: the disabled path of every sync tracked call
    /// is this load and one compare (not yet set up counts as not off).
    #[inline(always)]
    pub fn off() -> bool {
        crate::hot_path::gate::off()
    }

    /// Whether events are recorded, setting the runtime up on first use.
    #[inline(always)]
    pub fn enabled() -> bool {
        crate::api::global::enabled()
    }

    /// Starts an event of `site` if analytics is on (setting the runtime up on first use).
    #[inline]
    pub fn enter(site: &'static Site, extras: Option<Box<Extras>>) -> Option<SyncGuard> {
        enabled().then(|| SyncGuard::start(site, extras))
    }

    /// Flushes with the configured exit timeout (`flush` argument, `fn main`).
    pub fn flush_at_exit() {
        crate::api::global::flush_at_exit();
    }

    /// The body of a sync function as a closure the compiler infers as `FnOnce` (bound to a
    /// plain `let`, returning a borrow of a capture would infer `FnMut` and not compile).
    #[inline(always)]
    pub fn once<R, F: FnOnce() -> R>(body: F) -> F {
        body
    }

    /// Runs a sync function's body under its event (unless analytics turns out to be off,
    /// which the first call finds out), concluded by `conclusion` of its return value. Out
    /// of line, so that the caller's disabled path is a plain call of the body.
    #[inline(never)]
    pub fn run<R>(
        site: &'static Site,
        extras: Option<Box<Extras>>,
        body: impl FnOnce() -> R,
        conclusion: impl FnOnce(&R) -> Conclusion,
    ) -> R {
        let guard = enter(site, extras);
        let ret = body();
        if let Some(guard) = guard {
            guard.finish(conclusion(&ret));
        }
        ret
    }

    /// [`run`] for `#[track_event(err)]`: also records `error` of the return value (the
    /// text of a returned `Err`, see [`error_text`]).
    #[inline(never)]
    pub fn run_err<R>(
        site: &'static Site,
        extras: Option<Box<Extras>>,
        body: impl FnOnce() -> R,
        conclusion: impl FnOnce(&R) -> Conclusion,
        error: impl FnOnce(&R) -> Option<Box<str>>,
    ) -> R {
        let guard = enter(site, extras);
        let ret = body();
        if let Some(guard) = guard {
            guard.finish_with_error(conclusion(&ret), error(&ret));
        }
        ret
    }

    /// The text `#[track_event(err)]` records for `ret`; the bound is the compile-time check
    /// that the function returns a `Result` of a displayable error.
    #[inline]
    pub fn error_text<R: ErrorText>(ret: &R) -> Option<Box<str>> {
        ret.error_text()
    }

    /// Metric value of a `metrics(k = expr)` expression.
    #[inline]
    pub fn metric_value<T: crate::MetricValue + ?Sized>(v: &T) -> f64 {
        v.to_metric()
    }
}
