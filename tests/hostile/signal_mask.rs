//! Signals the program meant for itself, and a flush that cannot end (issue 26, findings 4
//! and 5): a program that blocks SIGTERM to `sigwait` for it gets it, and a cancelled
//! process ends within its flush timeout even when the background thread is stuck.

use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::Stdio;
use std::time::Duration;

use trunk_ci_analytics::{Conclusion, Config, EventBuilder};
use trunk_ci_analytics_testkit::Scratch;
use trunk_ci_analytics_testserver::ClosedPort;

use crate::signals::start;

/// Far above the 300 ms flush timeout the children are given and its one-second margin.
const LIVENESS: Duration = Duration::from_secs(60);

/// The child's exit status when analytics installed a handler for a signal it had blocked.
const HANDLED_A_BLOCKED_SIGNAL: i32 = 7;

/// Blocks (`SIG_BLOCK`) or unblocks SIGTERM on the calling thread.
fn mask_sigterm(how: i32) {
    // SAFETY: builds a signal set on the stack and changes only this thread's mask.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGTERM);
        libc::pthread_sigmask(how, &set, std::ptr::null_mut());
    }
}

fn sigterm_disposition_is_default() -> bool {
    // SAFETY: reads the current action into a zeroed struct.
    unsafe {
        let mut now: libc::sigaction = std::mem::zeroed();
        libc::sigaction(libc::SIGTERM, std::ptr::null(), &mut now);
        now.sa_sigaction == libc::SIG_DFL
    }
}

fn sigterm_pending() -> bool {
    // SAFETY: `sigpending` fills a zeroed set on the stack.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigpending(&mut set) == 0 && libc::sigismember(&set, libc::SIGTERM) == 1
    }
}

/// Waits (bounded) until a thread of this process waits in a kernel function whose name
/// holds `what` (`pipe_write`, `wait_for_partner`): then it is stuck for good.
fn until_a_thread_waits_in(what: &str) {
    for _ in 0..3_000 {
        let tasks = std::fs::read_dir("/proc/self/task").into_iter().flatten();
        let stuck = tasks.flatten().any(|t| {
            std::fs::read_to_string(t.path().join("wchan")).is_ok_and(|w| w.contains(what))
        });
        if stuck {
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    panic!("no thread waits in {what}");
}

/// A program that takes SIGTERM with `sigwait`: every one of its threads blocks it (the
/// parent started it so, and the test thread inherits it). With `R2_BLOCK=after-init` it
/// sets analytics up while SIGTERM is still unblocked on its thread, and blocks it after.
/// Exits 0 once its `sigwait` returned.
pub fn sigwait_child() {
    let after_init = std::env::var("R2_BLOCK").is_ok_and(|v| v == "after-init");
    if after_init {
        mask_sigterm(libc::SIG_UNBLOCK);
    }
    let _guard = trunk_ci_analytics::init(Config::from_env().summary(false));
    let _job = EventBuilder::new("job").start();
    if after_init {
        mask_sigterm(libc::SIG_BLOCK);
    }
    let handler_for_a_blocked_signal = !after_init && !sigterm_disposition_is_default();
    println!("READY");
    // Busy elsewhere until the signal is pending (as a program that blocked it to take it
    // later is): only a thread of analytics could take it meanwhile.
    for _ in 0..6_000 {
        if sigterm_pending() {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let mut sig = 0;
    // SAFETY: the set and `sig` live on the stack across the calls.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGTERM);
        libc::sigwait(&set, &mut sig);
    }
    println!("GRACEFUL {sig}");
    std::process::exit(if handler_for_a_blocked_signal {
        HANDLED_A_BLOCKED_SIGNAL
    } else {
        0
    });
}

#[test]
fn sigterm_the_program_blocked_to_sigwait_for_is_left_to_it() {
    let down = ClosedPort::new();
    for (block, what) in [
        ("before-init", "blocked before analytics was set up"),
        ("after-init", "blocked after analytics was set up"),
    ] {
        let mut child = start("r2_sigwait", &down.url(), |cmd| {
            cmd.env("R2_BLOCK", block);
            // SAFETY: the closure only changes the signal mask of the forked child's one
            // thread (async-signal-safe) before it execs; the mask survives the exec.
            unsafe {
                cmd.pre_exec(|| {
                    mask_sigterm(libc::SIG_BLOCK);
                    Ok(())
                });
            }
        });
        child.signal(libc::SIGTERM);
        let status = child.wait(LIVENESS);
        assert_ne!(
            status.code(),
            Some(HANDLED_A_BLOCKED_SIGNAL),
            "{what}: a handler was installed for it"
        );
        assert_eq!(
            (status.code(), status.signal()),
            (Some(0), None),
            "{what}: SIGTERM was taken from the program's sigwait"
        );
    }
}

/// A program whose stderr nobody reads: a thread of it writes until the pipe is full, and
/// then waits forever inside std's stderr lock. A job event is open.
pub fn stuck_stderr_child() {
    let _guard = trunk_ci_analytics::init(Config::from_env());
    let _job = EventBuilder::new("job").start();
    // A flush answered: the background thread runs and watches for signals.
    trunk_ci_analytics::flush(Duration::from_secs(30));
    std::thread::spawn(|| {
        let line = "x".repeat(1000);
        loop {
            eprintln!("{line}");
        }
    });
    until_a_thread_waits_in("pipe");
    println!("READY");
    loop {
        std::thread::sleep(Duration::from_secs(1));
    }
}

/// An event ends, so the background thread opens the events file (a FIFO nobody reads:
/// opening it to write never returns), while a job event stays open.
pub fn stuck_sink_child() {
    let _guard = trunk_ci_analytics::init(Config::from_env().summary(false));
    trunk_ci_analytics::flush(Duration::from_secs(30));
    let _job = EventBuilder::new("job").start();
    EventBuilder::new("step")
        .start()
        .finish(Conclusion::Success);
    until_a_thread_waits_in("partner");
    println!("READY");
    loop {
        std::thread::sleep(Duration::from_secs(1));
    }
}

#[test]
fn sigterm_ends_the_process_even_when_stderr_is_a_full_pipe_nobody_reads() {
    let down = ClosedPort::new();
    let mut child = start("r2_stuck_stderr", &down.url(), |cmd| {
        // Held open by the test, never read.
        cmd.env("TRUNK_FLUSH_TIMEOUT_MS", "300")
            .stderr(Stdio::piped());
    });
    child.signal(libc::SIGTERM);
    let status = child.wait(LIVENESS);
    assert_eq!(status.signal(), Some(libc::SIGTERM), "{status:?}");

    // The background thread stuck for good: its events file is a FIFO nobody opens for
    // reading. The deadline holds all the same.
    let dir = Scratch::new("stuck-sink");
    let fifo = dir.join("events.fifo");
    let c_path = std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: `c_path` is a NUL-terminated path that lives across the call.
    assert_eq!(unsafe { libc::mkfifo(c_path.as_ptr(), 0o600) }, 0);
    let mut child = start("r2_stuck_sink", &down.url(), |cmd| {
        cmd.env("TRUNK_FLUSH_TIMEOUT_MS", "300")
            .env("TRUNK_EVENTS_FILE", &fifo);
    });
    child.signal(libc::SIGTERM);
    let status = child.wait(LIVENESS);
    assert_eq!(status.signal(), Some(libc::SIGTERM), "{status:?}");
}
