//! Runtime of [`trunk-ci-analytics`](https://docs.rs/trunk-ci-analytics): the context tree,
//! the wire model and the background uploader. Depend on the `trunk-ci-analytics` facade
//! crate, which re-exports everything here together with the `#[track_event]` macro.
//!
//! Layout: the hot path (`event`, `context`, `clock`, `id`) does no I/O and no formatting;
//! everything slow (`encode`, `pipeline`, `local`) runs on one background thread fed through
//! one channel.

#![deny(missing_docs)]

#[macro_use]
#[doc(hidden)]
pub mod log;

mod clock;
mod conclusion;
mod config;
mod config_env;
mod context;
pub mod detect;
mod encode;
mod event;
mod future;
mod global;
mod id;
mod local;
mod manual;
mod pipeline;
mod site;
pub mod validate;
mod values;
pub mod wire;

pub use conclusion::{Conclusion, IntoConclusion};
pub use config::{Config, DEFAULT_API_ADDRESS, DEFAULT_FLUSH_TIMEOUT, Token, Tuning};
pub use context::{CommandExt, EventContext, current_context};
pub use event::{metric, set_conclusion, tag};
pub use future::{FutureExt, WithContext};
pub use global::{InitGuard, exit, flush, init};
pub use log::LogLevel;
pub use manual::{EventBuilder, ManualEvent};
pub use pipeline::FlushReport;
pub use values::MetricValue;

/// What the `#[track_event]` expansion calls. Not a public API: it changes without notice.
#[doc(hidden)]
pub mod __private {
    pub use crate::Conclusion;
    pub use crate::conclusion::{Probe, ViaFallback, ViaIntoConclusion};
    pub use crate::event::{AsyncEvent, SyncGuard};
    pub use crate::future::{Finisher, Instrumented, instrument};
    pub use crate::global::{enabled, off, set_recording};
    pub use crate::site::Site;
    pub use crate::values::{Extras, TagProbe, ViaDisplay, ViaNumber};
    pub use crate::wire::TagValue;

    /// Flushes with the configured exit timeout (`flush` argument, `fn main`).
    pub fn flush_at_exit() {
        crate::global::flush_at_exit();
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
        let guard = SyncGuard::enter(site, extras);
        let ret = body();
        if let Some(guard) = guard {
            guard.finish(conclusion(&ret));
        }
        ret
    }

    /// Metric value of a `metrics(k = expr)` expression.
    #[inline]
    pub fn metric_value<T: crate::MetricValue + ?Sized>(v: &T) -> f64 {
        v.to_metric()
    }
}
