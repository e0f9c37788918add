//! Signals the program meant for itself, and a flush that cannot end (issue 26, findings 4
//! and 5): a program that blocks SIGTERM to `sigwait` for it gets it, and a cancelled
//! process ends within its flush timeout even when the background thread is stuck.

use std::io::{BufRead, BufReader, Read};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Child, Stdio};

use trunk_ci_analytics::{Config, EventBuilder};

use crate::second_round::{clean_child, fresh_dir, wait};

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

/// A program that takes SIGTERM with `sigwait`: every one of its threads blocks it (the
/// parent started it so, and the test thread inherits it). With `R2_BLOCK=after-init` it
/// sets analytics up while SIGTERM is still unblocked on its thread, and blocks it after.
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
    println!(
        "HANDLER {}",
        if sigterm_disposition_is_default() {
            "default"
        } else {
            "set"
        }
    );
    println!("READY");
    // Busy elsewhere until the signal is pending (as a program that blocked it to take it
    // later is): only a thread of analytics could take it meanwhile.
    for _ in 0..6_000 {
        if sigterm_pending() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let mut set: libc::sigset_t =
        // SAFETY: a zeroed sigset_t is a valid value to initialise with sigemptyset.
        unsafe { std::mem::zeroed() };
    let mut sig = 0;
    // SAFETY: `set` and `sig` live on the stack across the calls.
    unsafe {
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGTERM);
        libc::sigwait(&set, &mut sig);
    }
    println!("GRACEFUL {sig}");
    std::process::exit(0);
}

/// Starts `scenario` with SIGTERM blocked from its first instruction (the mask survives
/// `exec`); returns the child once it said `READY`, with what it printed until then.
fn start_blocked(scenario: &str, vars: &[(&str, &str)]) -> (Child, String) {
    let tmp = fresh_dir(&format!("mask-{scenario}-{}", vars.len()));
    let mut cmd = clean_child(scenario);
    cmd.env("TMPDIR", &tmp)
        .envs(vars.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // SAFETY: the closure only changes the signal mask of the forked child's one thread
    // (async-signal-safe) before it execs.
    unsafe {
        cmd.pre_exec(|| {
            mask_sigterm(libc::SIG_BLOCK);
            Ok(())
        });
    }
    let mut child = cmd.spawn().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap());
    let mut said = String::new();
    loop {
        let mut line = String::new();
        if lines.read_line(&mut line).unwrap() == 0 {
            let status = wait(&mut child, scenario);
            let mut stderr = String::new();
            let _ = child.stderr.take().unwrap().read_to_string(&mut stderr);
            panic!("{scenario} ended ({status:?}) before READY: {said}\n{stderr}");
        }
        said.push_str(&line);
        if line.contains("READY") {
            break;
        }
    }
    std::thread::spawn(move || {
        let mut rest = String::new();
        let _ = lines.read_to_string(&mut rest);
        rest
    });
    (child, said)
}

fn sigterm(child: &Child) {
    // SAFETY: signals the child this test spawned and has not reaped yet.
    assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGTERM) }, 0);
}

#[test]
fn sigterm_the_program_blocked_to_sigwait_for_is_left_to_it() {
    // Blocked before analytics is set up: no handler of ours for it.
    let (mut child, said) = start_blocked("r2_sigwait", &[]);
    sigterm(&child);
    let status = wait(&mut child, "sigwait, blocked before setup");
    assert!(
        said.contains("HANDLER default"),
        "a handler was installed for a signal the program blocked: {said}"
    );
    assert_eq!(
        status.code(),
        Some(0),
        "{status:?}: the program's sigwait never ran"
    );

    // Blocked after: the background thread must not be the one thread left to take it.
    let (mut child, _) = start_blocked("r2_sigwait", &[("R2_BLOCK", "after-init")]);
    sigterm(&child);
    let status = wait(&mut child, "sigwait, blocked after setup");
    assert_eq!(
        (status.code(), status.signal()),
        (Some(0), None),
        "SIGTERM was taken from the program: {status:?}"
    );
}

/// A program whose stderr nobody reads: a thread of it writes until the pipe is full, and
/// then waits forever inside std's stderr lock. A job event is open.
pub fn stuck_stderr_child() {
    let _guard = trunk_ci_analytics::init(Config::from_env());
    let _job = EventBuilder::new("job").start();
    // A flush answered: the background thread runs and watches for signals.
    trunk_ci_analytics::flush(std::time::Duration::from_secs(30));
    std::thread::spawn(|| {
        let line = "x".repeat(1000);
        loop {
            eprintln!("{line}");
        }
    });
    println!("READY");
    loop {
        std::thread::sleep(std::time::Duration::from_secs(1));
    }
}

#[test]
fn sigterm_ends_the_process_even_when_stderr_is_a_full_pipe_nobody_reads() {
    let tmp = fresh_dir("stuck-stderr");
    let mut cmd = clean_child("r2_stuck_stderr");
    cmd.env("TMPDIR", &tmp)
        .env("TRUNK_FLUSH_TIMEOUT_MS", "300")
        .stdout(Stdio::piped())
        // Held open, never read.
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap());
    loop {
        let mut line = String::new();
        assert!(lines.read_line(&mut line).unwrap() > 0, "no READY");
        if line.contains("READY") {
            break;
        }
    }
    // The program's writer fills the pipe at once; wait until it is blocked in a write.
    for _ in 0..3_000 {
        if blocked_in(&child, "pipe") {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    sigterm(&child);
    let status = wait(&mut child, "a process with a stuck stderr");
    assert_eq!(status.signal(), Some(libc::SIGTERM), "{status:?}");
    drop(child.stderr.take());

    // The background thread stuck for good: its events file is a FIFO nobody opens for
    // reading, where opening it to write never returns. The deadline holds all the same.
    let fifo = tmp.join("events.fifo");
    let c_path = std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: `c_path` is a NUL-terminated path that lives across the call.
    assert_eq!(unsafe { libc::mkfifo(c_path.as_ptr(), 0o600) }, 0);
    let mut cmd = clean_child("r2_stuck_sink");
    cmd.env("TMPDIR", &tmp)
        .env("TRUNK_FLUSH_TIMEOUT_MS", "300")
        .env("TRUNK_EVENTS_FILE", &fifo)
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    let mut child = cmd.spawn().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap());
    loop {
        let mut line = String::new();
        assert!(lines.read_line(&mut line).unwrap() > 0, "no READY");
        if line.contains("READY") {
            break;
        }
    }
    for _ in 0..3_000 {
        if blocked_in(&child, "partner") {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    sigterm(&child);
    let status = wait(&mut child, "a process whose background thread is stuck");
    assert_eq!(status.signal(), Some(libc::SIGTERM), "{status:?}");
    let _ = std::fs::remove_dir_all(&tmp);
}

/// Whether a thread of `child` waits in a kernel function whose name holds `what`.
fn blocked_in(child: &Child, what: &str) -> bool {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{}/task", child.id())) else {
        return false;
    };
    tasks
        .flatten()
        .any(|t| std::fs::read_to_string(t.path().join("wchan")).is_ok_and(|w| w.contains(what)))
}

/// An event ends, so the background thread opens the events file (a FIFO: it blocks for
/// good), while a job event stays open.
pub fn stuck_sink_child() {
    let _guard = trunk_ci_analytics::init(Config::from_env().summary(false));
    trunk_ci_analytics::flush(std::time::Duration::from_secs(30));
    let _job = EventBuilder::new("job").start();
    EventBuilder::new("step")
        .start()
        .finish(trunk_ci_analytics::Conclusion::Success);
    println!("READY");
    loop {
        std::thread::sleep(std::time::Duration::from_secs(1));
    }
}
