//! The public ways to carry the current event elsewhere: to another thread
//! ([`EventContext::attach`]), an async task ([`EventContext::instrument`],
//! [`FutureExt`]) or a child process ([`CommandExt`]). Each sets the runtime up on first
//! use, so a context handed over by a parent process is seen from the start.

use std::future::Future;

#[cfg(feature = "cargo")]
use crate::api::cargo::CargoRecording;
use crate::hot_path::future::WithContext;
use crate::hot_path::stack::{self, Entered};
use crate::model::id::trace_context::{self, ENV_TRACESTATE};
use crate::record::lineage::EventContext;

impl EventContext {
    /// Runs `f` with this context as the current parent: events `f` starts become children
    /// of this event. Use it in spawned threads. With analytics off it just runs `f`.
    ///
    /// ```
    /// use trunk_ci_analytics::{current_context, EventContext};
    /// # let _guard = trunk_ci_analytics::init(Default::default());
    ///
    /// let ctx = EventContext::from_ids("c", "e", "k");
    /// let seen = std::thread::spawn(move || {
    ///     ctx.attach(|| current_context().map(|c| c.event_id()))
    /// })
    /// .join()
    /// .unwrap();
    /// assert_eq!(seen.as_deref(), Some("e"));
    /// ```
    pub fn attach<R>(&self, f: impl FnOnce() -> R) -> R {
        if !crate::api::global::enabled() {
            return f();
        }
        let _entered = Entered::push(self.clone());
        f()
    }

    /// Wraps a future so that it runs under this context on every poll, wherever it is
    /// polled; for spawned tasks (`tokio::spawn(ctx.instrument(fut))`). To capture the
    /// current context, [`FutureExt::with_current_context`](crate::FutureExt::with_current_context)
    /// is shorter.
    ///
    /// ```
    /// use trunk_ci_analytics::{Conclusion, EventBuilder, track_event};
    /// # let _guard = trunk_ci_analytics::init(Default::default());
    ///
    /// #[track_event]
    /// async fn download(url: &'static str) -> Result<usize, String> {
    ///     Ok(url.len())
    /// }
    ///
    /// let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    /// let job = EventBuilder::new("fetch sources").start();
    /// let ctx = job.context();
    /// let size = rt.block_on(async move {
    ///     let task = download("https://example.com/src.tar.gz");
    ///     // `download` becomes a child of the job, wherever the runtime polls it.
    ///     match ctx {
    ///         Some(ctx) => tokio::spawn(ctx.instrument(task)).await,
    ///         None => tokio::spawn(task).await,
    ///     }
    /// });
    /// job.finish(Conclusion::from_success(matches!(size, Ok(Ok(_)))));
    /// ```
    pub fn instrument<F: Future>(&self, fut: F) -> WithContext<F> {
        // Sets the runtime up now, so that polls only need to read the gate.
        crate::api::global::enabled();
        WithContext::new(Some(self.clone()), fut)
    }
}

/// The innermost current event or attached context on this thread, if any; else the
/// context a parent process handed over (`TRUNK_CHAIN_ID`…). `None` with analytics off.
///
/// ```
/// use trunk_ci_analytics::{current_context, track_event};
/// # let _guard = trunk_ci_analytics::init(Default::default());
///
/// #[track_event]
/// fn build() -> Option<String> {
///     current_context().map(|ctx| ctx.sequence_key())
/// }
///
/// assert!(current_context().is_none()); // no event runs here
/// // Inside, the context is `build`'s own: its default sequence key is
/// // `{CARGO_PKG_NAME}::{module_path}::{fn}`.
/// let key = concat!(env!("CARGO_PKG_NAME"), "::", module_path!(), "::build");
/// assert_eq!(build().as_deref(), Some(key));
/// ```
pub fn current_context() -> Option<EventContext> {
    if !crate::api::global::enabled() {
        return None;
    }
    stack::current()
}

/// Hands the current event to child processes started with [`std::process::Command`]:
/// root events in the child (a build script's tracked `main`, another tracked tool) become
/// its children, in the same chain.
///
/// ```no_run
/// use std::process::Command;
/// use trunk_ci_analytics::{CommandExt, track_event};
///
/// #[track_event(kind = "step")]
/// fn build() -> std::io::Result<std::process::ExitStatus> {
///     // Each build script cargo runs becomes a child of this event.
///     Command::new("cargo").arg("build").with_event_context().status()
/// }
/// ```
///
/// The variables make cargo rebuild or rerun nothing: cargo reruns a build script for an
/// environment variable only when the script declares `cargo::rerun-if-env-changed`, and
/// nothing here declares one or reads them at compile time.
pub trait CommandExt {
    /// Sets `TRUNK_CHAIN_ID`, `TRUNK_PARENT_EVENT_ID`, `TRUNK_PARENT_SEQUENCE_KEY` and
    /// the W3C `TRACEPARENT` for the child from [`current_context`]
    /// ([`EventContext::env_vars`]); without a current event it leaves the command as it is.
    ///
    /// An inherited `TRACESTATE` (vendor data of an OpenTelemetry trace) is passed on
    /// unchanged when the event is in that trace (this process joined a `TRACEPARENT`), and
    /// removed otherwise, since it would describe a trace other than the child's.
    ///
    /// ```
    /// use std::process::Command;
    /// use trunk_ci_analytics::{CommandExt, EventBuilder};
    /// # let _guard = trunk_ci_analytics::init(Default::default());
    ///
    /// let mut step = EventBuilder::new("version").start();
    /// let mut cmd = Command::new("rustc");
    /// step.in_scope(|| cmd.arg("--version").with_event_context());
    /// assert!(cmd.get_envs().any(|(k, _)| k == "TRUNK_PARENT_EVENT_ID"));
    /// assert!(cmd.get_envs().any(|(k, _)| k == "TRACEPARENT"));
    /// # step.finish(trunk_ci_analytics::Conclusion::Success);
    /// ```
    fn with_event_context(&mut self) -> &mut Self;

    /// For a `cargo` command: hands the current event on as
    /// [`with_event_context`](Self::with_event_context) does, and records what cargo does
    /// as its children: one event per compiled unit (kind `compile`), build-script run
    /// (`build_script_run`) and test binary or doctest run (`test_binary`, with the counts
    /// libtest printed), with their real times, and the build's critical path. Call
    /// [`CargoRecording::finish`](crate::CargoRecording::finish) once the command ended,
    /// inside the same event.
    ///
    /// Cargo runs this program as its rustc wrapper, target runner and rustdoc meanwhile,
    /// and each of those runs whatever the user had there (sccache, qemu…): `main` must
    /// reach [`serve_cargo_helper`](crate::serve_cargo_helper) first, as a
    /// `#[track_event] fn main` does. What cargo prints is unchanged, and switching
    /// recording on or off makes cargo rebuild nothing. With analytics off, outside any
    /// event, or on platforms other than Unix, it only hands the context on.
    ///
    /// With the `cargo` feature (on by default).
    ///
    /// ```no_run
    /// use std::process::{Command, ExitStatus};
    /// use trunk_ci_analytics::{CommandExt, track_event};
    ///
    /// #[track_event] // calls serve_cargo_helper() before anything else
    /// fn main() -> std::io::Result<()> {
    ///     test()?;
    ///     Ok(())
    /// }
    ///
    /// #[track_event(kind = "step")]
    /// fn test() -> std::io::Result<ExitStatus> {
    ///     let mut cargo = Command::new("cargo");
    ///     cargo.args(["test", "--workspace"]);
    ///     let recording = cargo.record_cargo();
    ///     let status = cargo.status();
    ///     recording.finish(); // units, build scripts and test binaries under `test`
    ///     status
    /// }
    /// ```
    #[cfg(feature = "cargo")]
    fn record_cargo(&mut self) -> CargoRecording;
}

impl CommandExt for std::process::Command {
    #[cfg(feature = "cargo")]
    fn record_cargo(&mut self) -> CargoRecording {
        self.with_event_context();
        CargoRecording::prepare(self)
    }

    fn with_event_context(&mut self) -> &mut Self {
        if let Some(ctx) = current_context() {
            let vars = ctx.env_vars();
            if !trace_context::is_trace_id(&vars[0].1) {
                self.env_remove(ENV_TRACESTATE);
            }
            for (k, v) in vars {
                self.env(k, v);
            }
        }
        self
    }
}

/// Runs futures under the current event from wherever they are polled: what a spawned task
/// needs, since `tokio::spawn` (or any executor) polls it outside the spawning event.
/// Implemented for every future.
///
/// ```
/// use trunk_ci_analytics::{FutureExt, track_event};
/// # let _guard = trunk_ci_analytics::init(Default::default());
///
/// #[track_event]
/// async fn shard(n: u32) -> bool { n < 10 }
///
/// #[track_event]
/// async fn test_all() -> bool {
///     // Captured here, in `test_all`: each shard is its child.
///     let tasks: Vec<_> = (0..4).map(|n| tokio::spawn(shard(n).with_current_context())).collect();
///     let mut ok = true;
///     for t in tasks {
///         ok &= t.await.unwrap_or(false);
///     }
///     ok
/// }
///
/// let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
/// assert!(rt.block_on(test_all()));
/// ```
pub trait FutureExt: Future + Sized {
    /// Captures [`current_context`](crate::current_context) now (when called, not when
    /// first polled) and enters it on every poll.
    ///
    /// ```
    /// use trunk_ci_analytics::FutureExt;
    ///
    /// async fn upload() {}
    /// # async fn demo() {
    /// // Inside a tracked function: `tokio::spawn(upload().with_current_context())`.
    /// upload().with_current_context().await;
    /// # }
    /// ```
    fn with_current_context(self) -> WithContext<Self> {
        WithContext::new(current_context(), self)
    }
}

impl<F: Future> FutureExt for F {}
