//! Every wait on a child process is bounded: a hung child fails its test with what it
//! printed, instead of hanging the suite. The bounds are liveness bounds, far above what the
//! child should take, never timing assertions.

use std::io::Read;
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Waits for `child` to end, at most `limit`; past it the child is killed and the test fails.
pub fn wait_within(child: &mut Child, limit: Duration) -> ExitStatus {
    match wait_or_kill(child, limit) {
        Some(status) => status,
        None => panic!("child {} still ran after {limit:?}: killed", child.id()),
    }
}

/// Runs `cmd` to its end with stdout and stderr captured (stdin empty), at most `limit`; past
/// it the child is killed and the test fails with what it printed so far.
pub fn output_within(cmd: &mut Command, limit: Duration) -> Output {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", shown(cmd)));
    // Drained on threads of their own, so a chatty child never blocks on a full pipe.
    let stdout = drain(child.stdout.take());
    let stderr = drain(child.stderr.take());
    let status = wait_or_kill(&mut child, limit);
    let out = Output {
        status: status.unwrap_or_else(|| child.wait().unwrap_or_else(|e| panic!("{e}"))),
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
    };
    assert!(
        status.is_some(),
        "{} still ran after {limit:?}: killed; stdout:\n{}\nstderr:\n{}",
        shown(cmd),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// The program and its arguments, not the environment: a test's secrets stay out of its
/// failure messages.
fn shown(cmd: &Command) -> String {
    std::iter::once(cmd.get_program())
        .chain(cmd.get_args())
        .map(|a| a.to_string_lossy())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The child's status once it ended, or `None` once it was killed at `limit`.
fn wait_or_kill(child: &mut Child, limit: Duration) -> Option<ExitStatus> {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap_or_else(|e| panic!("wait: {e}")) {
            return Some(status);
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn drain(pipe: Option<impl Read + Send + 'static>) -> JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut buf = Vec::new();
        if let Some(mut pipe) = pipe {
            let _ = pipe.read_to_end(&mut buf);
        }
        buf
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_child_past_its_limit_is_killed_and_fails_the_test() {
        let caught = std::panic::catch_unwind(|| {
            output_within(Command::new("sleep").arg("600"), Duration::from_millis(200))
        });
        assert!(caught.is_err());

        let out = output_within(Command::new("echo").arg("hi"), Duration::from_secs(60));
        assert_eq!(out.stdout, b"hi\n");
    }
}
