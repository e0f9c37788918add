//! The command as a child process: started in its own process group (unless a terminal's
//! job control is in charge), signalled as a group, and watched by a thread that learns of
//! its exit without reaping it, so its pid cannot be reused while we may still signal it,
//! and of each time it stops, so that a stopped command never leaves `exec` waiting
//! unseen.

use std::ffi::{OsStr, OsString};
use std::io;
use std::os::unix::process::CommandExt as _;
use std::process::{Child, Command, ExitStatus};
use std::sync::mpsc::{self, Sender};

pub(crate) struct Running {
    child: Child,
    pid: libc::pid_t,
    own_group: bool,
    /// Lets the watching thread go on after a stop was handled.
    stop_handled: Option<Sender<()>>,
}

/// `program` with `args`, the inherited environment and stdio as they are.
pub(crate) fn command(program: &OsStr, args: &[OsString]) -> Command {
    let mut command = Command::new(program);
    command.args(args);
    command
}

/// Starts `command`. With `own_group`, it leads a new process group, so that a timeout or a
/// cancel reaches what it started too (as coreutils `timeout` does); without it, the command
/// stays in ours and keeps the terminal.
pub(crate) fn spawn(mut command: Command, own_group: bool) -> io::Result<Running> {
    if own_group {
        command.process_group(0);
    }
    let child = command.spawn()?;
    let pid = libc::pid_t::try_from(child.id())
        .map_err(|_| io::Error::other("the command's pid does not fit a pid_t"))?;
    Ok(Running {
        child,
        pid,
        own_group,
        stop_handled: None,
    })
}

impl Running {
    /// Sends `signo` to the command (its whole group when it leads one). It has not been
    /// reaped, so the pid is still its own.
    pub(crate) fn signal(&self, signo: i32) {
        let target = if self.own_group { -self.pid } else { self.pid };
        // SAFETY: kill has no memory-safety preconditions.
        unsafe { libc::kill(target, signo) };
    }

    /// Kills what is left of the command's group (processes it started in the background)
    /// once it exited; only for a command that was stopped, never after a normal end,
    /// where a step may leave a service running on purpose.
    pub(crate) fn kill_leftovers(&self) {
        if self.own_group {
            // SAFETY: as in `signal`; the group id stays reserved until the leader is reaped.
            unsafe { libc::kill(-self.pid, libc::SIGKILL) };
        }
    }

    /// Sends `exited` on `tx` once the command exits, and `stopped()` each time it stops
    /// (then waits for [`Running::handled_stop`]), from a thread of its own.
    pub(crate) fn watch<M: Send + 'static>(
        &mut self,
        tx: Sender<M>,
        exited: M,
        stopped: fn() -> M,
    ) -> io::Result<()> {
        let pid = self.pid;
        let (handled, wait_handled) = mpsc::channel();
        self.stop_handled = Some(handled);
        std::thread::Builder::new()
            .name("exec-wait".into())
            .spawn(move || {
                while let Change::Stopped = wait_change_unreaped(pid) {
                    // The stop stays reported until handled: wait, or this would spin.
                    if tx.send(stopped()).is_err() || wait_handled.recv().is_err() {
                        return;
                    }
                }
                let _ = tx.send(exited);
            })
            .map(drop)
    }

    /// The command stopped. Under a terminal's job control (`follow`), `exec` stops too, so
    /// that the shell shows the job stopped (rather than `exec` waiting unseen), and once
    /// continued it continues the command; without one, the command stays as whoever
    /// stopped it wants. Then the watch goes on.
    pub(crate) fn handled_stop(&self, follow: bool) {
        if follow && self.is_stopped() {
            // SAFETY: kill has no memory-safety preconditions. SIGSTOP, which cannot be
            // ignored (SIGTSTP is discarded in an orphaned process group), stops this
            // process; the call returns once it is continued.
            unsafe { libc::kill(libc::getpid(), libc::SIGSTOP) };
            self.signal(libc::SIGCONT);
        }
        // Takes the stop's report, so the watch waits for the next change.
        waitid(self.pid, libc::WSTOPPED | libc::WNOHANG);
        if let Some(handled) = &self.stop_handled {
            let _ = handled.send(());
        }
    }

    /// Whether the command is stopped right now (a stop is only reported while it lasts).
    fn is_stopped(&self) -> bool {
        let info = waitid(self.pid, libc::WSTOPPED | libc::WNOHANG | libc::WNOWAIT);
        // SAFETY: `si_pid` of a siginfo that waitid filled (or left zeroed) is readable.
        info.is_some_and(|info| unsafe { info.si_pid() } == self.pid)
    }

    /// Reaps the command and returns how it ended.
    pub(crate) fn reap(mut self) -> io::Result<ExitStatus> {
        self.child.wait()
    }
}

/// A change of the command's state.
enum Change {
    Stopped,
    /// It exited (or cannot be waited for).
    Exited,
}

/// Waits until `pid` stops or exits, leaving it reportable (`WNOWAIT`): a zombie for
/// `Running::reap`, a stop for `Running::handled_stop`.
fn wait_change_unreaped(pid: libc::pid_t) -> Change {
    match waitid(pid, libc::WEXITED | libc::WSTOPPED | libc::WNOWAIT) {
        Some(info) if matches!(info.si_code, libc::CLD_STOPPED | libc::CLD_TRAPPED) => {
            Change::Stopped
        }
        _ => Change::Exited,
    }
}

/// `waitid` for `pid` with `options`, retried when interrupted; `None` on an error.
fn waitid(pid: libc::pid_t, options: libc::c_int) -> Option<libc::siginfo_t> {
    loop {
        // SAFETY: a zeroed siginfo_t is valid for waitid to fill in.
        let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
        // SAFETY: `info` is a valid, writable siginfo_t.
        let rc = unsafe { libc::waitid(libc::P_PID, pid as libc::id_t, &mut info, options) };
        if rc == 0 {
            return Some(info);
        }
        if io::Error::last_os_error().kind() != io::ErrorKind::Interrupted {
            return None;
        }
    }
}
