//! The `cargo_units` fixture workspace (`tests/fixtures/cargo_units`) for the tests of
//! `exec -- cargo`: a scratch copy per test, target dirs of its own (cold builds take
//! seconds: it has no dependency outside itself), cargo with a cleared environment, bounded
//! runs, and cargo's own `--timings` report read back.

#![allow(dead_code)] // each test uses its own part

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::runs::{BIN, scratch};

/// Longest run of any cargo command on the fixture, cold, on a loaded 2-core machine.
pub const LIMIT: Duration = Duration::from_secs(300);

/// A scratch copy of the fixture.
pub struct Workspace {
    pub dir: PathBuf,
    pub root: PathBuf,
}

/// Copies the fixture into a fresh scratch directory named `name`.
pub fn workspace(name: &str) -> Workspace {
    let dir = scratch(name);
    let root = dir.join("ws");
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/cargo_units");
    copy_tree(&fixture, &root);
    Workspace { dir, root }
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
    /// A target dir of this workspace (`name` keeps runs apart).
    pub fn target(&self, name: &str) -> PathBuf {
        self.dir.join(format!("target-{name}"))
    }

    /// `cargo ARGS` in the workspace, with `target` as its target dir.
    pub fn cargo(&self, args: &[&str], target: &Path) -> Command {
        let mut cmd = Command::new(cargo());
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
        let mut cmd = Command::new(BIN);
        cmd.arg("exec")
            .args(flags)
            .arg("--")
            .arg(cargo())
            .args(args);
        self.prepare(&mut cmd, target);
        cmd.env("TRUNK_EVENTS_FILE", events)
            .env("TRUNK_SPOOL_DIR", self.dir.join("spool"));
        cmd
    }

    fn prepare(&self, cmd: &mut Command, target: &Path) {
        clean_env(cmd, &self.dir);
        cmd.current_dir(&self.root)
            .env("CARGO_TARGET_DIR", target)
            // Never the network: the fixture needs nothing from a registry.
            .env("CARGO_NET_OFFLINE", "true");
    }
}

/// The cargo running these tests, so the fixture is built by the same toolchain.
pub fn cargo() -> PathBuf {
    std::env::var_os("CARGO").map_or_else(|| "cargo".into(), PathBuf::from)
}

/// A cleared environment with what finding the toolchain needs: `PATH` and rustup's home.
/// `HOME` is the scratch dir and cargo's home a fresh one in it: no user configuration gets
/// in, and no other cargo's lock on a shared package cache holds ours up (and prints that
/// it does).
pub fn clean_env(cmd: &mut Command, home: &Path) {
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("CARGO_HOME", home.join("cargo-home"));
    let real_home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_default();
    let rustup = std::env::var_os("RUSTUP_HOME").map_or(real_home.join(".rustup"), PathBuf::from);
    cmd.env("RUSTUP_HOME", rustup);
    if let Some(toolchain) = std::env::var_os("RUSTUP_TOOLCHAIN") {
        cmd.env("RUSTUP_TOOLCHAIN", toolchain);
    }
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

/// Waits for `child` (killed past [`LIMIT`]: the test then fails with what it printed).
pub fn finish(mut child: Child) -> Output {
    let drain = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_end(&mut buf);
            }
            buf
        })
    };
    let stdout = drain(
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let stderr = drain(
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let began = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if began.elapsed() > LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "still running after {LIMIT:?}; stderr:\n{}",
                String::from_utf8_lossy(&stderr.join().unwrap())
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Output {
        status,
        stdout: stdout.join().unwrap(),
        stderr: stderr.join().unwrap(),
    }
}

/// Runs `cmd` to its end (bounded).
pub fn run(cmd: &mut Command) -> Output {
    finish(start(cmd))
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
