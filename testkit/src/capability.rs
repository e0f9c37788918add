//! Tests that need what a machine may lack (a user namespace, a toolchain component): on a
//! developer's machine they skip, loudly; under CI they fail, because CI is where the suite
//! promises to run them, and a skip there would be a pass that tested nothing.

use std::io::Write;

/// Whether the calling test may go on with `what`, which is `present` or not. Missing under
/// CI (`CI` set to anything but `false` or `0`), the test fails; elsewhere a line on the real
/// stderr (the harness does not capture it, so a passing run shows it too) says the test
/// was skipped and why, and the caller returns.
pub fn require(what: &str, present: bool) -> bool {
    let test = std::thread::current().name().unwrap_or("a test").to_owned();
    let under_ci = std::env::var_os("CI").is_some_and(|v| v != "false" && v != "0");
    match verdict(&test, what, present, under_ci) {
        Verdict::Go => true,
        Verdict::Fail(why) => panic!("{why}"),
        Verdict::Skip(why) => {
            let _ = writeln!(std::io::stderr(), "\n{why}\n");
            false
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
enum Verdict {
    Go,
    Skip(String),
    Fail(String),
}

fn verdict(test: &str, what: &str, present: bool, under_ci: bool) -> Verdict {
    match (present, under_ci) {
        (true, _) => Verdict::Go,
        (false, true) => Verdict::Fail(format!(
            "{test}: {what} is not available, and CI is where it must be"
        )),
        (false, false) => Verdict::Skip(format!(
            "SKIPPED {test}: {what} is not available here; it did not run (under CI this fails)"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_fails_under_ci_and_skips_elsewhere() {
        assert_eq!(verdict("t", "x", true, true), Verdict::Go);
        assert_eq!(verdict("t", "x", true, false), Verdict::Go);
        assert!(
            matches!(verdict("t", "x", false, true), Verdict::Fail(w) if w.contains("x is not available"))
        );
        assert!(
            matches!(verdict("t", "x", false, false), Verdict::Skip(w) if w.starts_with("SKIPPED t:"))
        );
    }
}
