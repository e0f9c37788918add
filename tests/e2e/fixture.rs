//! The build-script fixtures, as each test that runs cargo on one gets it: a copy of its own,
//! so no test writes into the source tree (cargo writes a `Cargo.lock` where it builds), and
//! the one shared target dir, taken in turns. `buildscripts` depends on the library with its
//! default features (the xtask example builds it too); `light_buildscripts` without them, as
//! a build-dependency should.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, MutexGuard, PoisonError};

use trunk_ci_analytics_testkit::{Scratch, clean_command, keep_toolchain};

use crate::harness::{self, QUICK_LIMIT, modified, repo_root};

/// A fixture workspace in `tests/fixtures`.
#[derive(Debug)]
pub struct Source {
    /// Its directory there.
    dir: &'static str,
    /// Its members' directories, each with a tracked build script.
    members: &'static [&'static str],
    /// Their package names.
    pub crates: &'static [&'static str],
}

/// Two crates whose build scripts depend on the library with its default features.
pub const BUILD_SCRIPTS: Source = Source {
    dir: "buildscripts",
    members: &["alpha", "beta"],
    crates: &["fixture-alpha", "fixture-beta"],
};

/// Three crates whose build scripts depend on the library without its default features.
pub const LIGHT_BUILD_SCRIPTS: Source = Source {
    dir: "light_buildscripts",
    members: &["gamma", "delta", "epsilon"],
    crates: &["light-gamma", "light-delta", "light-epsilon"],
};

/// The fixture's members reach the library by this path from their own directory.
const LIBRARY_PATH: &str = r#"path = "../../../..""#;

impl Source {
    /// The fixture workspace in the source tree: read, never written.
    fn path(&self) -> PathBuf {
        repo_root().join("tests/fixtures").join(self.dir)
    }
}

static TURN: Mutex<()> = Mutex::new(());

/// Exclusive use of the fixture's target dir, and a copy of the fixture for this test: tests
/// that run cargo on it take turns (a test that cleans the fixture crates must not race one
/// that builds them), and so do timing-sensitive ones, which a parallel cargo build would
/// starve.
#[derive(Debug)]
pub struct Fixture {
    copy: Scratch,
    source: &'static Source,
    _turn: MutexGuard<'static, ()>,
}

/// Waits for the fixtures' turn, then copies `buildscripts`.
pub fn fixture() -> Fixture {
    copy_of(&BUILD_SCRIPTS)
}

/// Waits for the fixtures' turn, then copies `source`.
pub fn copy_of(source: &'static Source) -> Fixture {
    // A test that failed while holding the fixture leaves nothing half-done that matters.
    let turn = TURN.lock().unwrap_or_else(PoisonError::into_inner);
    let copy = Scratch::new("fixture");
    copy_tree(&source.path(), copy.path());
    for member in source.members {
        let manifest = copy.join(member).join("Cargo.toml");
        let text = std::fs::read_to_string(&manifest).unwrap();
        assert!(text.contains(LIBRARY_PATH), "{}", manifest.display());
        let library = format!("path = {:?}", repo_root().display().to_string());
        std::fs::write(&manifest, text.replace(LIBRARY_PATH, &library)).unwrap();
    }
    std::fs::copy(lock_file(source), copy.join("Cargo.lock")).unwrap();
    Fixture {
        copy,
        source,
        _turn: turn,
    }
}

/// The lock file the copy builds with: the fixture's own when it is newer than the
/// workspace's — in CI, the one `cargo run --example xtask` resolved to the newest versions
/// just before the tests, so both build one dependency tree — else the workspace's, whose
/// versions cargo keeps for what the fixture uses, with no registry look-up.
fn lock_file(source: &Source) -> PathBuf {
    let ours = repo_root().join("Cargo.lock");
    let theirs = source.path().join("Cargo.lock");
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

    /// Makes the next build run every build script again. Cheap: it removes the fixture
    /// crates' own artifacts only, never the dependency tree under them.
    pub fn rerun_build_scripts(&self) {
        let mut cmd = self.cargo(&["clean", "--quiet"]);
        for krate in self.source.crates {
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
