//! What a recorded cargo command gets: our helpers in the places cargo looks for a rustc
//! wrapper, target runners and rustdoc, with whatever the user had there kept for the
//! helpers to run in turn.

use std::ffi::{OsStr, OsString};
use std::path::Path;
use std::process::Command;

use super::cargo_config::{Setting, Sources, runner_var};
use super::command_line::CargoArgs;
use super::message::{HelperConfig, Role};
use super::run_dir::{self, RunDir};

/// The helpers' configuration and the variables to set for cargo.
#[derive(Debug, Default)]
pub(crate) struct Plan {
    pub(crate) config: HelperConfig,
    /// `(variable, role, argument after the helper)`.
    vars: Vec<(String, Role, Option<String>)>,
}

impl Plan {
    /// Finds what the command would run in each place; `env` looks up the command's
    /// environment. What cannot be found for sure is left to cargo, with a warning.
    pub(crate) fn new(
        cmd: &Command,
        args: &CargoArgs,
        cwd: &Path,
        env: &dyn Fn(&str) -> Option<OsString>,
    ) -> Plan {
        let sources = Sources::load(cwd, &args.configs, env);
        let mut plan = Plan::default();
        let mut restore = Vec::new();
        let mut keep = |name: &str| {
            let value = env(name).map(|v| v.to_string_lossy().into_owned());
            restore.push((name.to_owned(), value));
        };

        match sources.rustc_wrapper() {
            Setting::Unknown(why) => skipped("compiled units", &why),
            setting => {
                keep("RUSTC_WRAPPER");
                plan.config.rustc_wrapper =
                    unnest(words(setting), Role::Rustc, |c| &c.rustc_wrapper);
                plan.vars.push(("RUSTC_WRAPPER".into(), Role::Rustc, None));
            }
        }
        match sources.rustdoc() {
            Setting::Unknown(why) => skipped("doctests", &why),
            setting => {
                keep("RUSTDOC");
                let own = unnest(words(setting), Role::Rustdoc, |c| c.rustdoc.as_slice());
                plan.config.rustdoc = own.into_iter().next();
                plan.vars.push(("RUSTDOC".into(), Role::Rustdoc, None));
            }
        }
        let targets = if args.targets.is_empty() {
            match sources.targets() {
                Ok(t) if t.is_empty() => host(cmd, cwd, env).into_iter().collect(),
                Ok(t) => t,
                Err(why) => {
                    skipped("test binaries", &why);
                    Vec::new()
                }
            }
        } else {
            args.targets.clone()
        };
        // A custom target given as a JSON file goes by its file name's stem.
        let targets = targets.into_iter().map(|t| match t.strip_suffix(".json") {
            Some(path) => Path::new(path)
                .file_name()
                .map_or(t.clone(), |n| n.to_string_lossy().into_owned()),
            None => t,
        });
        for triple in targets {
            match sources.runner(&triple) {
                Setting::Unknown(why) => skipped("test binaries", &why),
                setting => {
                    let var = runner_var(&triple);
                    keep(&var);
                    let chain = unnest(words(setting), Role::Runner, |c| {
                        c.runners.get(&triple).map_or(&[][..], Vec::as_slice)
                    });
                    plan.config.runners.insert(triple.clone(), chain);
                    plan.vars.push((var, Role::Runner, Some(triple)));
                }
            }
        }
        plan.config.restore = restore;
        plan
    }

    /// Sets the variables on `cmd`, pointing at the helpers of `dir`.
    pub(crate) fn apply(&self, cmd: &mut Command, dir: &RunDir) {
        for (var, role, arg) in &self.vars {
            let helper = dir.helper(*role);
            match arg {
                // Cargo splits a runner from the environment at whitespace.
                Some(arg) if dir.splits_cleanly() => {
                    let mut value = helper.into_os_string();
                    value.push(" ");
                    value.push(arg);
                    cmd.env(var, value);
                }
                Some(_) => skipped("test binaries", "the temp dir's path has whitespace"),
                None => {
                    cmd.env(var, helper);
                }
            }
        }
    }
}

fn words(setting: Setting) -> Vec<String> {
    match setting {
        Setting::Set(words) => words,
        Setting::Unset | Setting::Unknown(_) => Vec::new(),
    }
}

/// A setting that is itself a helper of a recording further out (a recorded command run
/// under a recorded command): what that helper runs instead, so that each unit is recorded
/// once, by the innermost recording.
fn unnest(words: Vec<String>, role: Role, of: impl Fn(&HelperConfig) -> &[String]) -> Vec<String> {
    let Some(program) = words.first() else {
        return words;
    };
    match run_dir::of_helper(OsStr::new(program)) {
        Some((dir, r)) if r == role => {
            match run_dir::open(&dir).and_then(|d| run_dir::read_config(&d)) {
                Some(outer) => {
                    let mut chain = of(&outer).to_vec();
                    chain.extend(words.into_iter().skip(1));
                    chain
                }
                None => Vec::new(),
            }
        }
        _ => words,
    }
}

/// The host's target triple, from `rustc -vV` as the command would run it.
fn host(cmd: &Command, cwd: &Path, env: &dyn Fn(&str) -> Option<OsString>) -> Option<String> {
    let rustc = env("RUSTC").unwrap_or_else(|| "rustc".into());
    let mut probe = Command::new(rustc);
    probe.arg("-vV").current_dir(cwd);
    for (k, v) in cmd.get_envs() {
        match v {
            Some(v) => probe.env(k, v),
            None => probe.env_remove(k),
        };
    }
    let out = probe.output().ok().filter(|o| o.status.success())?;
    let text = String::from_utf8_lossy(&out.stdout);
    let host = text.lines().find_map(|l| l.strip_prefix("host: "))?;
    Some(host.trim().to_owned())
}

fn skipped(what: &str, why: &str) {
    crate::warn_once!("cargo's {what} are not recorded (cargo runs them as configured): {why}");
}
