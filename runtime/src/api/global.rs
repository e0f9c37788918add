//! The top of the runtime: the only module that installs process-wide state. The first
//! event (or [`init`]) reads the configuration, starts the pipeline, and fills the slots the
//! lower layers read: the on/off gate (`gate`), the inherited context (`record::lineage`), the
//! producer end of the hand-off (`handoff`), the log level, the exit hook and the handlers
//! of the cancellation signals (`signals`), and what this process announces to its children
//! as the run's uploader (`record::run_uploader`).

use std::sync::OnceLock;
use std::time::Duration;

use crate::config::Config;
use crate::config::delivery::Delivery;
use crate::hot_path::event;
use crate::hot_path::gate::{self, State};
use crate::model::flush_report::FlushReport;
use crate::platform::{signals, sys};
use crate::record::{lineage, run_uploader};
use crate::{handoff, pipeline};

/// After a cancellation signal, how long beyond the flush timeout the process may take to
/// end: the background thread looks a few times a second, and its exit flush may take half a
/// second past the timeout to write what was not delivered to the spool.
const SIGNAL_MARGIN: Duration = Duration::from_secs(1);

/// Set once the runtime is set up: whether it is on.
static INSTALLED: OnceLock<bool> = OnceLock::new();

/// Whether events are recorded, setting the runtime up on first use.
#[inline(always)]
pub(crate) fn enabled() -> bool {
    match gate::state() {
        State::On => true,
        State::Off => false,
        State::Unset => install_from_env(),
    }
}

#[cold]
#[inline(never)]
fn install_from_env() -> bool {
    install(Config::from_env)
}

fn install(config: impl FnOnce() -> Config) -> bool {
    let on = *INSTALLED.get_or_init(|| {
        let config = config();
        crate::platform::log::set_level(config.log_level);
        crate::platform::clock::warm_up();
        lineage::set_inherited(config.parent.clone());
        if !config.enabled {
            return false;
        }
        let exit_timeout = config.flush_timeout;
        let delivery = Delivery::decide(&config);
        run_uploader::set_announced(delivery.announcement(&config).as_ref());
        handoff::install(pipeline::start(config, delivery), exit_timeout);
        sys::at_exit(at_exit);
        sys::at_fork_child(forked_child);
        signals::install(exit_timeout.saturating_add(SIGNAL_MARGIN));
        true
    });
    gate::set(on);
    on
}

/// Switches recording off and on again in a running process, so one benchmark run can
/// measure the disabled path beside the enabled one. No effect before setup or when the
/// configuration disabled analytics.
#[doc(hidden)]
pub fn set_recording(on: bool) {
    if INSTALLED.get() == Some(&true) {
        gate::set(on);
    }
}

/// Sets the runtime up explicitly, instead of from the environment at the first event.
/// The returned guard flushes (bounded by the flush timeout) when dropped: use it in a
/// program whose `main` is not tracked, such as an async CI runner.
///
/// Call it first thing in `main`; once events were recorded the configuration is fixed and
/// a later `init` only warns.
///
/// ```
/// use trunk_ci_analytics::{init, Config};
///
/// let _guard = init(Config::from_env().summary(false));
/// // ... tracked work ...
/// // dropping the guard at the end of `main` flushes
/// ```
pub fn init(config: Config) -> InitGuard {
    let mut fresh = false;
    install(|| {
        fresh = true;
        config
    });
    if !fresh {
        crate::warn_once!(
            "init() called after analytics was already set up (by an earlier event or init); \
             the first configuration stays"
        );
    }
    InitGuard { _private: () }
}

/// Returned by [`init`]: flushes pending events when dropped, waiting at most the flush
/// timeout (`TRUNK_FLUSH_TIMEOUT_MS`); what is not delivered by then goes to the spool.
///
/// ```
/// use trunk_ci_analytics::{init, Config, InitGuard};
///
/// fn main() {
///     let _guard: InitGuard = init(Config::from_env());
///     // ... the whole program runs while `_guard` lives ...
/// }
/// ```
#[derive(Debug)]
#[must_use = "dropping the guard flushes right away; keep it alive until the end of main"]
pub struct InitGuard {
    _private: (),
}

impl Drop for InitGuard {
    fn drop(&mut self) {
        handoff::flush_at_exit();
    }
}

/// Waits until every event finished so far is delivered, spooled or written, at most
/// `timeout` (plus the time to write the spool); what is not delivered by then is spooled.
/// Returns what happened to the events since the previous flush. Without a token nothing
/// is uploaded, and the counts stay zero. Events still running are not waited for.
///
/// A tracked `fn main`, the [`InitGuard`] and [`exit`] flush by themselves; call this in a
/// long-running program (a CI runner between pipelines) or before leaving `main` some
/// other way.
///
/// ```
/// use std::time::Duration;
/// use trunk_ci_analytics::{Conclusion, EventBuilder};
/// # let _guard = trunk_ci_analytics::init(Default::default());
///
/// EventBuilder::new("package").start().finish(Conclusion::Success);
/// let report = trunk_ci_analytics::flush(Duration::from_secs(2));
/// eprintln!("analytics: {report}"); // e.g. "1 delivered, 0 spooled, 0 dropped, 0 rejected"
/// assert_eq!(report.dropped, 0);
/// ```
pub fn flush(timeout: Duration) -> FlushReport {
    with_truncated(handoff::flush(timeout))
}

/// Sends what waits in the spool now, and this process's pending events: replays the spool
/// of the configured endpoint and repository until it is empty or `timeout` has passed
/// (plus the time to write back what could not be sent), then returns what happened.
/// Replayed events of earlier runs count in [`FlushReport::replayed`]; when the API refused
/// the token or the address, [`FlushReport::upload_stopped`] says so and the events stay in
/// the spool. Sets the runtime up from the environment if nothing did yet.
///
/// The exit flush does the same within `TRUNK_FLUSH_TIMEOUT_MS`; this is for a program
/// (such as `trunk-ci-analytics flush`, a final CI step) whose only job is to deliver what
/// earlier processes left behind. A replay is skipped while the shared circuit breaker is
/// open (another process found the endpoint unreachable moments ago).
///
/// ```
/// use std::time::Duration;
///
/// let report = trunk_ci_analytics::flush_spool(Duration::from_secs(10));
/// if let Some(why) = &report.upload_stopped {
///     eprintln!("cannot upload: {why}");
/// }
/// println!("{} events of earlier runs delivered", report.replayed);
/// ```
pub fn flush_spool(timeout: Duration) -> FlushReport {
    if !enabled() {
        return FlushReport::default();
    }
    handoff::flush_spool(timeout)
}

/// Flushes with the configured exit timeout (`flush` argument, `fn main`, `exit`).
pub(crate) fn flush_at_exit() -> FlushReport {
    with_truncated(handoff::flush_at_exit())
}

fn with_truncated(mut report: FlushReport) -> FlushReport {
    report.truncated += crate::model::tag_bytes::take_truncated();
    report.dropped += crate::hot_path::stack::take_unrecorded();
    report
}

/// Runs at a normal process exit: flushes what is still pending, within what remains of an
/// exit flush that just ran.
extern "C" fn at_exit() {
    sys::run_at_exit(handoff::flush_at_exit_hook);
}

/// Runs in the child of a `fork`: the background thread does not exist there, and a lock
/// another thread held at the fork stays held forever. Analytics is off in the child (until
/// it execs, which starts afresh): nothing recorded, nothing waited for, no lock taken.
extern "C" fn forked_child() {
    gate::set(false);
    handoff::disown();
    // No background thread to act on a signal either: the handler inherited from the parent
    // lets the signal end the child at once.
    signals::set_watched(false);
}

/// Ends the events still running on this thread (`SUCCESS` for code 0, else `FAILURE`,
/// unless set with [`set_conclusion`](crate::set_conclusion)), flushes (bounded by
/// `TRUNK_FLUSH_TIMEOUT_MS`), then exits the process with `code`.
///
/// Use it instead of [`std::process::exit`], which leaves the tracked functions it
/// interrupts (e.g. a tracked `main`) unfinished, so their events are never recorded, and
/// on Windows also loses the events still queued.
///
/// ```no_run
/// use trunk_ci_analytics::track_event;
///
/// #[track_event]
/// fn main() {
///     if let Err(e) = std::fs::read_to_string("Cargo.toml") {
///         eprintln!("{e}");
///         trunk_ci_analytics::exit(2); // `main` is recorded as FAILURE, then flushed
///     }
/// }
/// ```
pub fn exit(code: i32) -> ! {
    event::finish_open(crate::Conclusion::from_success(code == 0));
    handoff::flush_at_exit();
    std::process::exit(code)
}
