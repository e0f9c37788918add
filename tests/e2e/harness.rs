//! What every end-to-end test needs: the fixture workspace with its one shared target dir,
//! the example binaries, child processes with a clean environment, bounded runs.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::{Mutex, MutexGuard, Once, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use trunk_ci_analytics_testserver::TestServer;

/// Longest run of anything that may compile the fixture's dependency tree from scratch (our
/// crate, reqwest, rustls, tokio…) on a busy 2-core machine.
pub const COLD_BUILD_LIMIT: Duration = Duration::from_secs(600);

/// Longest run of a process that compiles nothing.
pub const QUICK_LIMIT: Duration = Duration::from_secs(60);

/// The repository the tests report as (`TRUNK_REPO`).
pub const REPO: &str = "acme/widgets";

const FIXTURE_CRATES: [&str; 2] = ["fixture-alpha", "fixture-beta"];

/// The workspace of this repository.
pub fn repo_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The fixture workspace whose build scripts are tracked.
pub fn fixture_dir() -> PathBuf {
    repo_root().join("tests/fixtures/buildscripts")
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

/// A fresh empty directory for one test's files (spool, events file).
pub fn temp_dir(what: &str) -> PathBuf {
    let dir =
        Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("e2e-{what}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

static FIXTURE: Mutex<()> = Mutex::new(());
static SEED_LOCK: Once = Once::new();

/// Exclusive use of the fixture workspace and its target dir: tests that run cargo on it
/// take turns (a test that cleans the fixture crates must not race one that builds them), and
/// so do timing-sensitive ones, which a parallel cargo build would starve.
#[derive(Debug)]
pub struct Fixture {
    _turn: MutexGuard<'static, ()>,
}

/// Waits for the fixture's turn. The first call of the process seeds the fixture's
/// `Cargo.lock` from the workspace's, so that it builds the versions the workspace is tested
/// with and needs no registry look-up.
pub fn fixture() -> Fixture {
    // A test that failed while holding the fixture leaves nothing half-done that matters.
    let turn = FIXTURE.lock().unwrap_or_else(PoisonError::into_inner);
    SEED_LOCK.call_once(seed_lock);
    Fixture { _turn: turn }
}

/// Copies the workspace lock file over the fixture's when it is missing or older: cargo
/// keeps the locked versions of what the fixture uses and drops the rest.
fn seed_lock() {
    let ours = repo_root().join("Cargo.lock");
    let theirs = fixture_dir().join("Cargo.lock");
    let stale = match (modified(&ours), modified(&theirs)) {
        (Some(o), Some(t)) => t < o,
        _ => true,
    };
    if stale {
        std::fs::copy(&ours, &theirs).unwrap();
    }
}

impl Fixture {
    /// `cargo <args>` in the fixture workspace on the shared target dir, with a clean
    /// environment.
    pub fn cargo(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(cargo());
        cmd.args(args)
            .current_dir(fixture_dir())
            .env("CARGO_TARGET_DIR", fixture_target());
        isolate(&mut cmd);
        cmd
    }

    /// Makes the next build run both build scripts again. Cheap: it removes the fixture
    /// crates' own artifacts only, never the dependency tree under them.
    pub fn rerun_build_scripts(&self) {
        let mut cmd = self.cargo(&["clean", "--quiet"]);
        for krate in FIXTURE_CRATES {
            cmd.args(["-p", krate]);
        }
        let out = run(&mut cmd, QUICK_LIMIT);
        assert!(
            out.status.success(),
            "cargo clean failed:\n{}",
            stderr(&out)
        );
    }
}

/// The cargo running these tests, so the fixture is built by the same toolchain.
pub fn cargo() -> std::ffi::OsString {
    std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into())
}

/// Removes what the environment of the test run would leak into a child: analytics and
/// OpenTelemetry settings,
/// a context handed on to us, CI providers' variables (tests fabricate their own).
///
/// The package variables `cargo test` gives this process (`CARGO_MANIFEST_DIR`,
/// `CARGO_PKG_NAME`, …) stay: they are the ones `cargo run --example xtask` gives the example,
/// and the fixture's cargo passes them to build scripts that track them (`ring`'s does), so
/// changing them would rebuild ring and everything above it, every time tests and example
/// alternate on the fixture's target dir.
pub fn isolate(cmd: &mut Command) -> &mut Command {
    const PREFIXES: [&str; 4] = ["TRUNK_", "OTEL_", "GITHUB_", "RUNNER_"];
    const MARKERS: [&str; 5] = [
        "GITLAB_CI",
        "BUILDKITE",
        "CIRCLECI",
        "TF_BUILD",
        "JENKINS_URL",
    ];
    for (name, _) in std::env::vars_os() {
        let name = name.to_string_lossy();
        if PREFIXES.iter().any(|p| name.starts_with(p)) || MARKERS.contains(&name.as_ref()) {
            cmd.env_remove(name.as_ref());
        }
    }
    cmd
}

/// Points a child's analytics at `server` with its own spool dir. Waits at exit long enough
/// for a loaded machine: a test must see events delivered, not spooled.
pub fn upload_to<'c>(cmd: &'c mut Command, server: &TestServer, spool: &Path) -> &'c mut Command {
    cmd.env("TRUNK_API_TOKEN", server.token())
        .env("TRUNK_PUBLIC_API_ADDRESS", server.url())
        .env("TRUNK_SPOOL_DIR", spool)
        .env("TRUNK_FLUSH_TIMEOUT_MS", "10000")
}

/// The example `name` as built by `cargo test` or `cargo build --examples`, with a clean
/// environment. Fails when it is missing or older than its sources: `cargo test --test e2e`
/// alone does not (re)build examples.
pub fn example(name: &str) -> Command {
    let exe = std::env::current_exe().unwrap();
    // <target>/<profile>/deps/<test binary>
    let profile = exe.parent().and_then(Path::parent).unwrap();
    let path = profile
        .join("examples")
        .join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    let built = modified(&path);
    let sources = [
        repo_root().join("examples").join(format!("{name}.rs")),
        repo_root().join("src"),
        repo_root().join("runtime/src"),
        repo_root().join("macros/src"),
    ];
    let newest = sources.iter().filter_map(|s| newest_modified(s)).max();
    assert!(
        built.is_some_and(|b| newest.is_none_or(|n| b >= n)),
        "{} is missing or older than its sources: run `cargo build --examples` first \
         (a plain `cargo test` builds them too)",
        path.display()
    );
    let mut cmd = Command::new(path);
    isolate(&mut cmd);
    cmd
}

fn modified(path: &Path) -> Option<SystemTime> {
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

/// Runs `cmd` to its end, but no longer than `limit`: past it, the process is killed and the
/// test fails with what it printed so far.
pub fn run(cmd: &mut Command, limit: Duration) -> Output {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}"));
    // Drained on threads of their own, so a chatty child never blocks on a full pipe.
    fn drain(pipe: Option<impl Read + Send + 'static>) -> std::thread::JoinHandle<Vec<u8>> {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_end(&mut buf);
            }
            buf
        })
    }
    let stdout = drain(child.stdout.take());
    let stderr_pipe = drain(child.stderr.take());
    let start = Instant::now();
    let (status, in_time) = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break (status, true);
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            break (child.wait().unwrap(), false);
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let out = Output {
        status,
        stdout: stdout.join().unwrap(),
        stderr: stderr_pipe.join().unwrap(),
    };
    assert!(
        in_time,
        "{cmd:?} ran longer than {limit:?}; stdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&out.stdout),
        stderr(&out)
    );
    out
}

/// A child's stderr, as text.
pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}
