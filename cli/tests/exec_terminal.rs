//! `exec` at a terminal (issue 26, finding 9), on a real pseudo-terminal as the controlling
//! terminal of a new session: a command that reads `/dev/tty` while stdin is redirected gets
//! the terminal (it was stopped by SIGTTIN in a group of its own, and `exec` waited for
//! ever), and a command that stops shows as a stopped job, not as an `exec` waiting unseen.

#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test fails by panicking

mod runs;

use std::fs::File;
use std::io::Write;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use runs::{LIMIT, cli};
use trunk_ci_analytics_testkit::Scratch;

/// A pseudo-terminal: the test holds the master, the command's session the slave.
struct Pty {
    master: File,
    slave: OwnedFd,
}

fn open_pty() -> Pty {
    let (mut master, mut slave) = (0, 0);
    // SAFETY: openpty writes the two descriptors it opens into `master` and `slave`; the
    // name, termios and window size are optional (null).
    let rc = unsafe {
        libc::openpty(
            &mut master,
            &mut slave,
            std::ptr::null_mut(),
            std::ptr::null(),
            std::ptr::null(),
        )
    };
    assert_eq!(rc, 0, "openpty: {}", std::io::Error::last_os_error());
    // SAFETY: both descriptors were just opened by openpty and are owned by nothing else.
    unsafe {
        Pty {
            master: File::from_raw_fd(master),
            slave: OwnedFd::from_raw_fd(slave),
        }
    }
}

/// `exec -- sh -c script` as the leader of a new session whose controlling terminal is the
/// pty's slave (as a login shell's job would be), its output into `out`.
fn exec_at_terminal(dir: &Path, pty: &Pty, stdin: Stdio, script: &str, out: &Path) -> Command {
    let mut command = cli(dir);
    command
        .env("TMPDIR", dir)
        .args(["exec", "--", "sh", "-c", script])
        .stdin(stdin)
        .stdout(File::create(out).unwrap())
        .stderr(Stdio::null());
    let (slave, master) = (pty.slave.as_raw_fd(), pty.master.as_raw_fd());
    // SAFETY: the closure runs in the forked child before exec and makes only
    // async-signal-safe calls: a new session, the slave as its controlling terminal, and
    // the master closed (it is the test's end).
    unsafe {
        command.pre_exec(move || {
            if libc::setsid() < 0 || libc::ioctl(slave, libc::TIOCSCTTY, 0) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            libc::close(master);
            Ok(())
        });
    }
    command
}

/// What `waitpid` says of `pid` once it stopped or ended (`WUNTRACED`: a stop counts, which
/// `Child::wait` cannot see); waits at most [`LIMIT`] (a liveness bound, not a timing
/// assertion).
fn wait_change(pid: i32, what: &str) -> i32 {
    let until = Instant::now() + LIMIT;
    loop {
        let mut status = 0;
        // SAFETY: `status` is a valid int for waitpid to fill; `pid` is our child.
        let rc = unsafe { libc::waitpid(pid, &mut status, libc::WUNTRACED | libc::WNOHANG) };
        if rc == pid {
            return status;
        }
        if Instant::now() > until {
            // SAFETY: kills our own child's process group (it leads its session, and a
            // command sharing its group goes too), then reaps the child.
            unsafe {
                libc::kill(-pid, libc::SIGKILL);
                libc::waitpid(pid, &mut status, 0);
            }
            panic!("{what}: nothing happened within {LIMIT:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_command_at_a_terminal_gets_it_and_its_stops_are_seen() {
    let dir = Scratch::new("exec-terminal");
    let dir = dir.path();

    // Stdin redirected, the terminal read through /dev/tty (as ssh and sudo ask for a
    // password): the command is in the terminal's foreground group and reads the line.
    let mut pty = open_pty();
    let out = dir.join("read.txt");
    // Reaped by `wait_change` (waitpid), not through `Child`.
    let pid = exec_at_terminal(
        dir,
        &pty,
        Stdio::null(),
        "read line < /dev/tty && echo \"got:$line\"",
        &out,
    )
    .spawn()
    .unwrap()
    .id() as i32;
    pty.master.write_all(b"hello\n").unwrap();
    let status = wait_change(pid, "a command reading /dev/tty");
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "status {status:#x}: stopped or failed"
    );
    assert_eq!(std::fs::read_to_string(&out).unwrap().trim(), "got:hello");
    drop(pty);

    // The command stops itself: exec stops too (the job shows as stopped to its shell),
    // and once continued it continues the command.
    let pty = open_pty();
    let out = dir.join("stopped.txt");
    let stdin = Stdio::from(pty.slave.try_clone().unwrap());
    let pid = exec_at_terminal(dir, &pty, stdin, "kill -STOP $$; echo resumed", &out)
        .spawn()
        .unwrap()
        .id() as i32;
    let status = wait_change(pid, "exec with a stopped command");
    assert!(
        libc::WIFSTOPPED(status),
        "status {status:#x}: exec ended instead of stopping"
    );
    // SAFETY: continues our own (stopped, unreaped) child, as `fg` would.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGCONT) }, 0);
    let status = wait_change(pid, "exec continued");
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "status {status:#x}"
    );
    assert_eq!(std::fs::read_to_string(&out).unwrap().trim(), "resumed");
}
