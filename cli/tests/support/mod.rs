//! Helpers of the browser tests: a real headless Chromium, a generated large run, and
//! reading what the page rendered out of the DOM Chromium dumps.

pub mod big_run;
pub mod chromium;
pub mod dom;

use std::path::{Path, PathBuf};
use std::time::Duration;

use trunk_ci_analytics_testkit::{clean_command, output_within};

/// A fresh directory for one test under Cargo's scratch space for integration tests, kept
/// after the run (its pages and screenshots are for people to look at), emptied by the next.
pub fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("report-tests")
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs the real binary: `trunk-ci-analytics report EVENTS --html OUT`, which must succeed.
pub fn report(events: &Path, html: &Path) {
    let output = output_within(
        clean_command(env!("CARGO_BIN_EXE_trunk-ci-analytics"))
            .arg("report")
            .arg(events)
            .arg("--html")
            .arg(html),
        Duration::from_secs(60),
    );
    assert!(
        output.status.success(),
        "report failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// A `file://` URL for a local file, with an optional fragment.
pub fn file_url(path: &Path, fragment: &str) -> String {
    let absolute = std::fs::canonicalize(path).unwrap();
    format!("file://{}{fragment}", absolute.display())
}
