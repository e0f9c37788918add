//! `exec`: runs a command as an event. The command gets the terminal's stdio untouched and
//! the event's context in its environment; `exec` ends with the command's exit status.
//!
//! How it ends, and the exit status of `exec`:
//! - the command exits with code `c`: `c` (SUCCESS for 0, else FAILURE);
//! - it is killed by signal `n` (not by us): `128 + n`, FAILURE;
//! - `--timeout` passes: SIGTERM, then SIGKILL after the grace period; 124, TIMED_OUT;
//! - `exec` gets SIGINT or SIGTERM: forwarded, SIGKILL after the grace period; `128 +` that
//!   signal, CANCELLED;
//! - the command cannot be started: 127 (not found) or 126, FAILURE.
//!
//! Then the event is flushed within the flush timeout; analytics never changes the status.
//!
//! When the command is `cargo`, its work is recorded under the event too (compiled units,
//! build-script runs, test binaries, the critical path: `CommandExt::record_cargo`), unless
//! `--no-cargo` says otherwise.

mod child;
mod signals;
mod terminal;

use std::ffi::{OsStr, OsString};
use std::path::Path;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::{Duration, Instant};

use clap::Args;
use trunk_ci_analytics_runtime::{CommandExt, Conclusion, EventBuilder, ManualEvent};

use crate::duration::parse_duration;
use signals::Received;

/// Exit status when `--timeout` stopped the command, as coreutils `timeout` has it.
const TIMED_OUT_STATUS: i32 = 124;
/// Exit status when the command was found but cannot be executed.
const CANNOT_EXECUTE: i32 = 126;
/// Exit status when the command was not found.
const NOT_FOUND: i32 = 127;

#[derive(Debug, Args)]
pub(crate) struct ExecArgs {
    /// The event's name [default: the command's file name].
    #[arg(long, value_name = "NAME")]
    name: Option<String>,
    /// The event's kind.
    #[arg(long, value_name = "KIND", default_value = "step")]
    kind: String,
    /// The event's sequence key, unique in the repository [default: the name].
    #[arg(long, value_name = "KEY")]
    key: Option<String>,
    /// A tag of the event (repeatable).
    #[arg(long = "tag", value_name = "KEY=VALUE", value_parser = parse_tag)]
    tags: Vec<(String, String)>,
    /// Stop the command after this long (90s, 10m, 1h, or seconds): TIMED_OUT, exit 124.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    timeout: Option<Duration>,
    /// How long a stopped command has between SIGTERM (or the forwarded signal) and SIGKILL.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, default_value = "5s")]
    grace: Duration,
    /// Do not record cargo's work (compiled crates, build scripts, test binaries) when the
    /// command is cargo.
    #[arg(long)]
    no_cargo: bool,
    /// The command and its arguments (after `--`).
    #[arg(
        required = true,
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "CMD",
        value_parser = clap::value_parser!(OsString)
    )]
    command: Vec<OsString>,
}

pub(crate) fn parse_tag(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((key, value)) if !key.trim().is_empty() => {
            Ok((key.trim().to_owned(), value.to_owned()))
        }
        _ => Err(format!("`{text}` is not KEY=VALUE")),
    }
}

/// What reaches the main loop.
enum Msg {
    Exited,
    /// The command stopped.
    Stopped,
    Signal(Received),
}

/// Why we stopped the command, and when it gets SIGKILL.
struct Stop {
    why: Why,
    kill_at: Option<Instant>,
}

#[derive(Clone, Copy)]
enum Why {
    Cancelled(i32),
    TimedOut,
}

/// Runs the command under a new event and exits with its status.
pub(crate) fn run(args: &ExecArgs) -> ! {
    let (program, rest) = match args.command.split_first() {
        Some(split) => split,
        None => trunk_ci_analytics_runtime::exit(2),
    };
    let (tx, rx) = mpsc::channel();
    if let Err(e) = signals::install(tx.clone(), Msg::Signal) {
        // The command still runs; only forwarding is lost.
        eprintln!("trunk-ci-analytics exec: cannot handle signals: {e}");
    }
    let mut event = start_event(args, program);
    // Under a terminal, the command stays in our process group, so the terminal's job
    // control treats them as one job: it reads the terminal, gets Ctrl-C and Ctrl-Z with us,
    // and is stopped and continued with us. Without one (CI), it leads its own group, so
    // stopping it stops its children too.
    let at_terminal = terminal::controlling();
    let own_group = !at_terminal;
    let mut command = child::command(program, rest);
    let recording = if is_cargo(program) && !args.no_cargo {
        Some(event.in_scope(|| command.record_cargo()))
    } else {
        if let Some(ctx) = event.context() {
            command.envs(ctx.env_vars());
        }
        None
    };
    let mut running = match child::spawn(command, own_group) {
        Ok(running) => running,
        Err(e) => {
            let status = match e.kind() {
                std::io::ErrorKind::NotFound => NOT_FOUND,
                _ => CANNOT_EXECUTE,
            };
            eprintln!(
                "trunk-ci-analytics exec: cannot run `{}`: {e}",
                program.to_string_lossy()
            );
            drop(recording);
            event.tag("exit_code", status);
            event.finish(Conclusion::Failure);
            trunk_ci_analytics_runtime::exit(status);
        }
    };
    if let Err(e) = running.watch(tx, Msg::Exited, || Msg::Stopped) {
        eprintln!("trunk-ci-analytics exec: cannot watch the command: {e}");
    }
    let deadline = args
        .timeout
        .filter(|t| !t.is_zero())
        .and_then(|t| Instant::now().checked_add(t));
    let stop = supervise(&running, &rx, deadline, args.grace, own_group);
    if stop.is_some() {
        running.kill_leftovers();
    }
    let (status, conclusion) = match running.reap() {
        Ok(exit) => outcome(exit),
        Err(e) => {
            eprintln!("trunk-ci-analytics exec: cannot learn how the command ended: {e}");
            (1, Conclusion::Failure)
        }
    };
    if let Some(recording) = recording {
        // Inside the event: the units become its children, their counts its metrics.
        event.in_scope(|| recording.finish());
    }
    event.tag("exit_code", status);
    let (status, conclusion) = match stop.map(|s| s.why) {
        Some(Why::Cancelled(signo)) => (128 + signo, Conclusion::Cancelled),
        Some(Why::TimedOut) => {
            eprintln!(
                "trunk-ci-analytics exec: `{}` timed out",
                program.to_string_lossy()
            );
            (TIMED_OUT_STATUS, Conclusion::TimedOut)
        }
        None => (status, conclusion),
    };
    event.finish(conclusion);
    trunk_ci_analytics_runtime::exit(status)
}

/// Whether `program` is cargo (`cargo`, `/path/to/cargo`, `cargo.exe`).
fn is_cargo(program: &OsStr) -> bool {
    Path::new(program)
        .file_stem()
        .is_some_and(|stem| stem == "cargo")
}

fn start_event(args: &ExecArgs, program: &OsString) -> ManualEvent {
    let name = args.name.clone().unwrap_or_else(|| {
        Path::new(program)
            .file_name()
            .unwrap_or(program)
            .to_string_lossy()
            .into_owned()
    });
    let mut builder = EventBuilder::new(name).kind(args.kind.clone());
    if let Some(key) = &args.key {
        builder = builder.key(key.clone());
    }
    for (key, value) in &args.tags {
        builder = builder.tag(key.clone(), value.clone());
    }
    builder.start()
}

/// Waits for the command to exit, forwarding signals and enforcing the deadline; returns
/// why we stopped it, if we did.
fn supervise(
    running: &child::Running,
    rx: &mpsc::Receiver<Msg>,
    deadline: Option<Instant>,
    grace: Duration,
    own_group: bool,
) -> Option<Stop> {
    let mut stop: Option<Stop> = None;
    loop {
        let due = match &stop {
            Some(s) => s.kill_at,
            None => deadline,
        };
        let msg = match due {
            Some(at) => rx.recv_timeout(at.saturating_duration_since(Instant::now())),
            None => rx.recv().map_err(|_| RecvTimeoutError::Disconnected),
        };
        match msg {
            Ok(Msg::Exited) | Err(RecvTimeoutError::Disconnected) => return stop,
            Ok(Msg::Stopped) => running.handled_stop(!own_group),
            Ok(Msg::Signal(received)) => {
                // Ctrl-C at a terminal already reached the command, which shares our group.
                if own_group || !received.from_terminal {
                    stop_with(running, received.signo);
                }
                if stop.is_none() {
                    stop = Some(Stop {
                        why: Why::Cancelled(received.signo),
                        kill_at: Instant::now().checked_add(grace),
                    });
                }
            }
            Err(RecvTimeoutError::Timeout) => match stop.as_mut() {
                None => {
                    stop_with(running, libc::SIGTERM);
                    stop = Some(Stop {
                        why: Why::TimedOut,
                        kill_at: Instant::now().checked_add(grace),
                    });
                }
                Some(s) => {
                    running.signal(libc::SIGKILL);
                    s.kill_at = None;
                }
            },
        }
    }
}

/// Asks the command to end with `signo`, and continues it in case it is stopped, so that it
/// acts on the signal now rather than at SIGKILL after the grace period.
fn stop_with(running: &child::Running, signo: i32) {
    running.signal(signo);
    running.signal(libc::SIGCONT);
}

/// The exit status and conclusion of a command that ended by itself.
fn outcome(exit: std::process::ExitStatus) -> (i32, Conclusion) {
    use std::os::unix::process::ExitStatusExt;
    match (exit.code(), exit.signal()) {
        (Some(0), _) => (0, Conclusion::Success),
        (Some(code), _) => (code, Conclusion::Failure),
        (None, Some(signo)) => (128 + signo, Conclusion::Failure),
        (None, None) => (1, Conclusion::Failure),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cargo_is_known_by_its_file_name() {
        for cargo in ["cargo", "/home/u/.cargo/bin/cargo", "cargo.exe"] {
            assert!(is_cargo(OsStr::new(cargo)), "{cargo}");
        }
        for other in ["cargo-nextest", "sh", "/usr/bin/cargoish", "cross"] {
            assert!(!is_cargo(OsStr::new(other)), "{other}");
        }
    }

    #[test]
    fn tags_need_a_key_and_an_equals_sign() {
        assert_eq!(parse_tag("shard=2"), Ok(("shard".into(), "2".into())));
        assert_eq!(parse_tag("url=a=b"), Ok(("url".into(), "a=b".into())));
        assert!(parse_tag("shard").is_err());
        assert!(parse_tag("=2").is_err());
    }
}
