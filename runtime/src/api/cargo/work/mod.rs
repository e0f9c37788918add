//! What cargo did, read back from the helpers' log and from the build-script run
//! directories under the target dir: the units it compiled, the build scripts it ran, the
//! test binaries (and doctests) it ran, and the dependency edges between them.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use super::command_line::profile_dir;
use super::message::{Line, Role, TestCounts, time_of};
use crate::Conclusion;
use crate::platform::sort;

/// How far behind the clock a file's time may be: the kernel stamps files from a clock
/// that advances once per tick (up to 10 ms), so a file written just after a reading of the
/// clock can seem older than it.
pub(crate) const FILE_CLOCK_LAG: Duration = Duration::from_millis(20);

/// How a run ended, as its helper saw it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Ended {
    pub(crate) at: SystemTime,
    pub(crate) code: Option<i32>,
    pub(crate) signal: Option<i32>,
}

impl Ended {
    pub(crate) fn conclusion(&self) -> Conclusion {
        match (self.code, self.signal) {
            (Some(0), _) => Conclusion::Success,
            // The signals a cancelled step's process group gets.
            (_, Some(2 | 9 | 15)) => Conclusion::Cancelled,
            _ => Conclusion::Failure,
        }
    }
}

/// A compiled unit.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Compile {
    pub(crate) package: String,
    pub(crate) version: String,
    /// rustc's crate name (`build_script_build`, an integration test's name, …).
    pub(crate) crate_name: String,
    /// `lib`, `bin`, `test`, `bench`, `example`, `build-script` or `proc-macro`.
    pub(crate) target: &'static str,
    pub(crate) profile: String,
    pub(crate) start: SystemTime,
    /// `None`: still running when cargo ended (cancelled).
    pub(crate) ended: Option<Ended>,
    /// `-C extra-filename`, which also names its artifacts: how dependents refer to it.
    pub(crate) hash: Option<String>,
    /// The hashes of the artifacts it was given with `--extern`.
    pub(crate) deps: Vec<String>,
    /// `--out-dir`.
    pub(crate) out_dir: PathBuf,
    /// `OUT_DIR`: the build-script run it depends on.
    pub(crate) script_out: Option<PathBuf>,
}

/// A build-script run, found by the files cargo keeps in its directory.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct ScriptRun {
    pub(crate) package: String,
    pub(crate) version: Option<String>,
    pub(crate) profile: String,
    /// `target/<profile>/build/<package>-<hash>`.
    pub(crate) dir: PathBuf,
    pub(crate) start: SystemTime,
    /// When it ended, if it succeeded (cargo writes `root-output` last, after a success).
    pub(crate) end: Option<SystemTime>,
}

/// A test binary, bench binary or doctest run.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct TestRun {
    /// The test target (`e2e`, a crate's own name for its unit tests), or `Doc-tests <crate>`.
    pub(crate) name: String,
    pub(crate) package: String,
    /// `test`, `bench`, `doctest`, or the compiled unit's target.
    pub(crate) target: String,
    pub(crate) start: SystemTime,
    pub(crate) ended: Option<Ended>,
    pub(crate) tests: Option<TestCounts>,
    /// The artifact's hash, for telling whether it was compiled in this step.
    pub(crate) hash: Option<String>,
    /// The one test it ran (`--exact NAME`, as nextest runs each test).
    pub(crate) test: Option<String>,
    /// It only listed its tests (`--list`).
    pub(crate) list: bool,
}

/// Everything read back.
#[derive(Debug, Default)]
pub(crate) struct Work {
    pub(crate) compiles: Vec<Compile>,
    pub(crate) runs: Vec<ScriptRun>,
    pub(crate) tests: Vec<TestRun>,
}

struct Started {
    role: Role,
    at: SystemTime,
    args: Vec<String>,
    env: HashMap<String, String>,
    ended: Option<(Ended, Option<TestCounts>)>,
}

/// Reads the log of a command that started at `since` with the profile `profile` (as its
/// command line asks), then the build-script runs under the target dirs its units used.
pub(crate) fn read(log: &str, since: SystemTime, profile: &str, bench: bool) -> Work {
    let mut started: Vec<Started> = Vec::new();
    let mut open: HashMap<u64, usize> = HashMap::new();
    for line in log.lines() {
        // A line we cannot read (another version's) is skipped, not fatal.
        match serde_json::from_str::<Line>(line) {
            Ok(Line::Start {
                id,
                role,
                at_ns,
                args,
                env,
            }) => {
                open.insert(id, started.len());
                started.push(Started {
                    role,
                    at: time_of(at_ns),
                    args,
                    env: env.into_iter().collect(),
                    ended: None,
                });
            }
            Ok(Line::End {
                id,
                at_ns,
                code,
                signal,
                tests,
            }) => {
                if let Some(s) = open.remove(&id).and_then(|i| started.get_mut(i)) {
                    let ended = Ended {
                        at: time_of(at_ns),
                        code,
                        signal,
                    };
                    s.ended = Some((ended, tests));
                }
            }
            Err(_) => {}
        }
    }
    let mut work = Work::default();
    for s in started {
        match s.role {
            Role::Rustc => work.compiles.extend(compile(&s, profile)),
            Role::Runner => work.tests.push(test_run(&s, bench)),
            Role::Rustdoc => work.tests.push(doctest_run(&s)),
        }
    }
    let compiled: HashMap<&str, &Compile> = work
        .compiles
        .iter()
        .filter_map(|c| Some((c.hash.as_deref()?, c)))
        .collect();
    for t in &mut work.tests {
        if let Some(c) = t.hash.as_deref().and_then(|h| compiled.get(h)) {
            t.target = c.target.to_owned();
        }
    }
    work.runs = script_runs(&work.compiles, since);
    work
}

fn compile(s: &Started, profile: &str) -> Option<Compile> {
    let args = &s.args;
    let value = |flag: &str| {
        args.iter()
            .position(|a| a == flag)
            .and_then(|i| args.get(i + 1))
    };
    let crate_name = value("--crate-name")?.clone();
    let out_dir = PathBuf::from(value("--out-dir")?);
    let mut types = Vec::new();
    let mut hash = None;
    let mut deps = Vec::new();
    let mut test = false;
    let mut source = None;
    let mut i = 0;
    while i < args.len() {
        let a = args[i].as_str();
        let next = args.get(i + 1).map(String::as_str);
        match a {
            "--crate-type" => types.extend(next),
            "--test" => test = true,
            "-C" => {
                if let Some(h) = next.and_then(|n| n.strip_prefix("extra-filename=")) {
                    hash = Some(h.trim_start_matches('-').to_owned());
                }
            }
            "--extern" => deps.extend(next.and_then(artifact_hash)),
            _ if a.ends_with(".rs") && !a.starts_with('-') => source = Some(a),
            _ => {}
        }
        if let Some(h) = a.strip_prefix("-Cextra-filename=") {
            hash = Some(h.trim_start_matches('-').to_owned());
        }
        i += 1;
    }
    let in_build = out_dir.parent().and_then(Path::file_name) == Some("build".as_ref());
    let target = if types.contains(&"proc-macro") {
        "proc-macro"
    } else if in_build {
        "build-script"
    } else if out_dir.file_name() == Some("examples".as_ref()) {
        "example"
    } else if test {
        let in_benches = source.is_some_and(|s| {
            Path::new(s)
                .components()
                .any(|c| c.as_os_str() == "benches")
        });
        if in_benches { "bench" } else { "test" }
    } else if types.contains(&"bin") {
        "bin"
    } else {
        "lib"
    };
    let profile_of = if in_build {
        out_dir.parent().and_then(Path::parent)
    } else {
        out_dir.parent()
    };
    let env = |k: &str| s.env.get(k).cloned();
    Some(Compile {
        package: env("CARGO_PKG_NAME").unwrap_or_else(|| crate_name.clone()),
        version: env("CARGO_PKG_VERSION").unwrap_or_default(),
        crate_name,
        target,
        profile: unit_profile(profile, profile_of),
        start: s.at,
        ended: s.ended.map(|(e, _)| e),
        hash,
        deps,
        out_dir,
        script_out: env("OUT_DIR").map(PathBuf::from),
    })
}

/// The profile of a unit whose artifacts go under `dir`: the command's, unless the
/// directory says otherwise (a nested cargo, `--profile` in an alias).
fn unit_profile(profile: &str, dir: Option<&Path>) -> String {
    let name = dir
        .and_then(Path::file_name)
        .map(|n| n.to_string_lossy().into_owned());
    match name {
        Some(name) if name != profile_dir(profile) => {
            if name == "debug" {
                "dev".into()
            } else {
                name
            }
        }
        _ => profile.to_owned(),
    }
}

/// The hash in an artifact's name: `name=/t/debug/deps/libserde-0a1b2c.rmeta` → `0a1b2c`.
fn artifact_hash(extern_arg: &str) -> Option<String> {
    let (_, path) = extern_arg.split_once('=')?;
    let stem = Path::new(path).file_stem()?.to_string_lossy().into_owned();
    let (_, hash) = stem.rsplit_once('-')?;
    Some(hash.to_owned())
}

fn test_run(s: &Started, bench: bool) -> TestRun {
    let binary = s.args.first().map(|b| Path::new(b.as_str()));
    let file = binary
        .and_then(Path::file_stem)
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let (name, hash) = match file.rsplit_once('-') {
        Some((name, hash)) => (name.to_owned(), Some(hash.to_owned())),
        None => (file.clone(), None),
    };
    let exact = s.args.iter().position(|a| a == "--exact");
    TestRun {
        name,
        package: s.env.get("CARGO_PKG_NAME").cloned().unwrap_or_default(),
        target: if bench { "bench" } else { "test" }.into(),
        start: s.at,
        ended: s.ended.map(|(e, _)| e),
        tests: s.ended.and_then(|(_, t)| t),
        hash,
        test: exact.and_then(|i| s.args.get(i + 1)).cloned(),
        list: s.args.iter().any(|a| a == "--list"),
    }
}

fn doctest_run(s: &Started) -> TestRun {
    let crate_name = s
        .args
        .iter()
        .position(|a| a == "--crate-name")
        .and_then(|i| s.args.get(i + 1))
        .cloned()
        .unwrap_or_default();
    TestRun {
        name: format!("Doc-tests {crate_name}"),
        package: s.env.get("CARGO_PKG_NAME").cloned().unwrap_or(crate_name),
        target: "doctest".into(),
        start: s.at,
        ended: s.ended.map(|(e, _)| e),
        tests: s.ended.and_then(|(_, t)| t),
        hash: None,
        test: None,
        list: false,
    }
}

/// The build-script runs since `since`: those the compiled units depend on (`OUT_DIR`) and
/// any other that started in a `build/` directory of the profiles they used (a build script
/// that failed has no dependent).
fn script_runs(compiles: &[Compile], since: SystemTime) -> Vec<ScriptRun> {
    let mut dirs: Vec<PathBuf> = Vec::new();
    let mut build_dirs: HashSet<PathBuf> = HashSet::new();
    for c in compiles {
        if let Some(run) = c.script_out.as_deref().and_then(Path::parent) {
            dirs.push(run.to_owned());
        }
        let build = if c.target == "build-script" {
            c.out_dir.parent().map(Path::to_owned)
        } else {
            c.out_dir.parent().map(|p| p.join("build"))
        };
        build_dirs.extend(build);
    }
    let mut build_dirs: Vec<PathBuf> = build_dirs.into_iter().collect();
    sort::sort_by(&mut build_dirs, PathBuf::cmp);
    for build in build_dirs {
        let Ok(entries) = std::fs::read_dir(&build) else {
            continue;
        };
        dirs.extend(entries.filter_map(Result::ok).map(|e| e.path()));
    }
    let since = since.checked_sub(FILE_CLOCK_LAG).unwrap_or(since);
    let mut seen = HashSet::new();
    let mut runs = Vec::new();
    for dir in dirs {
        if !seen.insert(dir.clone()) {
            continue;
        }
        let Some(start) = modified(&dir.join("invoked.timestamp")).filter(|t| *t >= since) else {
            continue;
        };
        let end = modified(&dir.join("root-output")).filter(|t| *t >= start);
        let name = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let package = name
            .rsplit_once('-')
            .map_or(name.as_str(), |(p, _)| p)
            .to_owned();
        let by_out = compiles
            .iter()
            .find(|c| c.script_out.as_deref().and_then(Path::parent) == Some(dir.as_path()));
        let by_script = compiles
            .iter()
            .find(|c| c.target == "build-script" && c.package == package);
        let profile_dir = dir.parent().and_then(Path::parent);
        runs.push(ScriptRun {
            version: by_out.or(by_script).map(|c| c.version.clone()),
            profile: by_out
                .or(by_script)
                .map_or_else(|| unit_profile("dev", profile_dir), |c| c.profile.clone()),
            package: by_out.map_or(package, |c| c.package.clone()),
            dir,
            start,
            end,
        });
    }
    sort::sort_by_key(&mut runs, |r| r.start);
    runs
}

fn modified(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

#[cfg(test)]
mod tests;
