//! The helper: this same program, run by cargo as `RUSTC_WRAPPER`, target runner or
//! `RUSTDOC` through a symlink in the run directory whose name says which. It runs what cargo
//! asked for (through whatever the user had in that place), and for a compiled unit, a test
//! binary or a doctest run it appends two lines to the run's log: when it started and how it
//! ended. Nothing else: no runtime, no events, no network, so a unit costs one small process
//! and two appends. Everything else it sees it hands on untouched with `exec`, which leaves
//! no trace of us in the process tree.

mod libtest;
mod tee;

use std::collections::BTreeMap;
use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io::IsTerminal;
use std::path::Path;
use std::process::{Command, ExitStatus, Stdio};

use super::message::{ENV_KEPT, HelperConfig, Line, Role, now_ns};
use super::run_dir;
use crate::platform::owner_only::PrivateDir;

/// Does the job of the helper of the run directory at `path` in `role`, given `args`, and
/// exits. A run directory that is gone (the recording is over) or cannot be read leaves
/// the helper running what cargo asked for, as it is.
pub(crate) fn serve(path: &Path, role: Role, args: Vec<OsString>) -> ! {
    let dir = run_dir::open(path);
    let config = dir
        .as_ref()
        .and_then(run_dir::read_config)
        .unwrap_or_default();
    let dir = dir.as_ref();
    match role {
        Role::Rustc => rustc(dir, &config, args),
        Role::Runner => runner(dir, &config, args),
        Role::Rustdoc => rustdoc(dir, &config, args),
    }
}

/// `rustc ARGS…` (or `WORKSPACE_WRAPPER rustc ARGS…`), through the user's wrapper. Only a
/// unit cargo compiles is measured: cargo names it in `CARGO_CRATE_NAME`, which its version
/// probes and the probes build scripts run through the wrapper (autocfg's) do not have.
fn rustc(dir: Option<&PrivateDir>, config: &HelperConfig, args: Vec<OsString>) -> ! {
    let cmd = chained(&config.rustc_wrapper, &args);
    let crate_name = std::env::var_os("CARGO_CRATE_NAME");
    let unit = crate_name.is_some() && arg_after(&args, "--crate-name") == crate_name.as_deref();
    if unit {
        measured(dir, Role::Rustc, cmd, &args, false)
    } else {
        exec(cmd)
    }
}

/// `TRIPLE BINARY ARGS…`: the binary through the user's runner for that triple. Test and
/// bench binaries (cargo keeps them in `deps/`) are measured and get the user's own values
/// of the variables we set; anything else (`cargo run`) is handed on as it is.
fn runner(dir: Option<&PrivateDir>, config: &HelperConfig, mut args: Vec<OsString>) -> ! {
    if args.is_empty() {
        exit_code(2);
    }
    let triple = args.remove(0).to_string_lossy().into_owned();
    let chain = config.runners.get(&triple).map_or(&[][..], Vec::as_slice);
    let mut cmd = chained(chain, &args);
    let in_deps = args
        .first()
        .and_then(|b| Path::new(b).parent())
        .and_then(Path::file_name)
        == Some(OsStr::new("deps"));
    if in_deps {
        restore(&mut cmd, config);
        measured(dir, Role::Runner, cmd, &args, true)
    } else {
        exec(cmd)
    }
}

/// `rustdoc ARGS…`: a `--test` run (doctests, which compile and run the user's code) is
/// measured like a test binary; documenting is handed on.
fn rustdoc(dir: Option<&PrivateDir>, config: &HelperConfig, args: Vec<OsString>) -> ! {
    let program = config.rustdoc.clone().unwrap_or_else(|| "rustdoc".into());
    let mut cmd = Command::new(program);
    cmd.args(users_runtool(args.clone(), config));
    if args.iter().any(|a| a == "--test") {
        restore(&mut cmd, config);
        measured(dir, Role::Rustdoc, cmd, &args, true)
    } else {
        exec(cmd)
    }
}

/// Cargo hands rustdoc the target's runner for doctests (`--test-runtool RUNNER
/// --test-runtool-arg ARG…`); ours is there in place of the user's. Rustdoc runs doctests
/// differently through any runner (merged doctests then share one process), so it gets back
/// exactly what the user had: their runner, or none.
fn users_runtool(args: Vec<OsString>, config: &HelperConfig) -> Vec<OsString> {
    let mut out = Vec::with_capacity(args.len());
    let mut args = args.into_iter().peekable();
    while let Some(arg) = args.next() {
        let tool = args.peek().and_then(|t| run_dir::of_helper(t));
        let is_ours = matches!(tool, Some((_, Role::Runner)));
        if !(is_ours && (arg == "--test-runtool" || arg == "--runtool")) {
            out.push(arg);
            continue;
        }
        let arg_flag = if arg == "--runtool" {
            "--runtool-arg"
        } else {
            "--test-runtool-arg"
        };
        args.next();
        let mut tool_args = Vec::new();
        while args.peek().is_some_and(|a| a == arg_flag) {
            args.next();
            tool_args.extend(args.next());
        }
        // Ours is `RUNNER TRIPLE`: the triple says whose runner it stands for.
        let mut tool_args = tool_args.into_iter();
        let triple = tool_args.next().unwrap_or_default();
        let chain = config
            .runners
            .get(&*triple.to_string_lossy())
            .map_or(&[][..], Vec::as_slice);
        if let Some((program, rest)) = chain.split_first() {
            out.push(arg.clone());
            out.push(program.into());
            for a in rest.iter().map(OsString::from).chain(tool_args) {
                out.push(arg_flag.into());
                out.push(a);
            }
        }
    }
    out
}

/// `chain… args…` as a command.
fn chained(chain: &[String], args: &[OsString]) -> Command {
    let mut all = chain.iter().map(OsString::from).chain(args.iter().cloned());
    let mut cmd = Command::new(all.next().unwrap_or_default());
    cmd.args(all);
    cmd
}

/// The value after `flag` (`--crate-name NAME`).
fn arg_after<'a>(args: &'a [OsString], flag: &str) -> Option<&'a OsStr> {
    args.iter()
        .position(|a| a == flag)
        .and_then(|i| args.get(i + 1))
        .map(OsString::as_os_str)
}

/// Gives back the user's values of the variables we set for cargo.
fn restore(cmd: &mut Command, config: &HelperConfig) {
    for (name, value) in &config.restore {
        match value {
            Some(v) => cmd.env(name, v),
            None => cmd.env_remove(name),
        };
    }
}

/// Runs `cmd` between a start and an end line in the log; with `tee`, reads libtest's
/// summary from its stdout on the way (unless that is a terminal). Exits as it did.
fn measured(
    dir: Option<&PrivateDir>,
    role: Role,
    mut cmd: Command,
    args: &[OsString],
    tee: bool,
) -> ! {
    let Some(Ok(mut log)) = dir.map(run_dir::open_log) else {
        // The recording is over (or never was): just run it.
        exec(cmd)
    };
    let at_ns = now_ns();
    let id = (u64::from(std::process::id()) << 32) ^ (at_ns & 0xffff_ffff);
    let env: BTreeMap<String, String> = ENV_KEPT
        .iter()
        .filter_map(|k| Some(((*k).to_owned(), std::env::var(k).ok()?)))
        .collect();
    let start = Line::Start {
        id,
        role,
        at_ns,
        args: args
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect(),
        env,
    };
    write(&mut log, &start);
    let tee = tee && !std::io::stdout().is_terminal();
    if tee {
        cmd.stdout(Stdio::piped());
    }
    let mut child = match cmd.spawn() {
        Ok(child) => child,
        Err(e) => {
            let code = cannot_run(&cmd, &e);
            end(&mut log, id, Some(code), None, None);
            exit_code(code)
        }
    };
    let output = child.stdout.take().filter(|_| tee).map(tee::start);
    let status = child.wait();
    let tests = output.and_then(tee::Tee::finish);
    match status {
        Ok(status) => {
            end(&mut log, id, status.code(), signal_of(status), tests);
            exit_like(status)
        }
        Err(e) => {
            eprintln!(
                "trunk-ci-analytics: cannot wait for {:?}: {e}",
                cmd.get_program()
            );
            end(&mut log, id, Some(1), None, tests);
            exit_code(1)
        }
    }
}

fn end(
    log: &mut File,
    id: u64,
    code: Option<i32>,
    signal: Option<i32>,
    tests: Option<super::message::TestCounts>,
) {
    let line = Line::End {
        id,
        at_ns: now_ns(),
        code,
        signal,
        tests,
    };
    write(log, &line);
}

fn write(log: &mut File, line: &Line) {
    // A failed append loses one measurement; the build goes on.
    let _ = run_dir::append(log, &line.to_bytes());
}

/// Replaces this process with `cmd`; exits 127 or 126 as a shell would if it cannot.
fn exec(mut cmd: Command) -> ! {
    #[cfg(unix)]
    {
        let e = std::os::unix::process::CommandExt::exec(&mut cmd);
        exit_code(cannot_run(&cmd, &e))
    }
    #[cfg(not(unix))]
    match cmd.status() {
        Ok(status) => exit_like(status),
        Err(e) => exit_code(cannot_run(&cmd, &e)),
    }
}

/// Says why `cmd` cannot run, as cargo would about the program it meant; the status a shell
/// gives.
fn cannot_run(cmd: &Command, e: &std::io::Error) -> i32 {
    eprintln!(
        "trunk-ci-analytics: cannot run `{}`: {e}",
        cmd.get_program().to_string_lossy()
    );
    if e.kind() == std::io::ErrorKind::NotFound {
        127
    } else {
        126
    }
}

fn signal_of(status: ExitStatus) -> Option<i32> {
    #[cfg(unix)]
    {
        std::os::unix::process::ExitStatusExt::signal(&status)
    }
    #[cfg(not(unix))]
    {
        let _ = status;
        None
    }
}

/// Ends this process as the child ended: its exit code, or its signal.
fn exit_like(status: ExitStatus) -> ! {
    #[cfg(unix)]
    if let Some(sig) = signal_of(status) {
        crate::platform::signals::end_with(sig);
    }
    exit_code(status.code().unwrap_or(1))
}

fn exit_code(code: i32) -> ! {
    std::process::exit(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_crate_name_is_the_value_after_its_flag() {
        let args: Vec<OsString> = ["rustc", "--crate-name", "serde", "src/lib.rs"]
            .iter()
            .map(OsString::from)
            .collect();
        assert_eq!(arg_after(&args, "--crate-name"), Some(OsStr::new("serde")));
        assert_eq!(arg_after(&args, "src/lib.rs"), None);
        assert_eq!(arg_after(&args, "--edition"), None);
    }

    #[test]
    fn rustdoc_gets_the_users_runner_back_or_none() {
        let os = |v: &[&str]| v.iter().map(OsString::from).collect::<Vec<_>>();
        let ours = "/tmp/trunk-cargo-1-0-0/trunk-cargo-runner";
        let args = os(&[
            "--test",
            "src/lib.rs",
            "--test-runtool",
            ours,
            "--test-runtool-arg",
            "x86_64-unknown-linux-gnu",
            "--crate-name",
            "a",
        ]);
        let mut config = HelperConfig::default();
        assert_eq!(
            users_runtool(args.clone(), &config),
            os(&["--test", "src/lib.rs", "--crate-name", "a"])
        );
        config.runners.insert(
            "x86_64-unknown-linux-gnu".into(),
            vec!["qemu".into(), "-L".into(), "/x".into()],
        );
        assert_eq!(
            users_runtool(args, &config),
            os(&[
                "--test",
                "src/lib.rs",
                "--test-runtool",
                "qemu",
                "--test-runtool-arg",
                "-L",
                "--test-runtool-arg",
                "/x",
                "--crate-name",
                "a",
            ])
        );
        let theirs = os(&[
            "--test-runtool",
            "/usr/bin/qemu",
            "--test-runtool-arg",
            "-x",
        ]);
        assert_eq!(users_runtool(theirs.clone(), &config), theirs);
    }

    #[test]
    fn a_chain_comes_first() {
        let args = [OsString::from("rustc"), OsString::from("-vV")];
        let cmd = chained(&["sccache".into(), "--flag".into()], &args);
        assert_eq!(cmd.get_program(), "sccache");
        let rest: Vec<&OsStr> = cmd.get_args().collect();
        assert_eq!(rest, ["--flag", "rustc", "-vV"]);
        assert_eq!(chained(&[], &args).get_program(), "rustc");
    }
}
