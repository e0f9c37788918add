//! Process-wide state: whether analytics is on, and the pipeline events are handed to.
//!
//! The first event (or [`init`]) sets everything up; until then, and when disabled, the
//! macro's only cost is one relaxed atomic load.

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use crate::config::Config;
use crate::context::EventContext;
use crate::event::Record;
use crate::pipeline::{FlushReport, Pipeline};

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

/// Whether events are recorded. The disabled path of every tracked call is this load and a
/// branch.
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

#[inline]
pub(crate) fn submit(record: Record) {
    if let Some(p) = RUNTIME.get().and_then(|rt| rt.pipeline.as_ref()) {
        p.submit(record);
    }
}

/// Sets the runtime up explicitly, instead of from the environment at the first event.
/// The returned guard flushes (bounded by the flush timeout) when dropped.
///
/// Call it first thing in `main`; once events were recorded the configuration is fixed and
/// a later `init` only warns.
///
/// ```
/// use trunk_ci_analytics_runtime::{init, Config};
///
/// let _guard = init(Config::from_env().summary(false));
/// // ... tracked work ...
/// // dropping the guard flushes
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

/// Returned by [`init`]: flushes pending events when dropped.
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
/// `timeout`; what is not delivered by then is spooled. Returns what happened.
///
/// ```
/// use std::time::Duration;
/// let report = trunk_ci_analytics_runtime::flush(Duration::from_millis(200));
/// println!("{report}");
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
/// unless set with `set_conclusion`), flushes (bounded by `TRUNK_FLUSH_TIMEOUT_MS`), then
/// exits the process with `code`. Use it instead of [`std::process::exit`], which would lose
/// queued events and the events of the functions it leaves, e.g. a tracked `main`.
///
/// ```no_run
/// trunk_ci_analytics_runtime::exit(1);
/// ```
pub fn exit(code: i32) -> ! {
    crate::event::finish_open(crate::Conclusion::from_success(code == 0));
    flush_at_exit();
    std::process::exit(code)
}
