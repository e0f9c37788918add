//! The build-script fixture, as each test that runs cargo on it gets it: a copy of its own,
//! so no test writes into the source tree (cargo writes a `Cargo.lock` where it builds), and
//! the one shared target dir, taken in turns.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, MutexGuard, PoisonError};

use trunk_ci_analytics_testkit::{Scratch, clean_command, keep_toolchain};

use crate::harness::{self, QUICK_LIMIT, modified, repo_root};

const FIXTURE_CRATES: [&str; 2] = ["fixture-alpha", "fixture-beta"];

/// The fixture's members reach the library by this path from their own directory.
const LIBRARY_PATH: &str = r#"path = "../../../..""#;

/// The fixture workspace in the source tree: read, never written.
fn source() -> PathBuf {
    repo_root().join("tests/fixtures/buildscripts")
}

static TURN: Mutex<()> = Mutex::new(());

/// Exclusive use of the fixture's target dir, and a copy of the fixture for this test: tests
/// that run cargo on it take turns (a test that cleans the fixture crates must not race one
/// that builds them), and so do timing-sensitive ones, which a parallel cargo build would
/// starve.
#[derive(Debug)]
pub struct Fixture {
    copy: Scratch,
    _turn: MutexGuard<'static, ()>,
}

/// Waits for the fixture's turn, then copies it.
pub fn fixture() -> Fixture {
    // A test that failed while holding the fixture leaves nothing half-done that matters.
    let turn = TURN.lock().unwrap_or_else(PoisonError::into_inner);
    let copy = Scratch::new("fixture");
    copy_tree(&source(), copy.path());
    for krate in ["alpha", "beta"] {
        let manifest = copy.join(krate).join("Cargo.toml");
        let text = std::fs::read_to_string(&manifest).unwrap();
        assert!(text.contains(LIBRARY_PATH), "{}", manifest.display());
        let library = format!("path = {:?}", repo_root().display().to_string());
        std::fs::write(&manifest, text.replace(LIBRARY_PATH, &library)).unwrap();
    }
    std::fs::copy(lock_file(), copy.join("Cargo.lock")).unwrap();
    Fixture { copy, _turn: turn }
}

/// The lock file the copy builds with: the fixture's own when it is newer than the
/// workspace's — in CI, the one `cargo run --example xtask` resolved to the newest versions
/// just before the tests, so both build one dependency tree — else the workspace's, whose
/// versions cargo keeps for what the fixture uses, with no registry look-up.
fn lock_file() -> PathBuf {
    let ours = repo_root().join("Cargo.lock");
    let theirs = source().join("Cargo.lock");
    match (modified(&ours), modified(&theirs)) {
        (Some(o), Some(t)) if t >= o => theirs,
        _ => ours,
    }
}

/// Copies `from` into the existing directory `to`, but a `target` dir and a lock file.
fn copy_tree(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name();
        if name == "target" || name == "Cargo.lock" {
            continue;
        }
        let dest = to.join(&name);
        if entry.file_type().unwrap().is_dir() {
            std::fs::create_dir(&dest).unwrap();
            copy_tree(&entry.path(), &dest);
        } else {
            std::fs::copy(entry.path(), &dest).unwrap();
        }
    }
}

impl Fixture {
    /// The copy's directory.
    pub fn dir(&self) -> &Path {
        self.copy.path()
    }

    /// `cargo <args>` in the copy, on the shared target dir, from a cleared environment but
    /// the build's own variables.
    pub fn cargo(&self, args: &[&str]) -> Command {
        let mut cmd = clean_command(harness::cargo());
        keep_toolchain(&mut cmd)
            .args(args)
            .current_dir(self.dir())
            .env("CARGO_TARGET_DIR", harness::fixture_target());
        cmd
    }

    /// The example `name`, running cargo on this copy.
    pub fn example(&self, name: &str) -> Command {
        let mut cmd = harness::example(name);
        cmd.env("XTASK_FIXTURE", self.dir());
        cmd
    }

    /// Makes the next build run both build scripts again. Cheap: it removes the fixture
    /// crates' own artifacts only, never the dependency tree under them.
    pub fn rerun_build_scripts(&self) {
        let mut cmd = self.cargo(&["clean", "--quiet"]);
        for krate in FIXTURE_CRATES {
            cmd.args(["-p", krate]);
        }
        let out = harness::run(&mut cmd, QUICK_LIMIT);
        assert!(
            out.status.success(),
            "cargo clean failed:\n{}",
            harness::stderr(&out)
        );
    }
}
