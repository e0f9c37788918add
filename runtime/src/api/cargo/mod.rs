//! Cargo, seen whole (DESIGN §13): the work of a cargo command as events under the step
//! that runs it. One event per compiled unit (kind `compile`), build-script run
//! (`build_script_run`) and test binary or doctest run (`test_binary`), with their real
//! times, and the build's critical path.
//!
//! Compiled with the `cargo` feature only: a build script never runs cargo, and as a
//! build-dependency these lines were compiled on its build's critical path for nothing
//! (BENCHMARKS.md, "Light in build scripts"). What the summaries make of recorded events
//! (`model::cargo`, the summary sink) is there either way: a process without the feature
//! still shows the cargo work another process recorded.
//!
//! How (the mechanism, chosen by measurement; BENCHMARKS.md has the figures): the command
//! runs with this program in three places cargo looks up, `RUSTC_WRAPPER`, the target runner
//! of each target triple and `RUSTDOC`, through symlinks in a private run directory whose
//! names tell the program its role ([`helper`]). There it runs what the user had in that
//! place (sccache, qemu, their rustdoc), and for each unit, test binary and doctest run it
//! appends when it started and how it ended to the run's log: no runtime, no upload. Cargo
//! compares neither variable in its fingerprints, so recording on or off rebuilds nothing.
//! Build-script runs are read from the files cargo keeps beside each run (`invoked.timestamp`
//! when it started, `root-output` once it succeeded). When the command ends, the process
//! that started it reads all that back ([`work`]) and records the events ([`record`]).

mod cargo_config;
mod command_line;
mod critical_path;
mod helper;
pub(crate) mod message;
mod record;
mod run_dir;
mod setup;
mod work;

use std::ffi::OsString;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::SystemTime;

use command_line::CargoArgs;
use run_dir::RunDir;

use crate::api::global;
use crate::hot_path::event::{metric, tag};
use crate::hot_path::stack;
use crate::model::cargo::{METRIC_CRITICAL_PATH_MS, TAG_CRITICAL_PATH};
use crate::record::lineage::EventContext;

/// Set once [`serve_cargo_helper`] ran in this process: proof that this program, run again
/// as a helper, reaches it before doing anything of its own.
static SERVED: AtomicBool = AtomicBool::new(false);

/// Does the job of a cargo helper and exits, if cargo started this program as one;
/// otherwise returns at once (it reads `argv[0]`, nothing else).
///
/// [`CommandExt::record_cargo`](crate::CommandExt::record_cargo) has cargo run the program
/// that records as its rustc wrapper, target runner and rustdoc, so that no other binary
/// needs to be installed: a `#[track_event] fn main` calls this first thing, and so does the
/// `trunk-ci-analytics` command. A program whose `main` is not tracked calls it itself,
/// before anything else (argument parsing included); until it has, `record_cargo` records
/// nothing.
///
/// With the `cargo` feature (on by default). Without it this function does nothing, and is
/// there so that the same `main` compiles either way: such a program cannot record cargo,
/// so cargo never starts it as a helper.
///
/// ```no_run
/// use std::process::Command;
/// use trunk_ci_analytics::{CommandExt, EventBuilder};
///
/// fn main() {
///     trunk_ci_analytics::serve_cargo_helper();
///     let _guard = trunk_ci_analytics::init(Default::default());
///     let mut step = EventBuilder::new("test").kind("step").start();
///     let status = step.in_scope(|| {
///         let mut cargo = Command::new("cargo");
///         cargo.arg("test");
///         let recording = cargo.record_cargo();
///         let status = cargo.status();
///         recording.finish();
///         status
///     });
///     step.finish(trunk_ci_analytics::Conclusion::from_success(
///         status.is_ok_and(|s| s.success()),
///     ));
/// }
/// ```
pub fn serve_cargo_helper() {
    SERVED.store(true, Ordering::Relaxed);
    let mut args = std::env::args_os();
    let Some(argv0) = args.next() else { return };
    if let Some((dir, role)) = run_dir::of_helper(&argv0) {
        helper::serve(&dir, role, args.collect());
    }
}

/// The recording of one cargo command's work, from
/// [`CommandExt::record_cargo`](crate::CommandExt::record_cargo). Once the command has
/// ended, [`finish`](Self::finish) it (or drop it) inside the event that ran the command:
/// that records its units, build-script runs and test binaries as children of the event,
/// and tells the event what the command compiled and its critical path.
///
/// With the `cargo` feature (on by default).
///
/// ```no_run
/// use std::process::Command;
/// use trunk_ci_analytics::{CommandExt, track_event};
///
/// #[track_event(kind = "step")]
/// fn build() -> std::io::Result<std::process::ExitStatus> {
///     let mut cargo = Command::new("cargo");
///     cargo.args(["build", "--workspace"]);
///     let recording = cargo.record_cargo();
///     let status = cargo.status();
///     recording.finish(); // the units become children of `build`
///     status
/// }
/// # fn main() { let _ = build(); }
/// ```
#[derive(Debug)]
#[must_use = "the units are recorded when the recording finishes; keep it until cargo ended"]
pub struct CargoRecording {
    active: Option<Active>,
}

#[derive(Debug)]
struct Active {
    dir: RunDir,
    parent: EventContext,
    since: SystemTime,
    args: CargoArgs,
}

impl CargoRecording {
    /// Prepares `cmd` (a cargo command) to be recorded under the current event.
    pub(crate) fn prepare(cmd: &mut Command) -> CargoRecording {
        CargoRecording {
            active: Active::prepare(cmd),
        }
    }

    /// Records what the command did, under the event that was current when it was
    /// prepared, and (when called inside that event) tells the event: metrics
    /// `compiled_units`, `fresh_units`, `build_script_runs`, `test_binaries` and
    /// `critical_path_ms`, tag `critical_path` (`syn → serde_derive → app`). Without
    /// analytics, or when the command could not be prepared, it does nothing.
    ///
    /// ```no_run
    /// use std::process::Command;
    /// use trunk_ci_analytics::{CommandExt, track_event};
    ///
    /// #[track_event(kind = "step")]
    /// fn lint() -> bool {
    ///     let mut cargo = Command::new("cargo");
    ///     cargo.args(["clippy", "--workspace"]);
    ///     let recording = cargo.record_cargo();
    ///     let ok = cargo.status().is_ok_and(|s| s.success());
    ///     recording.finish();
    ///     ok
    /// }
    /// # fn main() { lint(); }
    /// ```
    pub fn finish(mut self) {
        self.end();
    }

    fn end(&mut self) {
        let Some(active) = self.active.take() else {
            return;
        };
        let ended = SystemTime::now();
        let log = active.dir.read_log().unwrap_or_default();
        let bench = matches!(active.args.subcommand.as_deref(), Some("bench" | "b"));
        let work = work::read(&log, active.since, &active.args.profile(), bench);
        let facts = record::record(&work, &active.parent, ended);
        // The current event (the recording exists only with analytics on).
        let inside = stack::current().is_some_and(|c| c.event_id() == active.parent.event_id());
        if inside {
            metric("compiled_units", facts.compiled as u64);
            metric("fresh_units", facts.fresh as u64);
            metric("build_script_runs", facts.script_runs as u64);
            metric("test_binaries", facts.test_runs as u64);
            if let Some((text, ms)) = facts.critical_path {
                tag(TAG_CRITICAL_PATH, text);
                metric(METRIC_CRITICAL_PATH_MS, ms);
            }
        }
    }
}

impl Drop for CargoRecording {
    fn drop(&mut self) {
        self.end();
    }
}

impl Active {
    fn prepare(cmd: &mut Command) -> Option<Active> {
        if !cfg!(unix) || !global::enabled() {
            return None;
        }
        let parent = stack::current()?;
        if !SERVED.load(Ordering::Relaxed) {
            crate::warn_once!(
                "cargo's units are not recorded: this program must call \
                 serve_cargo_helper() first thing in main (a #[track_event] fn main does)"
            );
            return None;
        }
        let exe = match std::env::current_exe() {
            Ok(exe) => exe,
            Err(e) => {
                crate::warn_once!("cargo's units are not recorded: cannot find this program: {e}");
                return None;
            }
        };
        let cwd = match (std::env::current_dir(), cmd.get_current_dir()) {
            (Ok(here), Some(dir)) => here.join(dir),
            (Ok(here), None) => here,
            (Err(_), dir) => dir.map(ToOwned::to_owned).unwrap_or_default(),
        };
        let overrides: Vec<(OsString, Option<OsString>)> = cmd
            .get_envs()
            .map(|(k, v)| (k.to_owned(), v.map(ToOwned::to_owned)))
            .collect();
        let env = move |name: &str| match overrides.iter().find(|(k, _)| k == name) {
            Some((_, value)) => value.clone(),
            None => std::env::var_os(name),
        };
        let args = CargoArgs::parse(cmd.get_args());
        if args.builds_nothing() {
            return None;
        }
        let plan = setup::Plan::new(cmd, &args, &cwd, &env);
        let dir = match RunDir::create(&exe, &plan.config) {
            Ok(dir) => dir,
            Err(e) => {
                crate::warn_once!(
                    "cargo's units are not recorded: cannot make a private directory: {e}"
                );
                return None;
            }
        };
        plan.apply(cmd, &dir);
        Some(Active {
            dir,
            parent,
            since: SystemTime::now(),
            args,
        })
    }
}
