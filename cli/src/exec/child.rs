//! The command as a child process: started in its own process group (unless a person at a
//! terminal may need job control), signalled as a group, and watched by a thread that
//! learns of its exit without reaping it, so its pid cannot be reused while we may still
//! signal it.

use std::ffi::{OsStr, OsString};
use std::io;
use std::os::unix::process::CommandExt as _;
use std::process::{Child, Command, ExitStatus};
use std::sync::mpsc::Sender;

pub(crate) struct Running {
    child: Child,
    pid: libc::pid_t,
    own_group: bool,
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

    /// Sends `exited` on `tx` once the command exits, from a thread of its own.
    pub(crate) fn watch<M: Send + 'static>(&self, tx: Sender<M>, exited: M) -> io::Result<()> {
        let pid = self.pid;
        std::thread::Builder::new()
            .name("exec-wait".into())
            .spawn(move || {
                wait_exit_unreaped(pid);
                let _ = tx.send(exited);
            })
            .map(drop)
    }

    /// Reaps the command and returns how it ended.
    pub(crate) fn reap(mut self) -> io::Result<ExitStatus> {
        self.child.wait()
    }
}

/// Waits until `pid` exits, leaving it a zombie (`WNOWAIT`) for `Running::reap`.
fn wait_exit_unreaped(pid: libc::pid_t) {
    loop {
        // SAFETY: a zeroed siginfo_t is valid for waitid to fill in.
        let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
        // SAFETY: `info` is a valid, writable siginfo_t.
        let rc = unsafe {
            libc::waitid(
                libc::P_PID,
                pid as libc::id_t,
                &mut info,
                libc::WEXITED | libc::WNOWAIT,
            )
        };
        if rc == 0 || io::Error::last_os_error().kind() != io::ErrorKind::Interrupted {
            return;
        }
    }
}
