//! The `cargo_units` fixture workspace (`tests/fixtures/cargo_units`) for the tests of
//! `exec -- cargo`: a scratch copy per test, target dirs of its own (cold builds take
//! seconds: it has no dependency outside itself), cargo with a cleared environment, bounded
//! runs, and cargo's own `--timings` report read back.

#![allow(dead_code)] // each test uses its own part

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::thread::JoinHandle;
use std::time::Duration;

use serde_json::Value;
use trunk_ci_analytics_testkit::{Scratch, clean_command, keep, output_within, wait_within};

use crate::runs::BIN;

/// Longest run of any cargo command on the fixture, cold, on a loaded 2-core machine (a
/// liveness bound, far above what they take).
pub const LIMIT: Duration = Duration::from_secs(300);

/// A scratch copy of the fixture, gone when the test is done.
pub struct Workspace {
    scratch: Scratch,
    pub root: PathBuf,
}

/// Copies the fixture into a fresh scratch directory labelled `name`.
pub fn workspace(name: &str) -> Workspace {
    let scratch = Scratch::new(name);
    let root = scratch.join("ws");
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/cargo_units");
    copy_tree(&fixture, &root);
    Workspace { scratch, root }
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name();
        if name == "target" || name == "Cargo.lock" {
            continue;
        }
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &to.join(&name));
        } else {
            std::fs::copy(entry.path(), to.join(&name)).unwrap();
        }
    }
}

impl Workspace {
    /// The scratch directory holding the copy, for the test's own files.
    pub fn dir(&self) -> &Path {
        self.scratch.path()
    }

    /// A target dir of this workspace (`name` keeps runs apart).
    pub fn target(&self, name: &str) -> PathBuf {
        self.scratch.join(format!("target-{name}"))
    }

    /// `cargo ARGS` in the workspace, with `target` as its target dir.
    pub fn cargo(&self, args: &[&str], target: &Path) -> Command {
        let mut cmd = clean_command(cargo());
        cmd.args(args);
        self.prepare(&mut cmd, target);
        cmd
    }

    /// `trunk-ci-analytics exec -- cargo ARGS`, its events in `events`.
    pub fn exec(&self, args: &[&str], target: &Path, events: &Path) -> Command {
        self.exec_with(&[], args, target, events)
    }

    /// `trunk-ci-analytics exec FLAGS -- cargo ARGS`, its events in `events`.
    pub fn exec_with(
        &self,
        flags: &[&str],
        args: &[&str],
        target: &Path,
        events: &Path,
    ) -> Command {
        let mut cmd = clean_command(BIN);
        cmd.arg("exec")
            .args(flags)
            .arg("--")
            .arg(cargo())
            .args(args);
        self.prepare(&mut cmd, target);
        cmd.env("TRUNK_EVENTS_FILE", events)
            .env("TRUNK_SPOOL_DIR", self.scratch.join("spool"));
        cmd
    }

    /// The toolchain rustup chose for these tests, a cargo home of the test's own (no user
    /// configuration gets in, and no other cargo's lock on a shared package cache holds ours
    /// up and says so), never the network.
    fn prepare(&self, cmd: &mut Command, target: &Path) {
        keep(cmd, &["RUSTUP_HOME", "RUSTUP_TOOLCHAIN"]);
        cmd.current_dir(&self.root)
            .env("CARGO_TARGET_DIR", target)
            .env("CARGO_HOME", self.scratch.join("cargo-home"))
            // Cargo cleans a cache it has not cleaned for a day, the first run in a fresh
            // home included, holding its lock meanwhile.
            .env("CARGO_CACHE_AUTO_CLEAN_FREQUENCY", "never")
            // The fixture needs nothing from a registry.
            .env("CARGO_NET_OFFLINE", "true");
    }
}

/// The cargo running these tests, so the fixture is built by the same toolchain.
pub fn cargo() -> PathBuf {
    std::env::var_os("CARGO").map_or_else(|| "cargo".into(), PathBuf::from)
}

/// The host's target triple.
pub fn host() -> String {
    let out = Command::new(std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into()))
        .arg("-vV")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.lines()
        .find_map(|l| l.strip_prefix("host: "))
        .unwrap()
        .trim()
        .to_owned()
}

/// Starts `cmd` with stdin closed (so `exec` leads its own process group, as in CI) and
/// its output piped.
pub fn start(cmd: &mut Command) -> Child {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}"))
}

/// Waits for `child` (bounded) and returns its output, drained meanwhile so a chatty
/// child never blocks on a full pipe.
pub fn finish(mut child: Child) -> Output {
    fn drain(pipe: Option<impl std::io::Read + Send + 'static>) -> JoinHandle<Vec<u8>> {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_end(&mut buf);
            }
            buf
        })
    }
    let stdout = drain(child.stdout.take());
    let stderr = drain(child.stderr.take());
    let status = wait_within(&mut child, LIMIT);
    Output {
        status,
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
    }
}

/// Runs `cmd` to its end (bounded), stdin empty, output captured.
pub fn run(cmd: &mut Command) -> Output {
    output_within(cmd, LIMIT)
}

/// Runs `cmd` and fails the test unless it succeeds.
pub fn run_ok(cmd: &mut Command) -> Output {
    let out = run(cmd);
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}\n{}",
        out.status,
        text(&out.stderr)
    );
    out
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// What cargo printed, without what changes from run to run: the times in its `Finished`
/// line, libtest's summaries and rustdoc's merged doctests, and the target dir (`<target>`).
pub fn normalized(bytes: &[u8], target: &Path) -> Vec<String> {
    text(bytes)
        .replace(&*target.to_string_lossy(), "<target>")
        .lines()
        .map(|line| {
            let trimmed = line.trim_start();
            if trimmed.starts_with("Finished `") || trimmed.starts_with("all doctests ran in ") {
                return line.split(" in ").next().unwrap_or(line).to_owned();
            }
            match line.find("; finished in ") {
                Some(at) => line[..at].to_owned(),
                None => line.to_owned(),
            }
        })
        .collect()
}

/// Cargo's own stderr from a run under `exec`: the summary `exec` prints after it, cut off.
pub fn cargo_part(stderr: &[u8]) -> Vec<u8> {
    let text = text(stderr);
    let cut = text
        .rfind("trunk-ci-analytics: cargo ")
        .filter(|&at| at == 0 || text.as_bytes()[at - 1] == b'\n')
        .unwrap_or(text.len());
    text.as_bytes()[..cut].to_vec()
}

/// The units cargo said it compiled (`Compiling name vX (path)`).
pub fn compiling(stderr: &[u8]) -> Vec<String> {
    text(stderr)
        .lines()
        .filter_map(|l| l.trim_start().strip_prefix("Compiling "))
        .map(str::to_owned)
        .collect()
}

/// The units of cargo's `--timings` report in `target`, from the data it embeds.
pub fn timings(target: &Path) -> Vec<Value> {
    let html = std::fs::read_to_string(target.join("cargo-timings/cargo-timing.html")).unwrap();
    let at = html
        .find("const UNIT_DATA = ")
        .expect("UNIT_DATA in the report")
        + 18;
    let data = serde_json::Deserializer::from_str(&html[at..])
        .into_iter::<Value>()
        .next()
        .unwrap()
        .unwrap();
    data.as_array().unwrap().clone()
}
