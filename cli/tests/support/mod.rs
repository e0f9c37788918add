//! Helpers of the browser tests: a real headless Chromium, a generated large run, and
//! reading what the page rendered out of the DOM Chromium dumps.

pub mod big_run;
pub mod chromium;
pub mod dom;

use std::path::{Path, PathBuf};
use std::process::Command;

/// A fresh directory for one test under Cargo's scratch space for integration tests.
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
    let output = Command::new(env!("CARGO_BIN_EXE_trunk-ci-analytics"))
        .arg("report")
        .arg(events)
        .arg("--html")
        .arg(html)
        .output()
        .unwrap();
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
