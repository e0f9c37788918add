//! What every end-to-end test needs: the fixture's one shared target dir, the example
//! binaries, child processes with a clean environment, bounded runs.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, SystemTime};

use trunk_ci_analytics_testkit::{clean_command, keep_toolchain};
use trunk_ci_analytics_testserver::TestServer;

/// Runs a command to its end, but no longer than a limit: past it, the process is killed and
/// the test fails with what it printed so far.
pub use trunk_ci_analytics_testkit::output_within as run;

/// Longest run of anything that may compile the fixture's dependency tree from scratch (our
/// crate, reqwest, rustls, tokio…) on a busy 2-core machine.
pub const COLD_BUILD_LIMIT: Duration = Duration::from_secs(600);

/// Longest run of a process that compiles nothing.
pub const QUICK_LIMIT: Duration = Duration::from_secs(60);

/// The repository the tests report as (`TRUNK_REPO`).
pub const REPO: &str = "acme/widgets";

/// The workspace of this repository.
pub fn repo_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The target dir this test binary was built into (what `CARGO_TARGET_DIR` would name).
pub fn target_root() -> PathBuf {
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
    tmp.parent()
        .expect("CARGO_TARGET_TMPDIR is <target>/tmp")
        .to_owned()
}

/// The fixture's target dir: the one the xtask example uses when given [`target_root`] as
/// `CARGO_TARGET_DIR`, so that the tests and the example share one compiled dependency tree.
pub fn fixture_target() -> PathBuf {
    target_root().join("xtask-fixture")
}

/// The cargo running these tests, so the fixture is built by the same toolchain.
pub fn cargo() -> std::ffi::OsString {
    std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into())
}

/// Points a child's analytics at `server` with its own spool dir. Waits at exit long enough
/// for a loaded machine: a test must see events delivered, not spooled.
pub fn upload_to<'c>(cmd: &'c mut Command, server: &TestServer, spool: &Path) -> &'c mut Command {
    cmd.env("TRUNK_API_TOKEN", server.token())
        .env("TRUNK_PUBLIC_API_ADDRESS", server.url())
        .env("TRUNK_SPOOL_DIR", spool)
        .env("TRUNK_FLUSH_TIMEOUT_MS", "10000")
}

/// The example `name` as built by `cargo test` or `cargo build --examples`, from a cleared
/// environment but the build's own variables (the xtask example runs cargo, as `cargo run`
/// would from the same shell). Fails when it is missing or older than its sources: `cargo
/// test --test e2e` alone does not (re)build examples.
pub fn example(name: &str) -> Command {
    let path = profile_dir()
        .join("examples")
        .join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    let sources = [
        repo_root().join("examples").join(format!("{name}.rs")),
        repo_root().join("src"),
        repo_root().join("runtime/src"),
        repo_root().join("macros/src"),
    ];
    assert_fresh(
        &path,
        &sources,
        "`cargo build --examples` (a plain `cargo test` builds them too)",
    );
    let mut cmd = clean_command(path);
    keep_toolchain(&mut cmd);
    cmd
}

/// The `trunk-ci-analytics` command as `cargo test --workspace` built it, from a cleared
/// environment. Fails when it is missing or older than its sources: `cargo test --test e2e`
/// alone does not build it.
pub fn cli() -> Command {
    let path = profile_dir().join(format!(
        "trunk-ci-analytics{}",
        std::env::consts::EXE_SUFFIX
    ));
    let sources = [repo_root().join("cli/src"), repo_root().join("runtime/src")];
    assert_fresh(
        &path,
        &sources,
        "`cargo build -p trunk-ci-analytics-cli` (a plain `cargo test --workspace` builds it too)",
    );
    clean_command(path)
}

/// `<target>/<profile>`, where this test binary is (in its `deps`).
fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.parent().and_then(Path::parent).unwrap().to_owned()
}

/// Fails unless `program` exists and is newer than every file of `sources`.
fn assert_fresh(program: &Path, sources: &[PathBuf], build: &str) {
    let built = modified(program);
    let newest = sources.iter().filter_map(|s| newest_modified(s)).max();
    assert!(
        built.is_some_and(|b| newest.is_none_or(|n| b >= n)),
        "{} is missing or older than its sources: run {build} first",
        program.display()
    );
}

pub fn modified(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// The newest modification time of a file, or of the files under a directory.
fn newest_modified(path: &Path) -> Option<SystemTime> {
    let own = modified(path);
    let Ok(entries) = std::fs::read_dir(path) else {
        return own;
    };
    entries
        .filter_map(Result::ok)
        .filter_map(|e| newest_modified(&e.path()))
        .max()
}

/// A child's stderr, as text.
pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}
