//! Process-wide state: whether analytics is on, and the pipeline events are handed to.
//!
//! The first event (or [`init`]) sets everything up; once it is known to be disabled, the
//! macro's only cost is one relaxed atomic load and a compare.

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use crate::Conclusion;
use crate::config::Config;
use crate::context::EventContext;
use crate::event::Frame;
use crate::pipeline::{FlushReport, Outbox, Pipeline};

const UNINIT: u8 = 0;
const ON: u8 = 1;
const OFF: u8 = 2;

static STATE: AtomicU8 = AtomicU8::new(UNINIT);
static RUNTIME: OnceLock<Runtime> = OnceLock::new();

struct Runtime {
    pipeline: Option<Pipeline>,
    parent: Option<EventContext>,
    flush_timeout: Duration,
}

/// Whether analytics is known to be off: the disabled path of every sync tracked call is this
/// load and one compare, with no call on that path (so the function needs no stack frame
/// for it). Not yet set up counts as not off: the event start sets up, then checks again.
#[doc(hidden)]
#[inline(always)]
pub fn off() -> bool {
    STATE.load(Ordering::Relaxed) == OFF
}

/// Whether events are recorded, setting the runtime up on first use.
#[doc(hidden)]
#[inline(always)]
pub fn enabled() -> bool {
    match STATE.load(Ordering::Relaxed) {
        ON => true,
        OFF => false,
        _ => init_from_env(),
    }
}

#[cold]
#[inline(never)]
fn init_from_env() -> bool {
    install(Config::from_env)
}

fn install(config: impl FnOnce() -> Config) -> bool {
    let rt = RUNTIME.get_or_init(|| {
        let config = config();
        crate::log::set_level(config.log_level);
        crate::clock::warm_up();
        let parent = config.parent.clone();
        let flush_timeout = config.flush_timeout;
        let pipeline = config.enabled.then(|| Pipeline::start(config));
        if pipeline.is_some() {
            crate::pipeline::exit_hook::register(at_exit);
        }
        Runtime {
            pipeline,
            parent,
            flush_timeout,
        }
    });
    let on = rt.pipeline.is_some();
    STATE.store(if on { ON } else { OFF }, Ordering::Release);
    on
}

/// Switches recording off and on again in a running process, so one benchmark run can
/// measure the disabled path beside the enabled one. No effect before setup or when the
/// configuration disabled analytics.
#[doc(hidden)]
pub fn set_recording(on: bool) {
    if RUNTIME.get().is_some_and(|rt| rt.pipeline.is_some()) {
        STATE.store(if on { ON } else { OFF }, Ordering::Release);
    }
}

/// The context handed over by a parent process, parent of this process's root events.
pub(crate) fn process_parent() -> Option<&'static EventContext> {
    RUNTIME.get().and_then(|rt| rt.parent.as_ref())
}

/// Hands a finished event over through this thread's `outbox` (if it can be had), moving
/// the frame at `frame` out.
///
/// # Safety
/// `frame` is valid for reads, and the caller treats it as moved out when this returns.
#[inline]
pub(crate) unsafe fn submit_frame(
    outbox: Option<&mut Outbox>,
    frame: *const Frame,
    end: u64,
    conclusion: Conclusion,
) {
    match RUNTIME.get().and_then(|rt| rt.pipeline.as_ref()) {
        // SAFETY: our own contract.
        Some(p) => unsafe { p.producer.submit_frame(outbox, frame, end, conclusion) },
        // SAFETY: our own contract.
        None => drop(unsafe { frame.read() }),
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
        flush_at_exit();
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
    match RUNTIME.get().and_then(|rt| rt.pipeline.as_ref()) {
        Some(p) => p.flush(timeout),
        None => FlushReport::default(),
    }
}

/// When the last exit flush started: the exit hook's flush shares its budget, so a process
/// never waits more than one `TRUNK_FLUSH_TIMEOUT_MS` at exit in all.
static EXIT_FLUSH_STARTED: Mutex<Option<Instant>> = Mutex::new(None);

/// Flushes with the configured exit timeout (`TRUNK_FLUSH_TIMEOUT_MS`), replaying the spool
/// too if time remains: the process is about to end.
pub(crate) fn flush_at_exit() -> FlushReport {
    let Some(rt) = RUNTIME.get() else {
        return FlushReport::default();
    };
    let Some(pipeline) = rt.pipeline.as_ref() else {
        return FlushReport::default();
    };
    *EXIT_FLUSH_STARTED
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(Instant::now());
    pipeline.flush_exit(rt.flush_timeout)
}

/// Runs at a normal process exit (see `pipeline::exit_hook`): flushes what is still pending,
/// within what remains of an exit flush that just ran, else the whole exit timeout.
extern "C" fn at_exit() {
    crate::pipeline::exit_hook::run(|| {
        let Some(rt) = RUNTIME.get() else { return };
        let Some(pipeline) = rt.pipeline.as_ref().filter(|p| p.pending()) else {
            return;
        };
        let started = *EXIT_FLUSH_STARTED
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let timeout = match started.map(|t| t.elapsed()) {
            Some(spent) if spent < rt.flush_timeout => rt.flush_timeout - spent,
            _ => rt.flush_timeout,
        };
        pipeline.flush_exit(timeout);
    });
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
    crate::event::finish_open(crate::Conclusion::from_success(code == 0));
    flush_at_exit();
    std::process::exit(code)
}
