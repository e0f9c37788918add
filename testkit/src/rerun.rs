//! A test binary started again as a child process, for one scenario: the runtime is
//! process-global, so what it does at exit, on a signal or beside another process can only be
//! seen from outside.

use std::process::Command;

use crate::env::clean_command;

/// This test binary again, from a cleared environment, running only the `#[ignore]`d test
/// `entry` with its output shown. The test adds the variables that choose the scenario.
pub fn rerun(entry: &str) -> Command {
    let exe = std::env::current_exe().unwrap_or_else(|e| panic!("no test binary path: {e}"));
    let mut cmd = clean_command(exe);
    cmd.args([
        entry,
        "--exact",
        "--ignored",
        "--nocapture",
        "--test-threads=1",
    ]);
    cmd
}

/// Fails unless `stdout` (of a [`rerun`] child, or any test binary run for one test) shows
/// that the harness selected exactly one test. A renamed or mistyped entry selects none and
/// exits 0: without this, every assertion on what such a child did not do would pass.
pub fn assert_selected(stdout: &str) {
    assert!(
        stdout.lines().any(|l| l.trim() == "running 1 test"),
        "the child ran no test (is the entry's name right?):\n{stdout}"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[ignore = "entry point of the child process the test below starts"]
    fn entry() {}

    #[test]
    fn a_child_that_ran_its_entry_passes_and_one_that_ran_none_fails() {
        let out = rerun("rerun::tests::entry")
            .output()
            .unwrap_or_else(|e| panic!("{e}"));
        assert_selected(&String::from_utf8_lossy(&out.stdout));

        let out = rerun("rerun::tests::no_such_entry")
            .output()
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(
            out.status.success(),
            "selecting nothing is a success to libtest"
        );
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let caught = std::panic::catch_unwind(|| assert_selected(&stdout));
        assert!(caught.is_err(), "{stdout}");
    }
}
